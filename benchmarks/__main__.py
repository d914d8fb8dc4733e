"""``python -m benchmarks``: the speed benchmarks (``briefbot bench``)."""

from __future__ import annotations

import sys

from benchmarks.perf import main

sys.exit(main())

"""The layers stay apart: index/ and briefings/ never load discord or apscheduler."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_index_and_briefings_import_neither_discord_nor_apscheduler() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "for pkg in ('index', 'briefings'):\n"
        "    mod = importlib.import_module(pkg)\n"
        "    for info in pkgutil.iter_modules(mod.__path__):\n"
        "        importlib.import_module(f'{pkg}.{info.name}')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('discord', 'apscheduler'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""

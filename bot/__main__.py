"""`python -m bot` is the `briefbot` command."""

from bot.cli import main

raise SystemExit(main())

#!/usr/bin/env bash
# Set briefbot up from scratch: .venv with pinned dependencies, and the local Discord for tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# torch is pinned to the CPU build (2.13.0); an unpinned install would pull a 2 GB CUDA build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
# the dev extras: pytest and its plugins, and ruff and mypy, which .ci/run runs before the tests
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

# The local Discord (discord-digital-twin) that the end-to-end tests talk to.
if command -v npm >/dev/null 2>&1; then
  (cd tests/discord_twin && { [ -d node_modules ] || npm ci --no-audit --no-fund --silent; })
else
  echo "warning: npm not found: the end-to-end Discord tests will fail" >&2
fi
echo "briefbot is set up in .venv" >&2

#!/usr/bin/env bash
# Create tools/export/.venv (python3.11), install the pinned requirements and the repository's
# own Python packages (editable, from pyproject.toml at the root).
# Idempotent: skips pip when the stamp holds the current requirements hash.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
hash=$(cat requirements.txt ../../pyproject.toml | sha256sum | cut -d' ' -f1)
stamp=.venv/.requirements.sha256
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
  echo "tools/export/.venv is up to date"
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
# the repository's own Python packages (editmgt_export, shapesworld), editable: see pyproject.toml
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e ../..
echo "$hash" > "$stamp"
echo "tools/export/.venv ready"

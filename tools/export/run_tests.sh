#!/usr/bin/env bash
# Python tests of the exporter and of the shapes model (fast set). EDITMGT_FULLSIZE=1 adds the slow full-size check.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh >/dev/null  # makes the venv when missing; quick when it is up to date
exec .venv/bin/python -m pytest -q "$@" tests ../shapes/tests

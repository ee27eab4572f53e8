#!/usr/bin/env bash
# Runs the exporter's Python (from tools/export, in its venv), setting the venv up first if needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/setup.sh" >&2
cd "$here"
exec "$here/.venv/bin/python" "$@"

#!/usr/bin/env bash
# Create .venv and install Tickwork with its dev tools; does nothing when pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-dev}
STAMP=.venv/.installed-$EXTRAS
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv || { echo "setup: could not create a virtualenv with $PYTHON (apt-get install python3-venv)" >&2; exit 1; }
fi
WANT=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "setup: installing tickwork[$EXTRAS] into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]" >&2
  echo "$WANT" > "$STAMP"
fi


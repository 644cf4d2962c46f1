#!/usr/bin/env bash
# Creates .venv from the lock file and installs logintel into it (editable).
# Idempotent: skips the install when requirements.lock has not changed since the last one.
set -euo pipefail
# The image's pip config lists local mirror folders that may be absent; their warnings are noise.
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.lock-installed
want="$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  quiet .venv/bin/python -m pip install --quiet --upgrade pip
  quiet .venv/bin/python -m pip install --quiet -r requirements.lock
  quiet .venv/bin/python -m pip install --quiet --no-deps -e .
  echo "$want" > "$stamp"
fi

#!/bin/sh
# Run the fuzzers longer than CI does: SECONDS per target (default 300).
#   scripts/fuzz.sh [SECONDS] [pytest args...]
# Prints "fuzz TARGET: N inputs, 0 crashes, 0 hangs" per target at the end.
set -eu
cd "$(dirname "$0")/.."
seconds="${1:-300}"
[ $# -gt 0 ] && shift
PYVIRT_FUZZ_SECONDS="$seconds" exec .venv/bin/python -m pytest -q -p no:cacheprovider \
    -p no:logging -o timeout=0 tests/fuzz "$@"

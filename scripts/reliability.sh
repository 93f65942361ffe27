#!/bin/sh
# The reliability runs, longer than CI: the load test (100 real libvirt-python
# clients x CALLS calls, two rounds) and the crash test (OPS lifecycle operations
# with pyvirtd kill -9ed every ~KILL_EVERY operations). Each prints its figures.
#   scripts/reliability.sh [OPS] [KILL_EVERY] [CALLS]      (defaults 1000 5 1000)
# PYVIRT_CRASH_SEED=N replays a crash run.
set -eu
cd "$(dirname "$0")/.."
PYVIRT_CRASH_OPS="${1:-1000}" PYVIRT_CRASH_KILL_EVERY="${2:-5}" \
PYVIRT_LOAD_CALLS="${3:-1000}" \
    exec .venv/bin/python -m pytest -q -p no:cacheprovider -o timeout=0 -rxX tests/reliability

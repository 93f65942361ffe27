#!/usr/bin/env bash
# Run the whole test suite (unit tests and the end-to-end tests against the real
# virsh, real libvirt-python and real QEMU). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# Our own temporary root, world-traversable like /tmp: guests run as an unprivileged
# user that must reach files the tests put there, and pytest's shared default root
# (/tmp/pytest-of-root, 0700) is reset by any other pytest run on the machine.
basetemp=$(mktemp -d /tmp/pyvirt-tests.XXXXXX)
chmod 0755 "$basetemp"
trap 'rm -rf "$basetemp"' EXIT
.venv/bin/python -m pytest -q --basetemp="$basetemp/t" "$@"

#!/usr/bin/env bash
# Run the whole test suite (unit tests and the end-to-end tests against the real
# virsh, real libvirt-python and real QEMU). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -q "$@"

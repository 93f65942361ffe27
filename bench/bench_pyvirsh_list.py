"""Whole-process time of `pyvirsh -c test:///default list --all` beside the real
`virsh -c test:///default list --all`, measured in the same run.

    .venv/bin/python bench/bench_pyvirsh_list.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _timing import report, time_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    pyvirsh = os.path.join(os.path.dirname(sys.executable), "pyvirsh")
    virsh = shutil.which("virsh")
    if virsh is None:
        sys.exit("the real virsh is missing: install Debian's libvirt-clients (scripts/setup.sh)")
    cmd = ["-c", "test:///default", "list", "--all"]
    ours = time_command([pyvirsh, *cmd], args.repeat)
    theirs = time_command([virsh, *cmd], args.repeat)
    report("pyvirsh list --all (whole process)", ours, theirs)


if __name__ == "__main__":
    main()

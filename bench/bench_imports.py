"""Start-up cost: whole-process time of importing pyvirt, and of importing the test
driver and opening test:///default, beside a bare `python -c pass`, same run.

    .venv/bin/python bench/bench_imports.py [--repeat N]

With PYTHONDONTWRITEBYTECODE=1 every run compiles the sources again; the line
printed first says which case was measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _timing import time_command  # noqa: E402

CASES = {
    "import pyvirt": "import pyvirt",
    "import pyvirt + test driver + open": (
        "import pyvirt, pyvirt.drivers.test; pyvirt.open('test:///default').close()"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    cached = not os.environ.get("PYTHONDONTWRITEBYTECODE")
    print(f"bytecode cache: {'used' if cached else 'off (sources compiled on each run)'}")
    bare = statistics.median(time_command([sys.executable, "-c", "pass"], args.repeat))
    print(f"python -c pass: {bare * 1e3:.1f} ms (median of {args.repeat})")
    for label, code in CASES.items():
        took = statistics.median(time_command([sys.executable, "-c", code], args.repeat))
        print(f"{label}: {took * 1e3:.1f} ms, {(took - bare) * 1e3:.1f} ms over bare python "
              f"(median of {args.repeat})")


if __name__ == "__main__":
    main()

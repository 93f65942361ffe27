"""Small timing helpers shared by the benchmarks (medians, a printed ratio line)."""

from __future__ import annotations

import statistics
import subprocess
import time
from typing import Callable


def time_calls(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds taken by each of ``repeat`` calls of ``fn``."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def time_command(argv: list[str], repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` runs of a whole process (output discarded)."""
    def run() -> None:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run()  # warm the page cache once, untimed
    return time_calls(run, repeat)


def report(what: str, ours: list[float], baseline: list[float], unit: str = "ms") -> None:
    """Print one line: our median, the baseline's median, and ours/baseline."""
    scale = {"ms": 1e3, "us": 1e6}[unit]
    mine, theirs = statistics.median(ours), statistics.median(baseline)
    print(f"{what}: pyvirt {mine * scale:.3f} {unit}, libvirt {theirs * scale:.3f} {unit}, "
          f"ratio {mine / theirs:.2f}x (median of {len(ours)})")

"""The fuzzing harness: a time budget per target, a per-input timeout, and the
figures of every target printed in pytest's terminal summary.

Budget: ``PYVIRT_FUZZ_SECONDS`` seconds per target (default 4, the CI run);
``scripts/fuzz.sh SECONDS`` runs longer. Each target runs hypothesis in
batches until its budget is spent; an input may end in success or a
``libvirtError`` (or the target's own expected error), anything else is a
crash and fails the test with hypothesis' shrunk example. An input still
running after ``PYVIRT_FUZZ_INPUT_TIMEOUT`` seconds (default 5) is a hang.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st


def budget_seconds() -> float:
    return float(os.environ.get("PYVIRT_FUZZ_SECONDS", "4"))


def input_timeout() -> float:
    return float(os.environ.get("PYVIRT_FUZZ_INPUT_TIMEOUT", "5"))


class Hang(BaseException):
    """An input ran past the per-input timeout (BaseException: no target's
    ``except Exception`` swallows it)."""


class HangFound(Exception):
    """A hang, as hypothesis sees it (an ordinary failure it can shrink)."""


@dataclass
class TargetStats:
    name: str
    inputs: int = 0
    crashes: int = 0
    hangs: int = 0
    known: int = 0          # inputs that hit a bug already reported (see KNOWN_BUGS)
    seconds: float = 0.0
    first_failure: str = ""

    def line(self) -> str:
        known = f", {self.known} inputs hit known bugs" if self.known else ""
        return (f"fuzz {self.name}: {self.inputs} inputs, {self.crashes} crashes, "
                f"{self.hangs} hangs{known} ({self.seconds:.1f} s)")


#: Bugs found by fuzzing in code outside this area, reported with their fix and kept
#: as strict-xfail regression tests in test_found_bugs.py: (exception type, the
#: function of the innermost frame). An input that hits one is counted, not failed.
KNOWN_BUGS: set[tuple[type[BaseException], str, str]] = set()


def _known_bug(err: BaseException) -> bool:
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    code = tb.tb_frame.f_code
    return any(isinstance(err, kind) and code.co_filename.endswith(file)
               and code.co_name == func for kind, file, func in KNOWN_BUGS)


RESULTS: dict[str, TargetStats] = {}


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread when the block runs too long."""
    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"input still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_target(name: str, strategy: st.SearchStrategy, check: Callable[[Any], None],
               expected: tuple[type[BaseException], ...], seconds: float | None = None,
               batch: int = 200) -> TargetStats:
    """Feed ``check`` inputs drawn from ``strategy`` for the budget.

    ``check`` returning or raising one of ``expected`` is fine; any other
    exception is a crash, a :class:`Hang` a hang. The first failure is re-raised
    inside hypothesis so it shrinks it and the test fails with the example.
    """
    stats = RESULTS.setdefault(name, TargetStats(name))
    budget = budget_seconds() if seconds is None else seconds
    limit = input_timeout()

    def one(value: Any) -> None:
        stats.inputs += 1
        try:
            with deadline(limit):
                check(value)
        except expected:
            return
        except Hang as err:
            stats.first_failure = stats.first_failure or f"hang on {value!r:.500}"
            raise HangFound(str(err)) from None
        except Exception as err:
            if _known_bug(err):
                stats.known += 1
                return
            stats.first_failure = stats.first_failure or (
                f"{value!r:.500}\n{traceback.format_exc(limit=-6)}")
            raise

    def runner(examples: int) -> None:
        settings(max_examples=examples, deadline=None, database=None,
                 phases=[Phase.generate, Phase.shrink], print_blob=False,
                 suppress_health_check=list(HealthCheck))(given(strategy)(one))()

    start = time.monotonic()
    try:
        examples = 20                       # a first small batch measures the rate
        while (spent := time.monotonic() - start) < budget:
            before = stats.inputs
            runner(examples)
            rate = (stats.inputs - before) / max(time.monotonic() - start - spent, 1e-3)
            examples = int(min(batch, max(5, rate * (budget - (time.monotonic() - start)))))
    except HangFound:
        stats.hangs += 1
        raise
    except Exception:
        stats.crashes += 1
        raise
    finally:
        stats.seconds += time.monotonic() - start
    return stats


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("fuzzing figures")
    for stats in RESULTS.values():
        terminalreporter.write_line(stats.line())
        if stats.first_failure:
            terminalreporter.write_line(f"  first failure: {stats.first_failure[:1500]}")
    total = TargetStats("total", *(sum(getattr(s, f) for s in RESULTS.values())
                                   for f in ("inputs", "crashes", "hangs", "known", "seconds")))
    terminalreporter.write_line(total.line())

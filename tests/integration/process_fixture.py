"""What the real-process tests share: wait for a condition, read a file that may
not exist yet, stop a child and reap it, kill the QEMUs a test left behind.
pytest puts this directory on ``sys.path``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from pyvirt.drivers.qemu import state_dir


def wait_for(predicate, timeout: float = 30.0, what: str = "condition",
             interval: float = 0.05):
    """``predicate()``'s first true value, polled every ``interval`` s; an
    AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def text_of(path: Path) -> str:
    """The file's text so far ('' before it exists), undecodable bytes replaced."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM,
                 grace: float = 20) -> int:
    """Send ``sig`` to a child still running, SIGKILL it after ``grace`` s, reap it;
    its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def kill_recorded_qemus(dirs: state_dir.StateDirs) -> list:
    """SIGKILL each QEMU a status file names while it is still that process (after a
    test that failed half-way); the status records."""
    records, _ = state_dir.load_statuses(dirs)
    for rec in records:
        if state_dir.process_start_time(rec.pid) == rec.pid_start:
            try:
                os.kill(rec.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return records

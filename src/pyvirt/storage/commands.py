"""Running host tools (qemu-img, mount, mkfs, LVM) with libvirt's error shapes.

A tool that exits non-zero raises what libvirt's virCommandRun reports:
``internal error: Child process (ARGV) unexpected exit status N: STDERR``;
a tool that is not installed raises ``Cannot find 'TOOL' in path: No such
file or directory`` (VIR_ERR_SYSTEM_ERROR).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import threading
from typing import Callable, Sequence

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, error

#: Environment for tools whose output we parse: C locale, no LVM "leaked fd" noise.
_ENV_EXTRA = {"LC_ALL": "C", "LANG": "C", "LVM_SUPPRESS_FD_WARNINGS": "1"}


def find_tool(name: str) -> str:
    """Absolute path of ``name`` (also searched in the sbin dirs), or libvirt's error."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/local/sbin"
    found = shutil.which(name, path=path)
    if found is None:
        raise error(VIR_ERR_SYSTEM_ERROR,
                    f"Cannot find '{name}' in path: No such file or directory",
                    domain=VIR_FROM_NONE)
    return found


def describe(argv: Sequence[str]) -> str:
    """The command line as libvirt prints it in errors."""
    return " ".join(shlex.quote(a) for a in argv)


def run(argv: Sequence[str], *, input_data: bytes | None = None,
        check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess:
    """Run ``argv`` (argv[0] looked up with :func:`find_tool`), capturing output."""
    full = [find_tool(argv[0]), *argv[1:]]
    env = dict(os.environ, **_ENV_EXTRA)
    try:
        done = subprocess.run(full, input=input_data, capture_output=True, env=env,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise error(VIR_ERR_INTERNAL_ERROR, f"Child process ({describe(full)}) timed out",
                    domain=VIR_FROM_NONE) from err
    if check and done.returncode != 0:
        stderr = done.stderr.decode(errors="replace").strip()
        tail = f": {stderr}" if stderr else ""
        raise error(VIR_ERR_INTERNAL_ERROR, f"Child process ({describe(full)}) unexpected "
                    f"exit status {done.returncode}{tail}", domain=VIR_FROM_NONE)
    return done


def run_reading(argv: Sequence[str], on_output: Callable[[bytes], None], *,
                timeout: float | None = 3600) -> None:
    """Run ``argv`` like :func:`run` (same errors), handing its stdout to
    ``on_output`` as it comes (progress lines). The child is reaped on every path."""
    full = [find_tool(argv[0]), *argv[1:]]
    env = dict(os.environ, **_ENV_EXTRA)
    proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    errors: list[bytes] = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()),  # type: ignore
                             name="stderr", daemon=True)
    drain.start()
    try:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                break
            on_output(chunk)
        returncode = proc.wait(timeout)
    except subprocess.TimeoutExpired as err:
        raise error(VIR_ERR_INTERNAL_ERROR, f"Child process ({describe(full)}) timed out",
                    domain=VIR_FROM_NONE) from err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        drain.join()
        proc.stdout.close()                                      # type: ignore[union-attr]
        proc.stderr.close()                                      # type: ignore[union-attr]
    if returncode != 0:
        stderr = b"".join(errors).decode(errors="replace").strip()
        tail = f": {stderr}" if stderr else ""
        raise error(VIR_ERR_INTERNAL_ERROR, f"Child process ({describe(full)}) unexpected "
                    f"exit status {returncode}{tail}", domain=VIR_FROM_NONE)

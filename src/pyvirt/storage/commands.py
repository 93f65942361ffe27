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
from typing import Sequence

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

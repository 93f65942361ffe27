"""Confining a child before exec: cgroup, identity, no new privileges."""

import os
import subprocess
import sys

import pytest

from pyvirt.security.process import (
    SANDBOX, ChildConfinement, confinement_for, no_new_privs, sandbox_args,
)
from pyvirt.security.seclabel import Owner

SHOW = ("import os; s = open('/proc/self/status').read();"
        "nnp = [l for l in s.splitlines() if l.startswith('NoNewPrivs')][0].split()[1];"
        "print(os.getuid(), os.getgid(), os.getgroups(), nnp)")


def test_sandbox_args():
    assert sandbox_args() == ["-sandbox", SANDBOX]
    assert SANDBOX.startswith("on,") and "spawn=deny" in SANDBOX


def test_this_process_keeps_its_privileges():
    assert no_new_privs() in (True, False)
    assert ChildConfinement().cgroup_procs == () and confinement_for(None).owner is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change identity")
def test_child_runs_as_the_guest_with_no_new_privs():
    confine = ChildConfinement(owner=Owner(61021, 61022))
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    out = subprocess.run([python, "-c", SHOW], cwd="/", preexec_fn=confine, close_fds=True,
                         capture_output=True, text=True, check=True).stdout.split(maxsplit=2)
    assert out[:2] == ["61021", "61022"]
    assert out[2].strip() == "[] 1"


def test_child_joins_cgroup_files(tmp_path):
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    confine = ChildConfinement(cgroup_procs=(str(procs),), no_new_privs=False)
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          preexec_fn=confine, capture_output=True, text=True, check=True)
    assert procs.read_text() == proc.stdout.strip()

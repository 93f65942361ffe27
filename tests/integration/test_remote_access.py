"""Access rules in pyvirtd against the real virsh: the unix peer's uid decides,
a denied procedure fails with libvirt's ``access denied`` and list-all answers
only show what the caller may see."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

pytestmark = pytest.mark.skipif(shutil.which("virsh") is None or os.geteuid() != 0,
                                reason="needs the real virsh, as root")

RULES = """\
allow uid:0      connect:*
allow uid:0      domain:getattr
allow uid:0      domain:read
allow uid:0      domain:search_*
allow uid:65534  connect:getattr
deny  *          *
"""


@pytest.fixture
def uri():
    # a directory other users can enter (pytest's tmp_path is root-only)
    top = pathlib.Path(tempfile.mkdtemp(prefix="pyvirt-access-"))
    try:
        top.chmod(0o755)
        (top / "access.rules").write_text(RULES)
        running = DaemonThread(DaemonConfig(
            unix_sock_dir=str(top / "run"), listen_tcp=False, listen_tls=False,
            unix_sock_rw_perms=0o777, access_rules_file=str(top / "access.rules"))).start()
        (top / "run").chmod(0o755)
        yield f"test+unix:///default?socket={running.rw_path}"
        running.stop()
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _virsh(uri: str, *args: str, user: int | None = None) -> subprocess.CompletedProcess:
    prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] \
        if user is not None else []
    return subprocess.run([*prefix, "virsh", "-c", uri, *args], capture_output=True,
                          text=True, timeout=30)


def test_allowed_reads_work(uri):
    listed = _virsh(uri, "list", "--all")
    assert listed.returncode == 0
    assert " test " in listed.stdout
    assert _virsh(uri, "domstate", "test").stdout.strip() == "running"


def test_denied_procedure_is_access_denied(uri):
    result = _virsh(uri, "destroy", "test")
    assert result.returncode == 1
    assert result.stderr == ("error: Failed to destroy domain 'test'\n"
                             "error: access denied: 'Test' denied access\n")
    assert _virsh(uri, "domstate", "test").stdout.strip() == "running"


def test_list_all_hides_what_the_caller_may_not_see(uri):
    networks = _virsh(uri, "net-list", "--all")
    assert networks.returncode == 0
    assert "default" not in networks.stdout


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")
def test_another_uid_gets_only_what_its_rules_say(uri):
    result = _virsh(uri, "list", "--all", user=65534)
    assert result.returncode == 1
    assert "access denied: 'Test' denied access" in result.stderr

"""pyvirt-ssh-helper: the stdin/stdout relay that SSH clients reach pyvirtd through."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.ssh_helper import main, relay, socket_for

VIRSH = shutil.which("virsh")


def test_socket_for_uri():
    assert socket_for("test:///default?socket=/x/sock", False) == "/x/sock"
    rw_path, ro_path = DaemonConfig().socket_paths()
    assert socket_for("qemu:///system", False) == rw_path
    assert socket_for("qemu:///system", True) == ro_path
    assert socket_for(None, False) == rw_path


def test_relay_copies_both_ways():
    ours, daemon_side = socket.socketpair()
    in_read, in_write = os.pipe()
    out_read, out_write = os.pipe()
    worker = threading.Thread(target=relay, args=(ours, in_read, out_write))
    worker.start()
    os.write(in_write, b"call")
    assert daemon_side.recv(4) == b"call"
    daemon_side.sendall(b"reply")
    assert os.read(out_read, 5) == b"reply"
    os.close(in_write)
    assert daemon_side.recv(1) == b""          # stdin EOF reaches the daemon as EOF
    daemon_side.close()
    worker.join(10)
    assert not worker.is_alive()
    for fd in (in_read, out_read, out_write):
        os.close(fd)
    ours.close()


def test_unreachable_socket_is_an_error(tmp_path, capsys):
    assert main([f"test:///default?socket={tmp_path}/missing"]) == 1
    assert "cannot connect" in capsys.readouterr().err


@pytest.mark.skipif(VIRSH is None, reason="real virsh not installed")
def test_real_virsh_through_the_helper(daemon, tmp_path):
    helper = tmp_path / "helper.sh"
    helper.write_text(f"#!/bin/sh\nexec {sys.executable} -m pyvirt.daemon.ssh_helper "
                      f"'test:///default?socket={daemon.rw_path}'\n")
    helper.chmod(0o755)
    result = subprocess.run([VIRSH, "-c", f"test+ext:///default?command={helper}", "list",
                             "--all"], capture_output=True, text=True, timeout=60)
    local = subprocess.run([VIRSH, "-c", "test:///default", "list", "--all"],
                           capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (
        local.returncode, local.stdout, local.stderr)

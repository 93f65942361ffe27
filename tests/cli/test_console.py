"""``pyvirsh console``: virsh's messages, and a real guest's console under a pty."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import pyvirt.cli.commands  # noqa: F401 - registers the command groups
from pyvirt.cli.console import escape_byte

REPO = Path(__file__).resolve().parents[2]
PYVIRSH = [sys.executable, "-m", "pyvirt.cli.main"]


def pyvirsh(*args: str, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run([*PYVIRSH, *args], stdin=stdin, capture_output=True, text=True,
                          timeout=60)


def test_escape_byte_spellings() -> None:
    assert escape_byte("^]") == 0x1d
    assert escape_byte("^a") == 0x01
    assert escape_byte("~") == ord("~")


def test_console_needs_a_terminal_like_virsh() -> None:
    got = pyvirsh("-c", "test:///default", "console", "test")
    assert got.returncode == 1
    assert got.stderr == "error: Cannot run interactive console without a controlling TTY\n"


def test_console_of_a_shut_off_domain_like_virsh() -> None:
    got = pyvirsh("-c", "test:///default", "destroy test; console test")
    assert got.returncode == 1
    assert got.stderr.endswith("error: The domain is not running\n")


def test_console_help_matches_virsh() -> None:
    got = pyvirsh("help", "console")
    assert "console <domain> [--devname <string>] [--force] [--safe]" in got.stdout
    if shutil.which("virsh"):
        assert got.stdout == subprocess.run(["virsh", "help", "console"], capture_output=True,
                                            text=True).stdout


# --- the real guest ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def guest() -> dict[str, Path]:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    out = REPO / "var" / "guest"
    subprocess.run([str(REPO / "scripts/build-test-guest.sh"), str(out)], capture_output=True)
    if not (out / "vmlinuz").exists():
        pytest.skip("test guest not available")
    return {"kernel": out / "vmlinuz", "initrd": out / "initrd.gz"}


def read_until(fd: int, want: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while want not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_console_of_the_real_guest_under_a_pty(tmp_path: Path, guest) -> None:
    uri = f"qemu:///embed?root={tmp_path}/root"
    xml = tmp_path / "vm.xml"
    xml.write_text(textwrap.dedent(f"""\
        <domain type='qemu'>
          <name>cons</name>
          <memory unit='MiB'>128</memory>
          <vcpu>1</vcpu>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>{guest['kernel']}</kernel>
            <initrd>{guest['initrd']}</initrd>
            <cmdline>console=ttyS0 quiet</cmdline>
          </os>
          <devices>
            <serial type='pty'/>
            <memballoon model='none'/>
          </devices>
        </domain>"""))
    master, slave = pty.openpty()
    # one pyvirsh process: an embedded root belongs to one process at a time
    proc = subprocess.Popen([*PYVIRSH, "-c", uri, f"define {xml}; start cons; console cons"],
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    try:
        seen = read_until(master, b"PYVIRT-GUEST-READY", 40)
        assert b"Connected to domain 'cons'" in seen, seen[-2000:]
        assert b"Escape character is ^] (Ctrl + ])" in seen
        assert b"PYVIRT-GUEST-READY" in seen, seen[-2000:]
        os.write(master, b"\x1d")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        stop = pyvirsh("-c", uri, "destroy cons")
    assert stop.returncode == 0, stop.stderr          # the guest outlived the console

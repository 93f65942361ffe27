"""The pyvirtd command: --help, pid file, clean SIGTERM, idle timeout, bad config."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from pyvirt.daemon.main import parse_args
from pyvirt.remote.client import RemoteClient


def start(tmp_path, *extra: str, conf: str = "") -> subprocess.Popen:
    config = tmp_path / "pyvirtd.conf"
    config.write_text(f'unix_sock_dir = "{tmp_path}/run"\n{conf}')
    return subprocess.Popen([sys.executable, "-m", "pyvirt.daemon.main", "-f", str(config),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, proc) -> None:
    """Until the socket accepts connections (the file appears before listen())."""
    for _ in range(200):
        if os.path.exists(path) and _accepts(path):
            return
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def _accepts(path) -> bool:
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def test_parse_args_like_libvirtd():
    args = parse_args(["--listen", "-f", "/etc/x.conf", "-d", "-p", "/run/p.pid", "-t", "30"])
    assert (args.listen, args.config, args.daemon, args.pid_file, args.timeout) == (
        True, "/etc/x.conf", True, "/run/p.pid", 30)


def test_help_mentions_the_options():
    out = subprocess.run([sys.executable, "-m", "pyvirt.daemon.main", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in ("--listen", "--config", "--daemon", "--pid-file", "--timeout"):
        assert option in out


def test_sigterm_stops_cleanly(tmp_path):
    pidfile = tmp_path / "pyvirtd.pid"
    proc = start(tmp_path, "-p", str(pidfile))
    try:
        sock = tmp_path / "run" / "libvirt-sock"
        wait_for(sock, proc)
        assert int(pidfile.read_text()) == proc.pid
        client = RemoteClient.unix(str(sock), timeout=10)
        client.open()
        assert client.call("CONNECT_GET_TYPE") == "TEST"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert not sock.exists() and not pidfile.exists()
        client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_idle_timeout_exits(tmp_path):
    proc = start(tmp_path, "-t", "1")
    try:
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unsupported_config_fails_at_start(tmp_path):
    proc = start(tmp_path, "--listen", conf="listen_tcp = 1\n")
    try:
        assert proc.wait(20) == 1
        assert "auth_tcp" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ignored_keys_are_logged(tmp_path):
    proc = start(tmp_path, conf='tls_priority = "NORMAL"\n')
    try:
        wait_for(tmp_path / "run" / "libvirt-sock", proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "ignoring tls_priority" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag):
    out = subprocess.run([sys.executable, "-m", "pyvirt.daemon.main", flag],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("pyvirtd")


def test_daemonize_writes_the_pid_of_the_background_process(tmp_path):
    pidfile = tmp_path / "pyvirtd.pid"
    proc = start(tmp_path, "-d", "-p", str(pidfile))
    assert proc.wait(20) == 0                     # the foreground process returns at once
    sock = tmp_path / "run" / "libvirt-sock"
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text().strip() and _accepts(sock):
            break
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    assert pid != proc.pid
    try:
        client = RemoteClient.unix(str(sock), timeout=10)
        client.open()
        assert client.call("CONNECT_GET_TYPE") == "TEST"
        client.close()
    finally:
        os.kill(pid, signal.SIGTERM)
    for _ in range(400):
        if not pidfile.exists():
            break
        time.sleep(0.05)
    assert not pidfile.exists()

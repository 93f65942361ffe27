"""SSH for real: Debian's sshd in a network namespace the test makes (a veth pair
gives it an address), a throwaway host key and client key, root login by key
only; pyvirtd's socket appears at /run/libvirt/libvirt-sock inside sshd's own
mount namespace. The real ``virsh`` and pyvirt's remote driver both connect
with ``test+ssh://root@ADDR:PORT/default?keyfile=...&no_verify=1``.
Everything is torn down afterwards (sshd by its pid, the namespace with its
veth pair)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

import pyvirt
from pyvirt.api._registry import load_drivers
from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread
from pyvirt.drivers import base
from pyvirt.drivers.remote import RemoteDriver

NEEDS = ("/usr/sbin/sshd", "ssh", "ssh-keygen", "ip", "unshare", "virsh")
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or any(shutil.which(tool) is None for tool in NEEDS),
    reason="needs root, openssh-server, openssh-client, iproute2 and virsh")

PORT = 2222


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def _wait_port(ns: str, addr: str, port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"sshd in {ns} never listened on {addr}:{port}")


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ssh")
    tag = f"{os.getpid() % 100000}"
    ns, host_if, ns_if = f"pyvirt-ssh-{tag}", f"pvsh{tag}", f"pvsn{tag}"
    subnet = 100 + os.getpid() % 100
    host_addr, ns_addr = f"10.251.{subnet}.1", f"10.251.{subnet}.2"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "host_key"))
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "client_key"))
    shutil.copy(tmp / "client_key.pub", tmp / "authorized_keys")
    (tmp / "sshd_config").write_text(
        f"Port {PORT}\nListenAddress {ns_addr}\nHostKey {tmp}/host_key\n"
        f"PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n"
        f"StrictModes no\nAuthorizedKeysFile {tmp}/authorized_keys\n"
        f"PidFile {tmp}/sshd.pid\nSubsystem sftp internal-sftp\n")
    run_dir = tmp / "run"
    daemon = DaemonThread(DaemonConfig(unix_sock_dir=str(run_dir), listen_tcp=False,
                                       listen_tls=False)).start()
    sshd = None
    try:
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _run("ip", "link", "set", ns_if, "netns", ns)
        _run("ip", "addr", "add", f"{host_addr}/30", "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ns_addr}/30", "dev", ns_if)
        _run("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        _run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        os.makedirs("/run/sshd", exist_ok=True)
        os.makedirs("/run/libvirt", exist_ok=True)
        # sshd (and the sessions it starts) see our daemon's sockets at libvirtd's path
        script = (f"mount --bind {run_dir} /run/libvirt && "
                  f"exec /usr/sbin/sshd -D -e -f {tmp}/sshd_config")
        sshd = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "--mount",
                                 "--propagation", "private", "sh", "-c", script],
                                stderr=open(tmp / "sshd.log", "wb"))
        _wait_port(ns, ns_addr, PORT)
        # the system ssh client, told to keep host keys in the tmp dir
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "ssh").write_text(
            f"#!/bin/sh\nexec {shutil.which('ssh')} -o UserKnownHostsFile={tmp}/known_hosts "
            f"\"$@\"\n")
        (bin_dir / "ssh").chmod(0o755)
        uri = (f"test+ssh://root@{ns_addr}:{PORT}/default?keyfile={tmp}/client_key"
               f"&no_verify=1")
        yield {"uri": uri, "bin": str(bin_dir), "tmp": tmp}
    finally:
        if sshd is not None:
            sshd.send_signal(signal.SIGTERM)
            try:
                sshd.wait(10)
            except subprocess.TimeoutExpired:
                sshd.kill()
                sshd.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=30)
        daemon.stop()


def test_real_virsh_over_ssh(ssh_host):
    env = dict(os.environ, PATH=f"{ssh_host['bin']}:{os.environ['PATH']}")
    remote = subprocess.run(["virsh", "-c", ssh_host["uri"], "list", "--all"],
                            capture_output=True, text=True, timeout=60, env=env)
    local = subprocess.run(["virsh", "-c", "test:///default", "list", "--all"],
                           capture_output=True, text=True, timeout=60)
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout


def test_pyvirt_remote_driver_over_ssh(ssh_host):
    load_drivers()
    added = not any(d.name == "remote" for d in base.registered_drivers())
    if added:
        base.register_driver(RemoteDriver())
    try:
        uri = ssh_host["uri"] + f"&known_hosts={ssh_host['tmp']}/known_hosts"
        conn = pyvirt.open(uri)
        assert [d.name() for d in conn.listAllDomains(0)] == ["test"]
        assert conn.isEncrypted() == 1 and conn.isSecure() == 1
        dom = conn.defineXML("<domain type='test'><name>over-ssh</name>"
                             "<memory>8192</memory><os><type>hvm</type></os></domain>")
        dom.create()
        assert dom.state()[0] == pyvirt.VIR_DOMAIN_RUNNING
        dom.destroy()
        dom.undefine()
        assert [d.name() for d in conn.listAllDomains(0)] == ["test"]
        conn.close()
    finally:
        if added:
            base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != "remote"]

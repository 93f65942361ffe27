"""SSH for real: Debian's sshd in a network namespace the test makes (a veth pair
gives it an address), a throwaway host key and client key, root login by key
only; pyvirtd's socket appears at /run/libvirt/libvirt-sock inside sshd's own
mount namespace. The real ``virsh`` and pyvirt's remote driver both connect
with ``test+ssh://root@ADDR:PORT/default?keyfile=...&no_verify=1``.
Everything is torn down afterwards (sshd by its pid, the namespace with its
veth pair); the sshd set-up is ``sshd_fixture.sshd_serving``."""

from __future__ import annotations

import os
import subprocess

import pytest

import pyvirt
from pyvirt.api._registry import load_drivers
from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread
from pyvirt.drivers import base
from pyvirt.drivers.remote import RemoteDriver
from sshd_fixture import missing_ssh_tools, sshd_serving

pytestmark = pytest.mark.skipif(missing_ssh_tools() is not None,
                                reason=missing_ssh_tools() or "")


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ssh")
    run_dir = tmp / "run"
    daemon = DaemonThread(DaemonConfig(unix_sock_dir=str(run_dir), listen_tcp=False,
                                       listen_tls=False)).start()
    try:
        with sshd_serving(tmp, run_dir) as host:
            yield {"uri": host.uri("test", "/default"), "bin": str(host.bin_dir),
                   "known_hosts": str(host.known_hosts)}
    finally:
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
        uri = ssh_host["uri"] + f"&known_hosts={ssh_host['known_hosts']}"
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

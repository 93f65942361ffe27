"""The manager's VNC bridge over a real ssh tunnel (``qemu+ssh://``), as virt-manager
does it: the system ``ssh -W ADDRESS:PORT`` run with the URI's user, port and key.

pyvirtd runs in a thread of this process serving ``qemu:///system`` rooted in a tmp
dir; Debian's sshd runs in a network namespace the test makes (sshd_fixture: a veth
pair, the daemon's socket directory seen at /run/libvirt there). The guest's
autoport display listens on the host's end of the veth pair, which sshd's side can
reach: the tunnel goes browser-side manager -> ssh -> sshd -> QEMU's VNC server.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

pytest.importorskip("uvicorn", reason="uvicorn not installed")

from sshd_fixture import missing_ssh_tools, sshd_serving  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402
from web_fixtures import PASSWORD, daemon_thread, make_users  # noqa: E402

import pyvirt  # noqa: E402
from pyvirt.drivers.qemu.state_dir import SYSTEM_ROOT_ENV  # noqa: E402
from pyvirt.web.app import WebConfig, create_app  # noqa: E402

pytestmark = [
    pytest.mark.skipif(missing_ssh_tools() is not None, reason=missing_ssh_tools() or ""),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                       reason="needs qemu-system-x86_64 (apt-get install qemu-system-x86)"),
]


def tunnels_to(target: str) -> list[int]:
    """Our child processes running ``ssh ... -W TARGET``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"-W" in argv and target.encode() in argv:
            found.append(int(entry))
    return found


@pytest.fixture
def ssh_uri_and_guest(tmp_path, monkeypatch):
    monkeypatch.setenv(SYSTEM_ROOT_ENV, str(tmp_path / "root"))
    run = tmp_path / "run"
    run.mkdir()
    with daemon_thread(tmp_path) as _daemon, sshd_serving(tmp_path, run) as host:
        monkeypatch.setenv("PYVIRT_SSH", str(host.bin_dir / "ssh"))   # keeps known_hosts here
        uri = host.uri("qemu", "/system")
        host_side = host.addr.rsplit(".", 1)[0] + ".1"      # our end of the veth pair
        conn = pyvirt.open(uri)
        dom = conn.defineXML(f"""<domain type='qemu'><name>ssh-vnc</name>
            <memory unit='MiB'>64</memory><vcpu>1</vcpu>
            <os><type arch='x86_64' machine='pc'>hvm</type></os>
            <devices><graphics type='vnc' autoport='yes' listen='{host_side}'/>
              <video><model type='vga'/></video></devices></domain>""")
        dom.create()
        try:
            yield uri, dom, host_side
        finally:
            if dom.isActive():
                dom.destroy()
            dom.undefine()
            conn.close()


def test_vnc_through_an_ssh_tunnel_and_the_tunnel_is_reaped(ssh_uri_and_guest):
    uri, dom, host_side = ssh_uri_and_guest
    xml = dom.XMLDesc(0)
    assert f"listen='{host_side}'" in xml and "port='-1'" not in xml
    port = int(xml.split("<graphics type='vnc' port='")[1].split("'")[0])
    app = create_app(WebConfig(uris=[uri], users=make_users()))
    with TestClient(app) as client:
        assert client.post("/login", data={"username": "alice",
                                           "password": PASSWORD}).status_code == 200
        with client.websocket_connect("/hosts/0/domains/ssh-vnc/vnc/ws") as ws:
            assert ws.receive_bytes()[:12] == b"RFB 003.008\n"
            assert tunnels_to(f"{host_side}:{port}")          # ssh -W is running
            ws.send_bytes(b"RFB 003.008\n")
            security = ws.receive_bytes()
            assert security[0] >= 1 and 1 in security[1:1 + security[0]]
        deadline = time.monotonic() + 10
        while tunnels_to(f"{host_side}:{port}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tunnels_to(f"{host_side}:{port}") == []        # terminated and reaped

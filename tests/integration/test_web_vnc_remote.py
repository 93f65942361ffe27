"""Autoport VNC displays of a real QEMU behind a real pyvirtd reached over +tcp:
the real ``virsh vncdisplay`` prints libvirt's ``127.0.0.1:N``, and the manager's
VNC bridge reaches the display at the URI's host (the remote TCP path).

pyvirtd runs in a thread of this process with a TCP listener on loopback
(``auth_tcp = "none"``) and serves ``qemu:///system`` rooted in a tmp dir (the
``PYVIRT_QEMU_TEST_SYSTEM_ROOT`` hook); no system state is touched. The guest
needs no kernel: SeaBIOS draws on the VGA display.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from lxml import etree

import pyvirt

pytest.importorskip("uvicorn", reason="uvicorn not installed")

from starlette.testclient import TestClient  # noqa: E402
from web_fixtures import PASSWORD, daemon_thread, make_users  # noqa: E402

from pyvirt.drivers.qemu.state_dir import SYSTEM_ROOT_ENV  # noqa: E402
from pyvirt.web.app import WebConfig, create_app  # noqa: E402

pytestmark = pytest.mark.skipif(not shutil.which("qemu-system-x86_64"),
                                reason="needs qemu-system-x86_64 (apt-get install "
                                       "qemu-system-x86)")

GUEST_XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>
  <vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><graphics type='vnc' autoport='yes'/><video><model type='vga'/></video>
  </devices></domain>"""


@pytest.fixture
def tcp_uri(tmp_path, monkeypatch):
    """``qemu+tcp://127.0.0.1:PORT/system`` of a pyvirtd in a thread, its
    ``qemu:///system`` rooted in tmp_path (the driver's test hook; the real virsh
    refuses ``/embed`` URIs over the wire)."""
    monkeypatch.setenv(SYSTEM_ROOT_ENV, str(tmp_path / "root"))
    with daemon_thread(tmp_path, listen_tcp=True, listen_addr="127.0.0.1", tcp_port=0,
                       auth_tcp="none") as daemon:
        yield f"qemu+tcp://127.0.0.1:{daemon.tcp_port}/system"


@pytest.fixture
def running_guest(tcp_uri):
    """A running guest with an autoport VNC display, defined through the daemon."""
    conn = pyvirt.open(tcp_uri)
    dom = conn.defineXML(GUEST_XML.format(name="vnc-auto"))
    dom.create()
    try:
        yield conn, dom
    finally:
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        conn.close()


def live_port(dom) -> int:
    graphics = etree.fromstring(dom.XMLDesc(0).encode()).find("./devices/graphics")
    return int(graphics.get("port"))


@pytest.mark.skipif(not shutil.which("virsh"), reason="needs the real virsh (libvirt-clients)")
def test_real_virsh_vncdisplay_prints_the_autoport_display(tcp_uri, running_guest):
    _conn, dom = running_guest
    port = live_port(dom)
    assert port >= 5900
    done = subprocess.run(["virsh", "-c", tcp_uri, "vncdisplay", "vnc-auto"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"127.0.0.1:{port - 5900}\n\n"
    dumped = subprocess.run(["virsh", "-c", tcp_uri, "dumpxml", "vnc-auto"],
                            capture_output=True, text=True, timeout=60).stdout
    assert (f"<graphics type='vnc' port='{port}' autoport='yes' listen='127.0.0.1'>"
            in dumped)
    assert "<listen type='address' address='127.0.0.1'/>" in dumped
    dom.destroy()
    stopped = subprocess.run(["virsh", "-c", tcp_uri, "vncdisplay", "vnc-auto"],
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 1
    assert stopped.stderr == "error: Domain is not running\n"         # virsh's own words


def test_the_manager_bridges_a_remote_tcp_display(tcp_uri):
    """The wizard's VNC choice over +tcp: create and start, then the display's handshake
    through the manager's WebSocket."""
    app = create_app(WebConfig(uris=[tcp_uri], users=make_users()))
    with TestClient(app) as client:
        login = client.post("/login", data={"username": "alice", "password": PASSWORD})
        assert login.status_code == 200
        csrf = login.text.split('data-csrf="')[1].split('"')[0]
        made = client.post("/hosts/0/domains/new", data={
            "csrf": csrf, "name": "wizard-vnc", "memory": "64", "vcpus": "1",
            "domain_type": "qemu", "arch": "x86_64", "boot": "volume", "disk": "none",
            "vnc": "1", "start": "1"})
        assert "Domain &#39;wizard-vnc&#39; defined and started" in made.text
        try:
            assert 'id="vnc-link"' in made.text
            page = client.get("/hosts/0/domains/wizard-vnc/vnc")
            assert page.status_code == 200 and 'role="alert"' not in page.text
            with client.websocket_connect("/hosts/0/domains/wizard-vnc/vnc/ws") as ws:
                assert ws.receive_bytes()[:12] == b"RFB 003.008\n"
                ws.send_bytes(b"RFB 003.008\n")                    # our version ...
                security = ws.receive_bytes()                       # ... its security types
                assert security[0] >= 1 and 1 in security[1:1 + security[0]]   # 1 = None
        finally:
            check = pyvirt.open(tcp_uri)
            dom = check.lookupByName("wizard-vnc")
            if dom.isActive():
                dom.destroy()
            dom.undefine()
            check.close()

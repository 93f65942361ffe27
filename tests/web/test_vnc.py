"""The VNC display: finding the server from the live XML, and the WebSocket bridge."""

from __future__ import annotations

import socket
import threading

import pytest
from starlette.websockets import WebSocketDisconnect

import pyvirt
from pyvirt.web.vnc import VncTarget, vnc_target

from .conftest import flashes


def xml_with(graphics: str) -> str:
    return f"<domain type='qemu'><name>v</name><devices>{graphics}</devices></domain>"


@pytest.mark.parametrize("graphics, target", [
    ("<graphics type='vnc' socket='/run/v.vnc'/>", VncTarget(socket="/run/v.vnc")),
    ("<graphics type='vnc'><listen type='socket' socket='/run/w.vnc'/></graphics>",
     VncTarget(socket="/run/w.vnc")),
    ("<graphics type='vnc' port='5901' listen='127.0.0.1'/>",
     VncTarget(host="127.0.0.1", port=5901)),
    ("<graphics type='vnc' port='5902'><listen type='address' address='0.0.0.0'/></graphics>",
     VncTarget(host="127.0.0.1", port=5902)),
    ("<graphics type='vnc' port='5903'/>", VncTarget(host="127.0.0.1", port=5903)),
])
def test_vnc_target_from_the_live_xml(graphics, target):
    assert vnc_target("qemu:///system", xml_with(graphics)) == target


@pytest.mark.parametrize("uri, graphics, message", [
    ("qemu+tcp://far/system", "<graphics type='vnc' port='5900'/>",
     "Operation not supported: VNC consoles of remote hosts (qemu+tcp://far/system) "
     "are not supported yet"),
    ("qemu:///system", "<graphics type='spice' port='5900'/>",
     "Requested operation is not valid: the domain has no VNC display"),
    ("qemu:///system", "<graphics type='vnc' port='-1' autoport='yes'/>",
     "Requested operation is not valid: the VNC display has no port yet "
     "(is the domain running?)"),
    ("qemu:///system", "<graphics type='vnc' port='5900' listen='10.0.0.5'/>",
     "Operation not supported: the VNC display listens on 10.0.0.5, not on loopback"),
])
def test_vnc_target_refusals(uri, graphics, message):
    with pytest.raises(pyvirt.libvirtError) as refused:
        vnc_target(uri, xml_with(graphics))
    assert str(refused.value) == message


@pytest.fixture
def fake_vnc_server(tmp_path):
    """A UNIX-socket server that greets like VNC and echoes what it gets."""
    path = str(tmp_path / "vm.vnc")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"RFB 003.008\n")
            while data := conn.recv(4096):
                conn.sendall(b"echo:" + data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    server.close()


def define_vnc_domain(admin, socket_path: str) -> None:
    admin.get("/hosts/0/domains/new")
    response = admin.post("/hosts/0/domains/new", {
        "name": "vncvm", "memory": "64", "vcpus": "1", "domain_type": "test", "arch": "i686",
        "disk": "none", "start": "1"})
    assert flashes(response.text) == ["Domain 'vncvm' defined and started"]
    conn = admin.client.app.state.hosts.get(0).conn
    dom = conn.lookupByName("vncvm")
    xml = dom.XMLDesc(0).replace(
        "</devices>", f"<graphics type='vnc' socket='{socket_path}'/></devices>")
    dom.destroy()
    conn.defineXML(xml).create()


def test_vnc_bridge_both_ways(admin, fake_vnc_server):
    define_vnc_domain(admin, fake_vnc_server)
    page = admin.get("/hosts/0/domains/vncvm").text
    assert 'id="vnc-link"' in page
    viewer = admin.get("/hosts/0/domains/vncvm/vnc").text
    assert ('data-ws="/hosts/0/domains/vncvm/vnc/ws"' in viewer      # noVNC vendored
            or "noVNC is not installed" in viewer)
    with admin.client.websocket_connect("/hosts/0/domains/vncvm/vnc/ws") as ws:
        assert ws.receive_bytes() == b"RFB 003.008\n"
        ws.send_bytes(b"RFB 003.008\n")
        assert ws.receive_bytes() == b"echo:RFB 003.008\n"


def test_vnc_page_explains_a_missing_display(admin):
    page = admin.get("/hosts/0/domains/test/vnc")
    assert flashes(page.text) == [
        "Requested operation is not valid: the domain has no VNC display"]
    assert 'id="vnc-link"' not in admin.get("/hosts/0/domains/test").text


def test_vnc_socket_refuses_when_unreachable(admin):
    with pytest.raises(WebSocketDisconnect) as refused:
        with admin.client.websocket_connect("/hosts/0/domains/test/vnc/ws"):
            pass
    assert refused.value.code == 1011


def test_vnc_is_for_admins_only(reader):
    assert reader.get("/hosts/0/domains/test/vnc").status_code == 403
    with pytest.raises(WebSocketDisconnect) as refused:
        with reader.client.websocket_connect("/hosts/0/domains/test/vnc/ws"):
            pass
    assert refused.value.code == 1008

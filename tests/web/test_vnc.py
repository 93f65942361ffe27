"""The VNC display: finding the server from the live XML, and the WebSocket bridge."""

from __future__ import annotations

import socket
import threading

import pytest
from starlette.websockets import WebSocketDisconnect

import pyvirt
from pyvirt.web.vnc import VncTarget, open_vnc, vnc_target

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


@pytest.mark.parametrize("uri, graphics, target", [
    ("qemu+tcp://far/system", "<graphics type='vnc' port='5901' listen='0.0.0.0'/>",
     VncTarget(host="far", port=5901)),
    ("qemu://far/system", "<graphics type='vnc' port='5902'/>", VncTarget(host="far", port=5902)),
    ("qemu+tcp://far/system", "<graphics type='vnc' port='5903' listen='10.0.0.5'/>",
     VncTarget(host="10.0.0.5", port=5903)),
    ("qemu+tcp://127.0.0.1:16509/system",
     "<graphics type='vnc' port='5904' listen='127.0.0.1'/>",
     VncTarget(host="127.0.0.1", port=5904)),
])
def test_remote_tcp_displays_are_reached_at_the_uris_host(uri, graphics, target):
    assert vnc_target(uri, xml_with(graphics)) == target


def test_ssh_uris_tunnel_with_the_uris_user_port_and_key(monkeypatch):
    monkeypatch.delenv("PYVIRT_SSH", raising=False)
    uri = ("qemu+ssh://ops@far:2222/system?keyfile=/k/id&no_verify=1"
           "&known_hosts=/k/known")
    target = vnc_target(uri, xml_with("<graphics type='vnc' port='5905' listen='0.0.0.0'/>"))
    assert target.ssh_argv == (
        "ssh", "-p", "2222", "-l", "ops", "-i", "/k/id", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/k/known", "-e", "none", "-o", "BatchMode=yes",
        "-W", "127.0.0.1:5905", "--", "far")
    plain = vnc_target("qemu+ssh://far/system",
                       xml_with("<graphics type='vnc' port='5906' listen='::1'/>"))
    assert plain.ssh_argv == ("ssh", "-e", "none", "-o", "BatchMode=yes", "-W", "[::1]:5906",
                              "--", "far")


@pytest.mark.parametrize("uri, graphics, message", [
    ("qemu+tcp://far/system", "<graphics type='vnc' port='5900' listen='127.0.0.1'/>",
     "Operation not supported: the VNC display listens on 127.0.0.1 of far only: "
     "reach it through a qemu+ssh:// URI (an ssh tunnel)"),
    ("qemu+tls://far/system", "<graphics type='vnc' socket='/run/v.vnc'/>",
     "Operation not supported: the VNC display of a domain on far is a UNIX socket there; "
     "give it a TCP port to reach it from here"),
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
    conn = admin.client.app.state.workspace.hosts.get(0).conn
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


FAKE_SSH = """#!{python}
import os, socket, sys, threading
argv = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(repr(argv) + "\\n")
open({pidfile!r}, "w").write(str(os.getpid()))
if "fail" in argv[-1]:
    sys.stderr.write("ssh: Could not resolve hostname fail.example\\n")
    sys.exit(255)
host, _, port = argv[argv.index("-W") + 1].rpartition(":")
sock = socket.create_connection((host.strip("[]"), int(port)))
def up():
    while data := os.read(0, 4096):
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := sock.recv(4096):
    os.write(1, data)
"""


@pytest.fixture
def fake_tcp_vnc_server():
    """A TCP server on loopback that greets like VNC and echoes; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.sendall(b"RFB 003.008\n")
            while data := conn.recv(4096):
                conn.sendall(b"echo:" + data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    """A stand-in for the system ssh: logs its argv and pid, relays -W like ssh."""
    import sys
    script = tmp_path / "ssh"
    log, pidfile = tmp_path / "ssh.log", tmp_path / "ssh.pid"
    script.write_text(FAKE_SSH.format(python=sys.executable, log=str(log),
                                      pidfile=str(pidfile)))
    script.chmod(0o755)
    monkeypatch.setenv("PYVIRT_SSH", str(script))
    return log, pidfile


def pid_alive(pid: int) -> bool:
    import os
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:           # a zombie is not alive either
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_the_ssh_tunnel_relays_rfb_and_is_reaped(fake_ssh, fake_tcp_vnc_server):
    import asyncio
    log, pidfile = fake_ssh
    xml = xml_with(f"<graphics type='vnc' port='{fake_tcp_vnc_server}' listen='127.0.0.1'/>")
    target = vnc_target("qemu+ssh://ops@far.example/system?keyfile=/k/id", xml)

    async def talk() -> bytes:
        channel = await open_vnc(target)
        banner = await channel.reader.read(100)
        channel.writer.write(b"hello")
        await channel.writer.drain()
        echoed = await channel.reader.read(100)
        await channel.close()
        assert channel.process.returncode is not None     # waited for: no zombie
        return banner + echoed

    assert asyncio.run(talk()) == b"RFB 003.008\necho:hello"
    argv = eval(log.read_text().splitlines()[0])           # noqa: S307 - our own repr
    assert argv[argv.index("-W") + 1] == f"127.0.0.1:{fake_tcp_vnc_server}"
    assert argv[-1] == "far.example" and ["-l", "ops"] == argv[argv.index("-l"):][:2]
    assert not pid_alive(int(pidfile.read_text()))


def test_a_failing_ssh_tunnel_says_why(fake_ssh):
    import asyncio
    target = vnc_target("qemu+ssh://fail.example/system",
                        xml_with("<graphics type='vnc' port='5900'/>"))
    with pytest.raises(OSError, match="ssh tunnel failed: ssh: Could not resolve hostname"):
        asyncio.run(open_vnc(target))

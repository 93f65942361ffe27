"""Autoport VNC displays: query-vnc's answer written into the live XML (pure), and a
real QEMU whose live XML names the port its VNC server really answers on."""

from __future__ import annotations

import shutil
import socket

import pytest
from lxml import etree

import pyvirt
from pyvirt.drivers.qemu.defaults import parse_definition
from pyvirt.drivers.qemu.graphics import (apply_vnc_info, autoport_vnc, forget_vnc_ports,
                                          record_vnc_ports)

QUERY_VNC = {"enabled": True, "host": "127.0.0.1", "service": "5901", "family": "ipv4",
             "auth": "none", "clients": []}


def domain(graphics: str) -> str:
    return f"""<domain type='qemu'><name>g</name><memory unit='MiB'>64</memory>
      <os><type arch='x86_64'>hvm</type></os><devices>{graphics}</devices></domain>"""


def live_def(graphics: str):
    return parse_definition(domain(graphics), ours=True)[0]


def graphics_xml(ddef) -> str:
    node = ddef.node.find("./devices/graphics")
    return etree.tostring(node).decode().strip()


def test_autoport_display_gets_the_port_and_listen_address_like_libvirt() -> None:
    ddef = live_def("<graphics type='vnc' autoport='yes'/>")
    assert apply_vnc_info(ddef, QUERY_VNC)
    gfx = ddef.devices.graphics[0]
    assert gfx.port == 5901 and gfx.autoport and gfx.listen == "127.0.0.1"
    assert [(item.type, item.address) for item in gfx.listens] == [("address", "127.0.0.1")]
    assert graphics_xml(ddef).startswith(
        "<graphics type=\"vnc\" port=\"5901\" autoport=\"yes\" listen=\"127.0.0.1\">")


def test_port_minus_one_is_autoport_and_a_fixed_port_or_socket_is_left_alone() -> None:
    assert len(autoport_vnc(live_def("<graphics type='vnc' port='-1'/>"))) == 1
    fixed = live_def("<graphics type='vnc' port='5990' autoport='no'/>")
    assert autoport_vnc(fixed) == []
    assert not apply_vnc_info(fixed, QUERY_VNC)
    assert fixed.devices.graphics[0].port == 5990
    sock = live_def("<graphics type='vnc'><listen type='socket' socket='/tmp/v.sock'/>"
                    "</graphics>")
    assert autoport_vnc(sock) == [] and not apply_vnc_info(sock, QUERY_VNC)


def test_a_configured_listen_address_is_kept_and_disabled_vnc_changes_nothing() -> None:
    ddef = live_def("<graphics type='vnc' autoport='yes' listen='0.0.0.0'/>")
    assert apply_vnc_info(ddef, {**QUERY_VNC, "host": "0.0.0.0"})
    gfx = ddef.devices.graphics[0]
    assert gfx.listen == "0.0.0.0" and gfx.listens[0].address == "0.0.0.0"
    untouched = live_def("<graphics type='vnc' autoport='yes'/>")
    assert not apply_vnc_info(untouched, {"enabled": False})
    assert untouched.devices.graphics[0].port == -1


def test_forget_puts_minus_one_back() -> None:
    ddef = live_def("<graphics type='vnc' autoport='yes'/>")
    apply_vnc_info(ddef, QUERY_VNC)
    forget_vnc_ports(ddef)
    assert ddef.devices.graphics[0].port == -1


class ScriptedMonitor:
    def __init__(self, reply=None, fails: bool = False) -> None:
        self.reply, self.fails, self.calls = reply, fails, []

    def execute(self, command: str, args=None):
        self.calls.append(command)
        if self.fails:
            raise pyvirt.libvirtError("internal error: monitor closed")
        return self.reply


def test_record_asks_qemu_only_when_a_display_needs_it_and_never_raises() -> None:
    monitor = ScriptedMonitor(QUERY_VNC)
    assert not record_vnc_ports(monitor, live_def(""), "g")
    assert monitor.calls == []
    ddef = live_def("<graphics type='vnc'/>")
    assert record_vnc_ports(monitor, ddef, "g") and monitor.calls == ["query-vnc"]
    broken = live_def("<graphics type='vnc'/>")
    assert not record_vnc_ports(ScriptedMonitor(fails=True), broken, "g")
    assert broken.devices.graphics[0].port == -1


def read_banner(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=10) as sock:
        return sock.recv(12)


@pytest.mark.skipif(not shutil.which("qemu-system-x86_64"),
                    reason="needs qemu-system-x86_64 (apt-get install qemu-system-x86)")
def test_real_qemu_autoport_display_answers_rfb_on_the_live_port(tmp_path) -> None:
    conn = pyvirt.open(f"qemu:///embed?root={tmp_path / 'root'}")
    try:
        dom = conn.defineXML(domain("<graphics type='vnc' autoport='yes'/>"
                                    "<video><model type='vga'/></video>")
                             .replace("<domain type='qemu'>",
                                      "<domain type='qemu'><features><acpi/></features>"))
        dom.create()
        live = etree.fromstring(dom.XMLDesc(0).encode()).find("./devices/graphics")
        port = int(live.get("port"))
        assert port >= 5900 and live.get("autoport") == "yes"
        assert live.get("listen") == "127.0.0.1"
        assert live.find("./listen").get("address") == "127.0.0.1"
        assert read_banner("127.0.0.1", port) == b"RFB 003.008\n"
        inactive = etree.fromstring(dom.XMLDesc(pyvirt.VIR_DOMAIN_XML_INACTIVE).encode())
        assert inactive.find("./devices/graphics").get("port") == "-1"
        dom.destroy()
        after = etree.fromstring(dom.XMLDesc(0).encode()).find("./devices/graphics")
        assert after.get("port") == "-1"
        dom.undefine()
    finally:
        conn.close()


def test_reattach_asks_qemu_for_the_port_again(tmp_path, stand_in) -> None:
    """A status file from before (its live XML without the port): reattach asks QEMU."""
    from test_reattach_qemu import FakeQmp, open_hv

    from pyvirt.drivers.qemu import driver as qdriver, state_dir

    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    qmp = FakeQmp(str(dirs.monitor_path("g")))
    qmp.ANSWERS = {**FakeQmp.ANSWERS, "query-vnc": {**QUERY_VNC, "service": "5907"}}
    xml = domain("<graphics type='vnc' port='-1' autoport='yes'><listen type='address'/>"
                 "</graphics>").replace("<name>g</name>",
                                        "<name>g</name><uuid>0d9e1b0c-0000-4000-8000-"
                                        "0000000000aa</uuid>")
    state_dir.save_status(dirs, state_dir.StatusRecord(
        name="g", state="paused", reason="user", pid=stand_in.pid,
        pid_start=state_dir.process_start_time(stand_in.pid), monitor=qmp.path, dom_id=4,
        live_xml=xml))
    try:
        hv = open_hv(tmp_path)
        ref = hv.domain_lookup_by_name("g")
        live = etree.fromstring(hv.domain_get_xml_desc(ref, 0).encode())
        graphics = live.find("./devices/graphics")
        assert (graphics.get("port"), graphics.get("listen")) == ("5907", "127.0.0.1")
        assert qmp.seen == ["qmp_capabilities", "query-status", "query-vnc"]
        assert "port='5907'" in dirs.status_path("g").read_text()     # saved again
    finally:
        qmp.close()
        qdriver.forget_state_for_tests(dirs)


@pytest.fixture
def stand_in():
    """A live process standing in for QEMU (killed and reaped at the end)."""
    import subprocess
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()

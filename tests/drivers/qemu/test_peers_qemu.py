"""The QEMU driver's use of the network and storage drivers, without a host:
volume disks resolved, volume users, taps plugged/unplugged (fake attach
functions), the peer dirs per URI, and our own files parsed whole."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.qemu import peers, state_dir
from pyvirt.drivers.qemu.defaults import parse_definition
from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, libvirtError

DOM = """<domain type='qemu'><name>vm</name><memory unit='MiB'>128</memory>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='volume' device='disk'><source pool='imgs' volume='a.qcow2'/>
  <target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><source file='/img/b.raw'/><target dev='vdb' bus='virtio'/></disk>
<interface type='network'><mac address='52:54:00:00:00:01'/><source network='nat'/></interface>
<interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='br0'/>
  <target dev='mytap'/></interface>
<interface type='user'><mac address='52:54:00:00:00:03'/></interface>
</devices></domain>"""


class FakeStorage:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def resolve_volume(self, pool: str, volume: str):
        self.asked.append((pool, volume))
        return types.SimpleNamespace(path=f"/pools/{pool}/{volume}", vol_type="file",
                                     format="qcow2")


def test_volume_disks_become_file_disks_in_a_copy() -> None:
    live = DomainDef.from_xml(DOM)
    storage = FakeStorage()
    resolved = peers.resolve_disks(storage, live)
    disk = resolved.node.find("devices/disk")
    assert storage.asked == [("imgs", "a.qcow2")]
    assert disk.get("type") == "file"
    assert disk.find("source").attrib == {"file": "/pools/imgs/a.qcow2"}
    assert disk.find("driver").get("type") == "qcow2"
    # the live definition keeps libvirt's volume form
    assert live.node.find("devices/disk").get("type") == "volume"


def test_a_definition_without_volume_disks_is_used_as_is() -> None:
    live = DomainDef.from_xml(DOM.replace("type='volume'", "type='file'"))
    assert peers.resolve_disks(None, live) is live


def test_volume_disk_without_a_storage_driver_is_refused() -> None:
    with pytest.raises(libvirtError) as exc:
        peers.resolve_disks(None, DomainDef.from_xml(DOM))
    assert exc.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "volume 'a.qcow2' of pool 'imgs'" in exc.value.get_error_message()


def test_volume_users_names_running_domains_on_a_path(tmp_path: Path) -> None:
    resolved = peers.resolve_disks(FakeStorage(), DomainDef.from_xml(DOM))
    dom = types.SimpleNamespace(name="vm", uuid=b"u", active=True, live_def=None)
    off = types.SimpleNamespace(name="off", uuid=b"o", active=False, live_def=None)
    drv = types.SimpleNamespace(domains=[dom, off],
                                runtimes={b"u": types.SimpleNamespace(disk_def=resolved)})
    assert peers.volume_users(drv, "/pools/imgs/a.qcow2") == ["vm"]
    assert peers.volume_users(drv, "/img/b.raw") == ["vm"]
    assert peers.volume_users(drv, "/elsewhere") == []


@pytest.fixture
def fake_taps(monkeypatch):
    """attach/detach functions of the network package, recorded instead of run."""
    import pyvirt.drivers.network as netpkg

    made: list[str] = []
    removed: list[str] = []

    def attach_guest(name, mac, hint, network=None, want_fd=True):
        if name == "broken":
            raise RuntimeError("network 'broken' is not active")
        made.append(f"vnet{len(made)}")
        return made[-1], 100 + len(made), "virbr7"

    def attach_bridge(bridge, mac, hint, want_fd=True):
        made.append(hint or f"vnet{len(made)}")
        return made[-1], 100 + len(made), bridge

    monkeypatch.setattr(netpkg, "attach_guest_interface", attach_guest)
    monkeypatch.setattr(netpkg, "attach_bridge_interface", attach_bridge)
    monkeypatch.setattr(netpkg, "detach_guest_interface",
                        lambda tap, network=None: removed.append(tap))
    monkeypatch.setattr(peers, "close_fds", lambda fds: None)
    return made, removed


def test_taps_are_plugged_in_document_order_and_recorded(fake_taps) -> None:
    made, removed = fake_taps
    live = DomainDef.from_xml(DOM)
    taps, fds = peers.plug_interfaces(object(), live)
    assert taps == ["vnet0", "mytap"] and fds == [101, 102]
    nics = live.node.findall("devices/interface")
    assert nics[0].find("target").get("dev") == "vnet0"
    assert nics[0].find("source").get("bridge") == "virbr7"
    assert nics[1].find("target").get("dev") == "mytap"
    assert nics[2].find("target") is None                   # user networking: no tap
    assert peers.recorded_taps(live) == ["vnet0", "mytap"]
    peers.unplug_taps(None, taps)
    assert removed == ["vnet0", "mytap"]


def test_a_failed_plug_removes_only_the_taps_it_made(fake_taps) -> None:
    made, removed = fake_taps
    xml = DOM.replace("<source bridge='br0'/>\n  <target dev='mytap'/>",
                      "<source bridge='br0'/>")
    xml = xml.replace("</devices>", "<interface type='network'><source network='broken'/>"
                      "</interface></devices>")
    with pytest.raises(RuntimeError):
        peers.plug_interfaces(object(), DomainDef.from_xml(xml))
    assert removed == made == ["vnet0", "vnet1"]


def test_a_network_nic_without_a_network_driver_is_refused(fake_taps) -> None:
    with pytest.raises(libvirtError) as exc:
        peers.plug_interfaces(None, DomainDef.from_xml(DOM))
    assert "cannot use network 'nat'" in exc.value.get_error_message()


@pytest.mark.parametrize("path, root, env, want", [
    ("/embed", "/srv/r", {}, ("/srv/r/etc/network", "/srv/r/run/network")),
    ("/system", None, {}, ("/etc/pyvirt/network", "/run/pyvirt/network")),
    ("/session", None, {"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1"},
     ("/home/u/.config/pyvirt/network", "/run/user/1/pyvirt/network")),
])
def test_peer_dirs_per_uri(path, root, env, want) -> None:
    config, run = state_dir.peer_dirs_for_uri(path, root, "network", env=env)
    assert (str(config), str(run)) == want


def test_our_own_files_are_parsed_whole() -> None:
    xml = """<domain type='qemu'><name>vm</name><memory unit='MiB'>128</memory>
    <os><type arch='x86_64'>hvm</type></os><devices>
    <serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target>
    </serial><console type='pty' tty='/dev/pts/7'><target type='serial' port='0'/></console>
    </devices></domain>"""
    ours, warnings = parse_definition(xml, ours=True)
    assert warnings == []
    assert ours.node.find("devices/serial/target/model").get("name") == "isa-serial"
    _, warnings = parse_definition(xml)
    assert any("serial/target/model" in w for w in warnings)


def test_every_domain_gets_libvirts_implicit_audio() -> None:
    ddef, _ = parse_definition(DOM.replace("type='volume'", "type='file'"))
    audio = ddef.node.find("devices/audio")
    assert audio is not None and dict(audio.attrib) == {"id": "1", "type": "none"}
    again, _ = parse_definition(ddef.to_xml(), ours=True)
    assert len(again.node.findall("devices/audio")) == 1


# --- domifaddr ------------------------------------------------------------------------------
ARP = """IP address       HW type     Flags       HW address            Mask     Device
192.168.150.7    0x1         0x2         52:54:00:00:00:02     *        pvbr0
192.168.150.9    0x1         0x0         52:54:00:00:00:01     *        pvbr0
"""


def test_interface_addresses_from_the_arp_table() -> None:
    from pyvirt.drivers.qemu import ifaddr

    live = DomainDef.from_xml(DOM)
    assert ifaddr.from_arp(live, ARP) == {
        "mytap": {"hwaddr": "52:54:00:00:00:02",
                  "addrs": [{"addr": "192.168.150.7", "prefix": 0, "type": 0}]}}


def test_interface_addresses_from_leases_of_the_nics_network() -> None:
    from pyvirt.drivers.qemu import ifaddr

    class Net:
        def network_lookup_by_name(self, name):
            return ("ref", name)

        def network_get_dhcp_leases(self, ref, mac):
            assert ref == ("ref", "nat")
            return [{"ipaddr": "192.168.150.4", "prefix": 24, "type": 0, "mac": mac}]

    live = DomainDef.from_xml(DOM)
    from lxml import etree

    etree.SubElement(live.node.find("devices/interface"), "target", dev="vnet3")
    got = ifaddr.interface_addresses(live, ifaddr.SRC_LEASE, Net())
    assert got == {"vnet3": {"hwaddr": "52:54:00:00:00:01",
                             "addrs": [{"addr": "192.168.150.4", "prefix": 24, "type": 0}]}}


def test_interface_addresses_from_the_agent_are_refused() -> None:
    from pyvirt.drivers.qemu import ifaddr
    from pyvirt.errors import VIR_ERR_ARGUMENT_UNSUPPORTED

    with pytest.raises(libvirtError) as exc:
        ifaddr.interface_addresses(DomainDef.from_xml(DOM), ifaddr.SRC_AGENT, None)
    assert exc.value.get_error_code() == VIR_ERR_ARGUMENT_UNSUPPORTED


# --- interface statistics ----------------------------------------------------------------
def test_interface_stats_by_tap_or_mac_and_the_net_group(monkeypatch) -> None:
    from pyvirt.drivers.qemu import stats
    from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_UNSUPPORTED

    monkeypatch.setattr(stats, "_tap_counters",
                        lambda tap: [1, 2, 3, 4, 5, 6, 7, 8] if tap == "mytap" else None)
    live = DomainDef.from_xml(DOM)
    dom = types.SimpleNamespace(live_def=live)
    assert stats.interface_stats(dom, "mytap") == [1, 2, 3, 4, 5, 6, 7, 8]
    assert stats.interface_stats(dom, "52:54:00:00:00:02") == [1, 2, 3, 4, 5, 6, 7, 8]
    with pytest.raises(libvirtError) as exc:
        stats.interface_stats(dom, "nope0")
    assert exc.value.get_error_code() == VIR_ERR_INVALID_ARG
    with pytest.raises(libvirtError) as exc:            # the user-mode NIC has no tap
        stats.interface_stats(dom, "52:54:00:00:00:03")
    assert exc.value.get_error_code() == VIR_ERR_OPERATION_UNSUPPORTED
    rec = stats.net_record(live)
    assert rec["net.count"] == 3 and rec["net.1.name"] == "mytap"
    assert rec["net.1.rx.bytes"] == 1 and rec["net.1.tx.drop"] == 8
    assert "net.0.name" not in rec                      # not plugged yet: no tap name

"""A network's ``<bandwidth>`` over the fake host: set on the bridge as libvirt does
(hierarchical, swapped, the last start step), undone with everything else when
it fails; a guest NIC's bandwidth comes from its own element or its portgroup."""

from __future__ import annotations

import pytest
from lxml import etree

from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate
from pyvirt.drivers.network import guest_bandwidth
from pyvirt.errors import libvirtError

BW_NET = """<network><name>bw</name><forward mode='nat'/><bridge name='virbr7'/>
<bandwidth><inbound average='1000' peak='2000'/><outbound average='500'/></bandwidth>
<portgroup name='slow' default='yes'><bandwidth><inbound average='10'/></bandwidth></portgroup>
<portgroup name='fast'><bandwidth><inbound average='900'/></bandwidth></portgroup>
<portgroup name='plain'/>
<ip address='192.168.150.1' prefix='24'><dhcp><range start='192.168.150.2'
end='192.168.150.9'/></dhcp></ip></network>"""


def test_network_bandwidth_goes_on_the_bridge_last(netconn, fake_host):
    ref = netconn.network_create_xml(BW_NET, 0)
    rates, hierarchical, swapped = fake_host.links["virbr7"]["bandwidth"]
    assert rates == Bandwidth(Rate(average=1000, peak=2000), Rate(average=500))
    assert (hierarchical, swapped) == (True, True)
    assert [c[0] for c in fake_host.calls][-1] == "set_bandwidth"
    assert "<inbound average='1000' peak='2000'/>" in netconn.network_get_xml_desc(ref, 0)
    netconn.network_destroy(ref)
    assert not fake_host.links


def test_failed_bandwidth_undoes_the_whole_start(netconn, fake_host, netdirs):
    fake_host.fail_at = "set_bandwidth"
    with pytest.raises(libvirtError) as exc:
        netconn.network_create_xml(BW_NET, 0)
    assert "injected failure at set_bandwidth" in str(exc.value)
    assert not fake_host.links and not fake_host.chains and not fake_host.dnsmasqs
    assert ("clear_bandwidth", "virbr7") in fake_host.calls
    assert not (netdirs[1] / "bw.conf").exists()


def test_network_without_bandwidth_sets_none(netconn, fake_host):
    netconn.network_create_xml(BW_NET.replace(
        "<bandwidth><inbound average='1000' peak='2000'/><outbound average='500'/>"
        "</bandwidth>", ""), 0)
    assert "bandwidth" not in fake_host.links["virbr7"]
    assert ("set_bandwidth",) not in fake_host.calls


def _nic(xml: str):
    return etree.fromstring(xml)


def test_guest_bandwidth_own_then_portgroup(netconn):
    netconn.network_create_xml(BW_NET, 0)
    own = _nic("<interface type='network'><source network='bw' portgroup='fast'/>"
               "<bandwidth><outbound average='3'/></bandwidth></interface>")
    assert guest_bandwidth(own, network=netconn) == Bandwidth(None, Rate(average=3))
    named = _nic("<interface type='network'><source network='bw' portgroup='fast'/>"
                 "</interface>")
    assert guest_bandwidth(named, network=netconn) == Bandwidth(Rate(average=900), None)
    default = _nic("<interface type='network'><source network='bw'/></interface>")
    assert guest_bandwidth(default, network=netconn) == Bandwidth(Rate(average=10), None)
    plain = _nic("<interface type='network'><source network='bw' portgroup='plain'/>"
                 "</interface>")
    assert guest_bandwidth(plain, network=netconn) is None
    bridge = _nic("<interface type='bridge'><source bridge='br0'/></interface>")
    assert guest_bandwidth(bridge, network=netconn) is None


def test_floor_needs_inbound_qos_on_the_network(netconn):
    from pyvirt.drivers.network import bandwidth_guest_interface
    netconn.network_create_xml(BW_NET.replace(
        "<bandwidth><inbound average='1000' peak='2000'/><outbound average='500'/>"
        "</bandwidth>", "<bandwidth><outbound average='500'/></bandwidth>"), 0)
    nic = _nic("<interface type='network'><mac address='52:54:00:00:00:07'/>"
               "<source network='bw'/><bandwidth><inbound average='5' floor='2'/>"
               "</bandwidth></interface>")
    with pytest.raises(libvirtError) as exc:
        bandwidth_guest_interface(nic, "vnet0", network=netconn)
    assert str(exc.value) == ("Operation not supported: Invalid use of 'floor' on interface "
                              "with MAC address 52:54:00:00:00:07 - network 'bw' has no "
                              "inbound QoS set")


def test_floors_get_classes_and_lower_the_shared_rate(netconn, fake_host, netdirs):
    netconn.network_create_xml(BW_NET, 0)          # inbound average 1000, peak 2000
    tap1 = netconn.attach_guest_interface("bw", "52:54:00:00:00:01", None, want_fd=False)[0]
    tap2 = netconn.attach_guest_interface("bw", "52:54:00:00:00:02", None, want_fd=False)[0]
    netconn.plug_guest_floor("bw", tap1, "52:54:00:00:00:01", Rate(average=50, floor=300))
    netconn.plug_guest_floor("bw", tap2, "52:54:00:00:00:02", Rate(floor=700))
    bridge = fake_host.links["virbr7"]
    assert bridge["floors"] == {3: ("52:54:00:00:00:01", 300), 4: ("52:54:00:00:00:02", 700)}
    assert bridge["free_rate"] == 2000 - 1000       # peak less the floors (libvirt's rule)
    status = (netdirs[1] / "bw.xml").read_text()
    assert f"<port tap='{tap1}' mac='52:54:00:00:00:01' class='3' floor='300'/>" in status
    tap3 = netconn.attach_guest_interface("bw", "52:54:00:00:00:03", None, want_fd=False)[0]
    with pytest.raises(libvirtError) as exc:
        netconn.plug_guest_floor("bw", tap3, "52:54:00:00:00:03", Rate(floor=1001))
    assert str(exc.value) == ("Requested operation is not valid: Cannot plug "
                              "'52:54:00:00:00:03' interface into 'virbr7' because it would "
                              "overcommit 'peak' on network 'bw'")
    netconn.detach_guest_interface(tap1)
    assert ("floor_unplug", "virbr7", 3) in fake_host.calls
    assert bridge["free_rate"] == 2000 - 700
    tap4 = netconn.attach_guest_interface("bw", "52:54:00:00:00:04", None, want_fd=False)[0]
    netconn.plug_guest_floor("bw", tap4, "52:54:00:00:00:04", Rate(floor=1))
    assert 3 in bridge["floors"]                    # the lowest free class id again


def test_floor_state_survives_a_driver_restart(fake_host, netdirs):
    from pyvirt.drivers.network import close_state, open_network
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    conn.network_create_xml(BW_NET, 0)
    tap = conn.attach_guest_interface("bw", "52:54:00:00:00:01", None, want_fd=False)[0]
    conn.plug_guest_floor("bw", tap, "52:54:00:00:00:01", Rate(floor=300))
    close_state(*netdirs)                            # the daemon goes away, the host stays
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    conn.detach_guest_interface(tap)
    assert ("floor_unplug", "virbr7", 3) in fake_host.calls
    assert fake_host.links["virbr7"]["free_rate"] == 2000

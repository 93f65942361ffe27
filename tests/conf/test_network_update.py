"""libvirt's network section editor (virNetworkDefUpdateSection) on a NetworkDef."""

import pytest

from pyvirt.conf.network import NetworkDef
from pyvirt.conf.network_update import update_network
from pyvirt.errors import libvirtError

NET = ("<network><name>n</name><uuid>22222222-2222-3333-4444-555555555556</uuid>"
       "<forward mode='nat'/><ip address='10.0.0.1' prefix='24'><dhcp>"
       "<range start='10.0.0.2' end='10.0.0.9'/></dhcp></ip></network>")


def net():
    return NetworkDef.from_xml(NET).normalize()


def fail(ndef, *args):
    with pytest.raises(libvirtError) as info:
        update_network(ndef.node, "n", *args)
    return info.value


def test_hosts_go_after_ranges_first_or_last():
    ndef = net()
    update_network(ndef.node, "n", 3, 4, -1, "<host ip='10.0.0.5' name='b' mac='52:54:00:00:00:02'/>")
    update_network(ndef.node, "n", 4, 4, -1, "<host mac='52:54:00:00:00:01' ip='10.0.0.004'/>")
    xml = ndef.to_xml()
    assert ("<range start='10.0.0.2' end='10.0.0.9'/>\n"
            "      <host mac='52:54:00:00:00:01' ip='10.0.0.4'/>\n"
            "      <host mac='52:54:00:00:00:02' name='b' ip='10.0.0.5'/>") in xml


def test_delete_matches_every_given_attribute_and_drops_an_empty_dhcp():
    ndef = net()
    update_network(ndef.node, "n", 2, 5, -1, "<range start='10.0.0.2' end='10.0.0.9'/>")
    assert "<dhcp>" not in ndef.to_xml()
    e = fail(ndef, 2, 5, -1, "<range start='10.0.0.2' end='10.0.0.9'/>")
    assert str(e) == ("Requested operation is not valid: couldn't locate a matching dhcp "
                      "range entry in network 'n'")


def test_no_ip_element():
    ndef = NetworkDef.from_xml("<network><name>n</name></network>").normalize()
    e = fail(ndef, 3, 4, -1, "<host mac='52:54:00:00:00:01' ip='10.0.0.4'/>")
    assert str(e) == ("Requested operation is not valid: couldn't update dhcp host entry - "
                      "no <ip> element found in network 'n'")
    e = fail(ndef, 3, 4, 2, "<bogus/>")          # a wrong element wins over a wrong index
    assert e.get_error_code() == 27


def test_dns_srv_and_forward_interfaces():
    ndef = net()
    update_network(ndef.node, "n", 3, 12, -1,
                   "<srv service='sip' protocol='tcp' target='a.b' port='5060'/>")
    e = fail(ndef, 3, 12, -1, "<srv service='sip' protocol='tcp'/>")
    assert "at least one DNS SRV record matching all specified fields" in str(e)
    update_network(ndef.node, "n", 3, 7, -1, "<interface dev='eth1'/>")
    update_network(ndef.node, "n", 4, 7, -1, "<interface dev='eth0'/>")
    assert "<forward dev='eth0' mode='nat'>" in ndef.to_xml()
    update_network(ndef.node, "n", 2, 7, -1, "<interface dev='eth0'/>")
    assert "<forward dev='eth1' mode='nat'>" in ndef.to_xml()

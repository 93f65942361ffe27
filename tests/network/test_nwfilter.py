"""nwfilter's clean-traffic rules (pure), and installing them in a namespace."""

import json
import shutil

import pytest
from lxml import etree

from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_ERR_NO_NWFILTER, VIR_FROM_NWFILTER, libvirtError
from pyvirt.network import nwfilter
from pyvirt.network.netns import netns_supported, run_in_new_netns

MAC = "52:54:00:aa:bb:01"


def test_clean_traffic_rules_in_order():
    port = nwfilter.make_port_filter("vnet0", MAC.upper(), ips=["192.168.1.10"])
    assert port.mac == MAC and port.chain == "nwf_vnet0"
    assert nwfilter.port_rules(port) == [
        'iifname != "vnet0" return',
        f'ether saddr != {MAC} counter drop comment "no-mac-spoofing"',
        f'ether type arp arp saddr ether != {MAC} counter drop comment "no-arp-mac-spoofing"',
        'ether type arp arp saddr ip != { 192.168.1.10, 0.0.0.0 } counter drop '
        'comment "no-arp-ip-spoofing"',
        'ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 '
        'accept',
        'ether type ip ip saddr != { 192.168.1.10 } counter drop comment "no-ip-spoofing"',
        'ether type { ip, arp } return',
        'counter drop comment "no-other-l2-traffic"',
    ]


def test_without_ip_and_single_filters():
    no_ip = nwfilter.port_rules(nwfilter.make_port_filter("t", MAC))
    assert not any("ip saddr !=" in r or "saddr ip" in r for r in no_ip)
    mac_only = nwfilter.port_rules(nwfilter.make_port_filter("t", MAC, "no-mac-spoofing"))
    assert len(mac_only) == 2 and "no-mac-spoofing" in mac_only[1]


def test_script_and_removal():
    script = nwfilter.add_script(nwfilter.make_port_filter("vnet1", MAC, ips=["10.0.0.2"]))
    lines = script.splitlines()
    assert lines[0] == "add table bridge pyvirt"
    assert "type filter hook prerouting priority -200" in lines[1]
    assert lines[2] == "flush chain bridge pyvirt nwf_vnet1"
    assert all(l.startswith("add rule bridge pyvirt nwf_vnet1 ") for l in lines[3:])
    assert nwfilter.removal_script(["vnet1"], {"nwf_vnet1"}) == "delete table bridge pyvirt\n"
    assert nwfilter.removal_script(["vnet1"], {"nwf_vnet1", "nwf_vnet2"}) == \
        "delete chain bridge pyvirt nwf_vnet1\n"
    assert nwfilter.removal_script(["gone"], {"nwf_vnet2"}) == ""


@pytest.mark.parametrize("args", [
    ("vnet0", "52:54:00:zz:00:01"), ("bad name!", MAC), ("x" * 16, MAC),
    ("vnet0", MAC, "clean-traffic", ["300.1.1.1"]), ("vnet0", MAC, "clean-traffic", ["fe80::1"]),
])
def test_bad_arguments(args):
    with pytest.raises(libvirtError) as info:
        nwfilter.make_port_filter(*args)
    assert info.value.get_error_code() == VIR_ERR_INVALID_ARG


def test_unknown_filter():
    with pytest.raises(libvirtError) as info:
        nwfilter.make_port_filter("vnet0", MAC, "allow-everything")
    assert info.value.get_error_code() == VIR_ERR_NO_NWFILTER
    assert info.value.get_error_domain() == VIR_FROM_NWFILTER
    assert "allow-everything" in str(info.value)


def test_filterref_of():
    nic = etree.fromstring(f"<interface type='network'><mac address='{MAC}'/>"
                           "<filterref filter='clean-traffic'><parameter name='IP' "
                           "value='10.0.0.5'/><parameter name='CTRL_IP_LEARNING' value='none'/>"
                           "</filterref></interface>")
    assert nwfilter.filterref_of(nic) == ("clean-traffic", ["10.0.0.5"])
    assert nwfilter.filterref_of(etree.fromstring("<interface/>")) is None


def test_parse_counters():
    listing = json.dumps({"nftables": [
        {"metainfo": {}}, {"chain": {"name": "nwf_t"}},
        {"rule": {"expr": [{"match": {}}]}},
        {"rule": {"comment": "no-mac-spoofing", "expr": [{"counter": {"packets": 3,
                                                                    "bytes": 100}},
                                                        {"drop": None}]}}]})
    assert nwfilter.parse_counters(listing) == {"no-mac-spoofing": 3}


needs_ns = pytest.mark.skipif(not (netns_supported() and shutil.which("nft")),
                              reason="needs root, network namespaces and nft")


def _install_bind_remove():
    import subprocess

    subprocess.run("ip link add br0 type bridge && ip link add vnet0 type veth peer name p0 "
                   "&& ip link set vnet0 master br0", shell=True, check=True)
    nic = etree.fromstring(f"<interface type='bridge'><mac address='{MAC}'/>"
                           "<filterref filter='clean-traffic'><parameter name='IP' "
                           "value='10.9.0.5'/></filterref></interface>")
    port = nwfilter.bind_interface(nic, "vnet0", ips=["10.9.0.6"])
    chains = nwfilter.our_chains()
    counters = nwfilter.port_counters("vnet0")
    nwfilter.add_port(port)                     # again: replaces, never doubles
    rules = subprocess.run(["nft", "list", "chain", "bridge", "pyvirt", "nwf_vnet0"],
                           capture_output=True, text=True, check=True).stdout
    nwfilter.remove_ports_quietly(["vnet0", "never-there"])
    return port.ips, chains, counters, rules.count("counter"), nwfilter.our_chains()


@needs_ns
def test_install_and_remove_in_a_namespace():
    ips, chains, counters, n_counters, after = run_in_new_netns(_install_bind_remove)
    assert ips == ("10.9.0.5", "10.9.0.6")
    assert chains == {"nwf_vnet0"}
    assert counters == {"no-mac-spoofing": 0, "no-arp-mac-spoofing": 0,
                        "no-arp-ip-spoofing": 0, "no-ip-spoofing": 0, "no-other-l2-traffic": 0}
    assert n_counters == 5 and after == set()


def test_static_ips_of_a_network():
    from types import SimpleNamespace

    from pyvirt.conf.network import NetworkDef
    from pyvirt.drivers.network.guests import static_ips

    net = SimpleNamespace(definition=NetworkDef.from_xml(
        "<network><name>n</name><ip address='10.1.0.1' netmask='255.255.255.0'><dhcp>"
        f"<host mac='{MAC.upper()}' ip='10.1.0.7'/><host mac='52:54:00:00:00:09' ip='10.1.0.9'/>"
        "</dhcp></ip></network>"))
    assert static_ips(net, MAC) == ["10.1.0.7"]
    assert static_ips(net, "52:54:00:00:00:99") == []


def test_filter_guest_interface_without_filterref_does_nothing():
    from pyvirt.drivers.network import filter_guest_interface

    nic = etree.fromstring(f"<interface type='network'><mac address='{MAC}'/></interface>")
    assert filter_guest_interface(nic, "vnet0") is None


def _filter_bridge_nic():
    import subprocess

    from pyvirt.drivers.network import detach_guest_interface, filter_guest_interface

    subprocess.run("ip link add br0 type bridge && ip link add vnet7 type veth peer name p7 "
                   "&& ip link set vnet7 master br0", shell=True, check=True)
    nic = etree.fromstring(f"<interface type='bridge'><mac address='{MAC}'/><source "
                           "bridge='br0'/><filterref filter='clean-traffic'/></interface>")
    port = filter_guest_interface(nic, "vnet7")
    chains = nwfilter.our_chains()
    detach_guest_interface("vnet7")
    return port.ips, chains, nwfilter.our_chains()


@needs_ns
def test_filter_guest_interface_and_detach_in_a_namespace():
    ips, chains, after = run_in_new_netns(_filter_bridge_nic)
    assert ips == () and chains == {"nwf_vnet7"} and after == set()

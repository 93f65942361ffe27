"""nftables rule text for each forward mode (pure, no nft run)."""

from __future__ import annotations

import ipaddress

from pyvirt.network import firewall
from pyvirt.network.firewall import FirewallPlan

SUBNET = (ipaddress.ip_network("192.168.122.0/24"),)


def test_nat_rules():
    plan = FirewallPlan("virbr0", "nat", SUBNET)
    script = firewall.network_rules(plan)
    assert script.splitlines() == [
        "add table inet pyvirt",
        "add chain inet pyvirt fwd_virbr0 { type filter hook forward priority 0; "
        "policy accept; }",
        "flush chain inet pyvirt fwd_virbr0",
        'add rule inet pyvirt fwd_virbr0 iifname "virbr0" oifname "virbr0" accept',
        'add rule inet pyvirt fwd_virbr0 iifname "virbr0" ip saddr 192.168.122.0/24 accept',
        'add rule inet pyvirt fwd_virbr0 oifname "virbr0" ip daddr 192.168.122.0/24 '
        "ct state related,established accept",
        'add rule inet pyvirt fwd_virbr0 iifname "virbr0" reject',
        'add rule inet pyvirt fwd_virbr0 oifname "virbr0" reject',
        "add chain inet pyvirt nat_virbr0 { type nat hook postrouting priority 100; "
        "policy accept; }",
        "flush chain inet pyvirt nat_virbr0",
        "add rule inet pyvirt nat_virbr0 ip saddr 192.168.122.0/24 ip daddr 224.0.0.0/24 return",
        "add rule inet pyvirt nat_virbr0 ip saddr 192.168.122.0/24 ip daddr 255.255.255.255 "
        "return",
        "add rule inet pyvirt nat_virbr0 ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 "
        "meta l4proto tcp masquerade to :1024-65535",
        "add rule inet pyvirt nat_virbr0 ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 "
        "meta l4proto udp masquerade to :1024-65535",
        "add rule inet pyvirt nat_virbr0 ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 "
        "masquerade",
    ]
    assert plan.chain_names() == ("fwd_virbr0", "nat_virbr0")


def test_nat_with_dev_address_and_port_range():
    plan = FirewallPlan("virbr0", "nat", SUBNET, forward_dev="eth0",
                        nat_addresses=("203.0.113.10", "203.0.113.20"), nat_ports=(2000, 3000))
    rules = firewall.nat_rules(plan)
    assert rules[2] == ('ip saddr 192.168.122.0/24 oifname "eth0" ip daddr != 192.168.122.0/24'
                        " meta l4proto tcp snat ip to 203.0.113.10-203.0.113.20:2000-3000")
    assert rules[4].endswith("snat ip to 203.0.113.10-203.0.113.20")
    assert 'iifname "virbr0" oifname "eth0" ip saddr 192.168.122.0/24 accept' in \
        firewall.forward_rules(plan)


def test_route_allows_both_ways_without_conntrack():
    rules = firewall.forward_rules(FirewallPlan("virbr1", "route", SUBNET))
    assert 'oifname "virbr1" ip daddr 192.168.122.0/24 accept' in rules
    assert "nat_" not in firewall.network_rules(FirewallPlan("virbr1", "route", SUBNET))


def test_isolated_only_lets_ports_talk_to_each_other():
    plan = FirewallPlan("virbr2", "none", SUBNET)
    assert firewall.forward_rules(plan) == ['iifname "virbr2" oifname "virbr2" accept',
                                            'iifname "virbr2" reject',
                                            'oifname "virbr2" reject']
    assert plan.chain_names() == ("fwd_virbr2",)


def test_open_has_no_rules():
    plan = FirewallPlan("virbr3", "open", SUBNET)
    assert firewall.network_rules(plan) == "" and plan.chain_names() == ()


def test_ipv6_routed_unless_nat_ipv6():
    v6 = (ipaddress.ip_network("fd00::/64"),)
    plan = FirewallPlan("virbr0", "nat", v6)
    assert firewall.nat_rules(plan) == []
    assert 'oifname "virbr0" ip6 daddr fd00::/64 accept' in firewall.forward_rules(plan)
    nat6 = FirewallPlan("virbr0", "nat", v6, nat_ipv6=True)
    assert firewall.nat_rules(nat6)[-1] == "ip6 saddr fd00::/64 ip6 daddr != fd00::/64 masquerade"


def test_removal_script_keeps_other_chains_and_drops_empty_table():
    assert firewall.removal_script(("fwd_a", "nat_a"), {"fwd_a", "nat_a", "fwd_b"}) == \
        "delete chain inet pyvirt fwd_a\ndelete chain inet pyvirt nat_a\n"
    assert firewall.removal_script(("fwd_a", "nat_a"), {"fwd_a", "nat_a"}) == \
        "delete table inet pyvirt\n"
    assert firewall.removal_script(("fwd_a",), set()) == ""

"""Per-interface traffic filters in the spirit of libvirt's nwfilter, on nftables.

A guest NIC with ``<filterref filter='clean-traffic'/>`` gets a base chain of
its own, ``nwf_<tap>``, in our bridge-family table (``bridge pyvirt``), hooked
at ``prerouting``: it sees every frame that enters the bridge from the guest's
port, whether the frame is forwarded to another port or goes to the host. The
rules follow libvirt's ``clean-traffic`` filter::

    no-mac-spoofing      ether saddr must be the NIC's MAC
    no-arp-spoofing      ARP sender MAC = the NIC's MAC, sender IP = its IP (or 0.0.0.0)
    allow-dhcp           0.0.0.0:68 -> :67 may go out before the guest has an address
    no-ip-spoofing       IPv4 source must be one of the guest's IPs
    no-other-l2-traffic  everything that is neither IPv4 nor ARP is dropped

Each drop rule carries a counter and a comment naming the rule it stands for
(:func:`port_counters` reads them back). The guest's IPs come from the
filterref's ``<parameter name='IP' value='…'/>`` entries, or from the caller (a
network's static DHCP lease); with none known, IP checks are left out (libvirt
would learn the address; we do not sniff traffic). The rules are built as text
(:func:`port_rules`, pure) and applied with ``nft -f`` in one transaction.

``<port isolated='yes'/>`` needs no nftables: it is the bridge port flag
(:func:`pyvirt.network.bridge.set_port_isolated`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_NO_NWFILTER, VIR_FROM_NWFILTER, error,
)
from pyvirt.network import firewall

log = logging.getLogger(__name__)
TABLE = "pyvirt"
FAMILY = "bridge"
CHAIN_PREFIX = "nwf_"
#: the filters we implement, each as the set of rule groups it turns on
FILTERS: dict[str, frozenset[str]] = {
    "clean-traffic": frozenset({"no-mac-spoofing", "no-arp-spoofing", "no-ip-spoofing",
                                "no-other-l2-traffic"}),
    "no-mac-spoofing": frozenset({"no-mac-spoofing"}),
    "no-arp-spoofing": frozenset({"no-arp-spoofing"}),
    "no-ip-spoofing": frozenset({"no-ip-spoofing"}),
    "no-other-l2-traffic": frozenset({"no-other-l2-traffic"}),
}
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")


@dataclass(frozen=True)
class PortFilter:
    """One guest port's filter: which tap, which filter, the guest's MAC and IPs."""

    tap: str
    mac: str
    filter: str = "clean-traffic"
    ips: tuple[str, ...] = ()

    @property
    def chain(self) -> str:
        return chain_name(self.tap)

    def groups(self) -> frozenset[str]:
        return FILTERS[self.filter]


def chain_name(tap: str) -> str:
    return f"{CHAIN_PREFIX}{tap}"


def check_filter(name: str | None) -> str:
    """The filter's name if we implement it, else libvirt's 'no nwfilter' error."""
    if name not in FILTERS:
        raise error(VIR_ERR_NO_NWFILTER, f"no nwfilter with matching name '{name}'",
                    domain=VIR_FROM_NWFILTER)
    return name


def make_port_filter(tap: str, mac: str, filter_name: str = "clean-traffic",
                     ips: tuple[str, ...] | list[str] = ()) -> PortFilter:
    """A checked :class:`PortFilter` (names and addresses validated, IPv4 only)."""
    check_filter(filter_name)
    if not _IFNAME.match(tap or ""):
        raise error(VIR_ERR_INVALID_ARG, f"invalid interface name '{tap}'",
                    domain=VIR_FROM_NWFILTER)
    mac_l = (mac or "").lower()
    if not _MAC.match(mac_l):
        raise error(VIR_ERR_INVALID_ARG, f"invalid MAC address '{mac}'",
                    domain=VIR_FROM_NWFILTER)
    checked = []
    for ip in ips:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError as err:
            raise error(VIR_ERR_INVALID_ARG, f"invalid IP address '{ip}' in filter parameter",
                        domain=VIR_FROM_NWFILTER) from err
        if addr.version != 4:
            raise error(VIR_ERR_INVALID_ARG, f"filter parameter IP '{ip}' is not IPv4",
                        domain=VIR_FROM_NWFILTER)
        if str(addr) not in checked:
            checked.append(str(addr))
    return PortFilter(tap=tap, mac=mac_l, filter=filter_name, ips=tuple(checked))


def filterref_of(nic: Any) -> tuple[str, list[str]] | None:
    """(filter name, IP parameters) of an ``<interface>`` lxml element, or None."""
    ref = nic.find("filterref")
    if ref is None:
        return None
    ips = [p.get("value") for p in ref.findall("parameter")
           if p.get("name") == "IP" and p.get("value")]
    return ref.get("filter"), ips


# --- rules (pure) --------------------------------------------------------------------
def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def _counted(rule: str, why: str) -> str:
    return f"{rule} counter drop comment {_q(why)}"


def port_rules(port: PortFilter) -> list[str]:
    """The rules of the port's chain, in order."""
    groups = port.groups()
    rules = [f"iifname != {_q(port.tap)} return"]
    if "no-mac-spoofing" in groups:
        rules.append(_counted(f"ether saddr != {port.mac}", "no-mac-spoofing"))
    if "no-arp-spoofing" in groups:
        rules.append(_counted(f"ether type arp arp saddr ether != {port.mac}",
                              "no-arp-mac-spoofing"))
        if port.ips:
            allowed = ", ".join((*port.ips, "0.0.0.0"))
            rules.append(_counted(f"ether type arp arp saddr ip != {{ {allowed} }}",
                                  "no-arp-ip-spoofing"))
    if "no-ip-spoofing" in groups:
        rules.append("ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 "
                     "udp sport 68 udp dport 67 accept")
        if port.ips:
            rules.append(_counted(f"ether type ip ip saddr != {{ {', '.join(port.ips)} }}",
                                  "no-ip-spoofing"))
    if "no-other-l2-traffic" in groups:
        rules.append("ether type { ip, arp } return")
        rules.append(_counted("", "no-other-l2-traffic").lstrip())
    return rules


def add_script(port: PortFilter) -> str:
    """An ``nft -f`` script (re)creating the port's chain with its rules."""
    where = f"{FAMILY} {TABLE}"
    lines = [f"add table {where}",
             f"add chain {where} {port.chain} {{ type filter hook prerouting priority -200; "
             "policy accept; }",
             f"flush chain {where} {port.chain}"]
    lines += [f"add rule {where} {port.chain} {rule}" for rule in port_rules(port)]
    return "\n".join(lines) + "\n"


def removal_script(taps: list[str] | tuple[str, ...], existing: set[str]) -> str:
    """Delete the chains of these taps that exist; the table once none is left."""
    gone = [chain_name(t) for t in taps if chain_name(t) in existing]
    if not gone:
        return ""
    if not existing - set(gone):
        return f"delete table {FAMILY} {TABLE}\n"
    return "".join(f"delete chain {FAMILY} {TABLE} {c}\n" for c in gone)


def parse_counters(listing: str) -> dict[str, int]:
    """{comment: packets} of the counted rules in ``nft -j list chain`` output."""
    found: dict[str, int] = {}
    for item in json.loads(listing or "{}").get("nftables", []):
        rule = item.get("rule")
        if not rule or "comment" not in rule:
            continue
        for expr in rule.get("expr", []):
            if "counter" in expr:
                found[rule["comment"]] = found.get(rule["comment"], 0) + \
                    int(expr["counter"].get("packets", 0))
    return found


# --- applying (the I/O edge) -----------------------------------------------------------
def our_chains() -> set[str]:
    """The chains of our bridge table (empty when it does not exist)."""
    if not firewall.nft_available():
        return set()
    res = firewall._run_nft(["-j", "list", "table", FAMILY, TABLE])
    if res.returncode != 0:
        return set()
    return {item["chain"]["name"] for item in json.loads(res.stdout).get("nftables", [])
            if "chain" in item}


def add_port(port: PortFilter) -> None:
    """Install (or replace) the port's filter."""
    firewall.apply(add_script(port))


def remove_ports(taps: list[str] | tuple[str, ...]) -> None:
    """Remove the filters of these taps (absent ones are fine)."""
    if not taps:
        return
    script = removal_script(taps, our_chains())
    if script:
        firewall.apply(script)


def remove_ports_quietly(taps: list[str] | tuple[str, ...]) -> None:
    """:func:`remove_ports` for stop paths: logs instead of raising, and does
    nothing when nft is missing."""
    if not taps or not firewall.nft_available():
        return
    try:
        remove_ports(taps)
    except Exception as err:  # noqa: BLE001 - a stop must go on
        log.warning("cannot remove the traffic filter of %s: %s", ", ".join(taps), err)


def port_counters(tap: str) -> dict[str, int]:
    """Dropped packets per rule (``no-mac-spoofing``…) of the tap's filter."""
    res = firewall._run_nft(["-j", "list", "chain", FAMILY, TABLE, chain_name(tap)])
    if res.returncode != 0:
        return {}
    return parse_counters(res.stdout)


def bind_interface(nic: Any, tap: str, *, ips: tuple[str, ...] | list[str] = ()) -> \
        PortFilter | None:
    """Filter the tap of an ``<interface>`` element as its ``<filterref>`` asks.

    ``ips`` adds addresses known elsewhere (the network's static lease for the
    NIC's MAC) to the filterref's own ``IP`` parameters. None when the NIC has
    no filterref; the installed filter otherwise."""
    ref = filterref_of(nic)
    if ref is None:
        return None
    name, params = ref
    mac_el = nic.find("mac")
    mac = mac_el.get("address") if mac_el is not None else ""
    port = make_port_filter(tap, mac, check_filter(name), [*params, *ips])
    add_port(port)
    return port

"""virNetworkUpdate on a network definition: DHCP hosts and ranges, as libvirt edits them.

Commands: MODIFY 1, DELETE 2, ADD_LAST 3, ADD_FIRST 4. Sections handled:
IP_DHCP_HOST 4, IP_DHCP_RANGE 5, DNS_HOST 10; the others answer
VIR_ERR_NO_SUPPORT. Works on the element tree only (no I/O).
"""

from __future__ import annotations

import copy

from lxml import etree

from pyvirt.conf.xmlbuilder import parse_xml
from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_INVALID, VIR_FROM_NETWORK, error,
)

MODIFY, DELETE, ADD_LAST, ADD_FIRST = 1, 2, 3, 4
SECTION_NAMES = {1: "bridge", 2: "domain", 3: "ip", 4: "ip-dhcp-host", 5: "ip-dhcp-range",
                 6: "forward", 7: "forward-interface", 8: "forward-pf", 9: "portgroup",
                 10: "dns-host", 11: "dns-txt", 12: "dns-srv"}
_KEYS = {4: ("mac", "name", "ip"), 5: ("start", "end"), 10: ("ip",)}
_WHAT = {4: "dhcp host", 5: "dhcp range", 10: "dns host"}


def _ip_element(net: etree._Element, parent_index: int) -> etree._Element:
    ips = net.findall("ip")
    if parent_index >= 0:
        if parent_index >= len(ips):
            raise error(VIR_ERR_OPERATION_INVALID, "couldn't update dhcp host entry - no <ip> "
                        f"element found at index {parent_index} in network", domain=VIR_FROM_NETWORK)
        return ips[parent_index]
    for ip in ips:
        if ip.find("dhcp") is not None or ip.get("family", "ipv4") == "ipv4":
            return ip
    raise error(VIR_ERR_OPERATION_INVALID, "can't update section of network: no IPv4 "
                "<ip> element", domain=VIR_FROM_NETWORK)


def _container(net: etree._Element, section: int, parent_index: int) -> etree._Element:
    if section == 10:
        dns = net.find("dns")
        if dns is None:
            dns = etree.SubElement(net, "dns")
        return dns
    ip = _ip_element(net, parent_index)
    dhcp = ip.find("dhcp")
    if dhcp is None:
        dhcp = etree.SubElement(ip, "dhcp")
    return dhcp


def _key(el: etree._Element, section: int) -> tuple:
    return tuple(el.get(attr) for attr in _KEYS[section])


def _describe(el: etree._Element, section: int) -> str:
    attrs = " ".join(f"{a}='{el.get(a) if el.get(a) is not None else '(null)'}'"
                     for a in _KEYS[section])
    return f"<{el.tag} {attrs}/>"


def update_network(net: etree._Element, net_name: str, command: int, section: int,
                   parent_index: int, xml: str) -> None:
    """Apply one virNetworkUpdate to the ``<network>`` element ``net`` in place."""
    if section not in _KEYS:
        raise error(VIR_ERR_NO_SUPPORT, f"can't update '{SECTION_NAMES.get(section, section)}' "
                    f"section of network '{net_name}'", domain=VIR_FROM_NETWORK)
    if command not in (MODIFY, DELETE, ADD_LAST, ADD_FIRST):
        raise error(VIR_ERR_INVALID_ARG, f"unrecognized network update command code {command}",
                    domain=VIR_FROM_NETWORK)
    item = parse_xml(xml, "(network_update_xml)")
    tag = {4: "host", 5: "range", 10: "host"}[section]
    if item.tag != tag:
        raise error(VIR_ERR_INVALID_ARG, f"can't update '{tag}' section of network "
                    f"'{net_name}' - unrecognized element <{item.tag}>", domain=VIR_FROM_NETWORK)
    parent = _container(net, section, parent_index)
    existing = [el for el in parent.findall(tag)]
    what = _WHAT[section]
    if command == MODIFY:
        ident = 0 if section == 4 and item.get("mac") else (1 if section == 4 else 0)
        match = [el for el in existing if _key(el, section)[ident] == _key(item, section)[ident]]
        if not match:
            raise error(VIR_ERR_OPERATION_INVALID, f"couldn't locate an existing {what} entry "
                        f"with \"{_KEYS[section][ident]}='{_key(item, section)[ident]}'\" "
                        f"in network '{net_name}'", domain=VIR_FROM_NETWORK)
        parent.replace(match[0], copy.deepcopy(item))
        return
    exact = [el for el in existing if _key(el, section) == _key(item, section)]
    if command == DELETE:
        if not exact:
            raise error(VIR_ERR_OPERATION_INVALID, f"couldn't locate a matching {what} entry "
                        f"in network '{net_name}'", domain=VIR_FROM_NETWORK)
        parent.remove(exact[0])
        return
    clash = [el for el in existing
             if any(a is not None and a == b for a, b in zip(_key(el, section),
                                                            _key(item, section)))]
    if clash:
        raise error(VIR_ERR_OPERATION_INVALID, f"there is an existing {what} entry in network "
                    f"'{net_name}' that matches \"{_describe(item, section)}\"",
                    domain=VIR_FROM_NETWORK)
    new = copy.deepcopy(item)
    new.tail = None
    if command == ADD_FIRST and existing:
        existing[0].addprevious(new)
    elif existing:
        existing[-1].addnext(new)
    else:
        parent.append(new)

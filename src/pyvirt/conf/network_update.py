"""virNetworkUpdate on a ``<network>`` element: libvirt's virNetworkDefUpdateSection.

One function, :func:`update_network`, edits the element tree in place the way
libvirt 9.0 edits its network definition, with its checks, messages and codes:

======  =====================  ==================================================
number  section                what libvirt does
======  =====================  ==================================================
1, 2,   bridge, domain, ip,    VIR_ERR_OPERATION_UNSUPPORTED "can't update '…'
3, 6, 8 forward, forward pf    section of network '…'"
4       ip-dhcp-host           modify / delete / add-first / add-last
5       ip-dhcp-range          delete / add (ranges cannot be modified)
7       forward-interface      delete / add
9       portgroup              modify / delete / add (one default only)
10      dns-host               delete / add
11      dns-txt                delete / add
12      dns-srv                delete / add
======  =====================  ==================================================

Commands: MODIFY 1, DELETE 2, ADD_LAST 3, ADD_FIRST 4. Shared by every network
driver (test and bridge); no I/O.
"""

from __future__ import annotations

import copy
import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable

from lxml import etree

from pyvirt.conf.network import NETWORK_SHAPE, insert_by_shape, shape_normalize_order
from pyvirt.conf.xmlbuilder import parse_xml
from pyvirt.errors import (
    VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_UNSUPPORTED, VIR_ERR_XML_DETAIL,
    VIR_ERR_XML_ERROR, VIR_FROM_NETWORK, error, libvirtError,
)

MODIFY, DELETE, ADD_LAST, ADD_FIRST = 1, 2, 3, 4
SECTION_NAMES = {1: "bridge", 2: "domain", 3: "ip", 4: "ip-dhcp-host", 5: "ip-dhcp-range",
                 6: "forward", 7: "forward-interface", 8: "forward-pf", 9: "portgroup",
                 10: "dns-host", 11: "dns-txt", 12: "dns-srv"}

_IP_SHAPE = NETWORK_SHAPE.children["ip"]
_DHCP_SHAPE = _IP_SHAPE.children["dhcp"]
_DNS_SHAPE = NETWORK_SHAPE.children["dns"]
_FORWARD_SHAPE = NETWORK_SHAPE.children["forward"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _fail(code: int, detail: str) -> libvirtError:
    return error(code, detail, domain=VIR_FROM_NETWORK)


def _ip(text: str | None) -> IPAddress | None:
    """An address as libvirt's getaddrinfo-based parser reads it, or None."""
    if text is None:
        return None
    text = text.strip()
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if not text or ":" in text:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def _mac_bytes(text: str | None) -> bytes | None:
    parts = (text or "").split(":")
    if len(parts) != 6:
        return None
    try:
        values = bytes(int(p, 16) for p in parts if len(p) in (1, 2))
    except ValueError:
        return None
    return values if len(values) == 6 else None


def _nul(value: str | None) -> str:
    """What libvirt's printf shows for a string that may be NULL."""
    return "(null)" if value is None else value


@dataclass
class _Update:
    """One virNetworkUpdate call: the network element and the parsed item."""

    net: etree._Element
    name: str
    command: int
    parent_index: int
    item: etree._Element

    @property
    def adding(self) -> bool:
        return self.command in (ADD_FIRST, ADD_LAST)

    def unsupported(self, section: str) -> libvirtError:
        return _fail(VIR_ERR_OPERATION_UNSUPPORTED,
                     f"can't update '{section}' section of network '{self.name}'")

    def unknown_command(self) -> libvirtError:
        return _fail(VIR_ERR_OPERATION_UNSUPPORTED,
                     f"unrecognized network update command code {self.command}")

    def expect(self, tag: str) -> None:
        if self.item.tag != tag:
            raise _fail(VIR_ERR_XML_ERROR, f"unexpected element <{self.item.tag}>, expecting "
                        f"<{tag}>, while updating network '{self.name}'")

    def new_item(self) -> etree._Element:
        new = copy.deepcopy(self.item)
        new.tail = None
        return new


def _insert(items: list[etree._Element], parent: etree._Element, new: etree._Element,
            first: bool, shape) -> None:  # noqa: ANN001 - a conf.network Shape
    """Put ``new`` first or last among ``items`` (its kind under ``parent``)."""
    if items and first:
        items[0].addprevious(new)
    elif items:
        items[-1].addnext(new)
    else:
        insert_by_shape(parent, new, shape)


# --- <ip> selection -------------------------------------------------------------------
def _family(ip_el: etree._Element) -> int:
    if ip_el.get("family") == "ipv6":
        return 6
    addr = _ip(ip_el.get("address"))
    return addr.version if addr is not None else 4


def _ips(net: etree._Element, family: int | None = None) -> list[etree._Element]:
    return [ip for ip in net.findall("ip") if family is None or _family(ip) == family]


def _has_dhcp(ip_el: etree._Element) -> bool:
    return ip_el.find("dhcp/range") is not None or ip_el.find("dhcp/host") is not None


def _ip_by_index(up: _Update) -> tuple[etree._Element | None, libvirtError | None]:
    """virNetworkIPDefByIndex: the <ip> to edit, or the error libvirt records."""
    ips = _ips(up.net)
    if up.parent_index >= 0:
        if up.parent_index < len(ips):
            return ips[up.parent_index], None
        return None, _fail(VIR_ERR_OPERATION_INVALID, "couldn't update dhcp host entry - no "
                           f"<ip> element found at index {up.parent_index} in network "
                           f"'{up.name}'")
    for ip_el in ips:
        if _has_dhcp(ip_el):
            return ip_el, None
    for family in (4, 6):
        if _ips(up.net, family):
            return _ips(up.net, family)[0], None
    return None, _fail(VIR_ERR_OPERATION_INVALID,
                       f"couldn't update dhcp host entry - no <ip> element found in network "
                       f"'{up.name}'")


def _target_ip(up: _Update, tag: str) -> etree._Element:
    ip_el, problem = _ip_by_index(up)
    up.expect(tag)          # libvirt reports a wrong element over a wrong index
    if ip_el is None:
        raise problem
    return ip_el


def _check_single_dhcp(up: _Update, ip_el: etree._Element) -> None:
    family = _family(ip_el)
    for other in _ips(up.net, family):
        if other is not ip_el and _has_dhcp(other):
            raise _fail(VIR_ERR_OPERATION_INVALID, "dhcp is supported only for a single "
                        f"{'IPv4' if family == 4 else 'IPv6'} address on each network")


def _dhcp(ip_el: etree._Element) -> etree._Element:
    dhcp = ip_el.find("dhcp")
    if dhcp is None:
        dhcp = etree.Element("dhcp")
        insert_by_shape(ip_el, dhcp, _IP_SHAPE)
    return dhcp


def _drop_if_empty(el: etree._Element) -> None:
    if not len(el) and not el.attrib and el.getparent() is not None:
        el.getparent().remove(el)


# --- ip-dhcp-host -----------------------------------------------------------------------
@dataclass
class _DhcpHost:
    mac: str | None
    name: str | None
    ip: IPAddress | None

    def same_mac(self, el: etree._Element) -> bool:
        return (self.mac is not None and el.get("mac") is not None
                and _mac_bytes(self.mac) == _mac_bytes(el.get("mac")))

    def same_name(self, el: etree._Element) -> bool:
        return self.name is not None and self.name == el.get("name")

    def same_ip(self, el: etree._Element) -> bool:
        return self.ip is not None and self.ip == _ip(el.get("ip"))


def _parse_dhcp_host(up: _Update, ip_el: etree._Element, partial: bool) -> _DhcpHost:
    """virNetworkDHCPHostDefParseXML's checks, in its order."""
    item, net = up.item, up.name
    v6 = _family(ip_el) == 6
    mac = item.get("mac")
    if mac is not None:
        if v6:
            raise _fail(VIR_ERR_XML_ERROR, f"Invalid to specify MAC address '{mac}' in "
                        f"network '{net}' IPv6 static host definition")
        parsed = _mac_bytes(mac)
        if parsed is None:
            raise _fail(VIR_ERR_XML_ERROR, f"Cannot parse MAC address '{mac}' in network '{net}'")
        if parsed[0] & 1:
            raise _fail(VIR_ERR_XML_ERROR, "expected unicast mac address, found multicast "
                        f"'{mac}' in network '{net}'")
    host_id = item.get("id")
    if host_id is not None:
        bad = [ch for ch in host_id if ch not in "0123456789abcdefABCDEF:"]
        if bad:
            raise _fail(VIR_ERR_XML_ERROR, f"Invalid character '{bad[0]}' in id '{host_id}' "
                        f"of network '{net}'")
    name = item.get("name")
    if name is not None and not (name[:1].isascii() and name[:1].isalnum()):
        raise _fail(VIR_ERR_XML_ERROR, f"Cannot use host name '{name}' in network '{net}'")
    ip_text = item.get("ip")
    addr = _ip(ip_text)
    if ip_text is not None and addr is None:
        raise _fail(VIR_ERR_XML_ERROR,
                    f"Invalid IP address in static host definition for network '{net}'")
    if partial:
        if mac is None and name is None and ip_text is None:
            raise _fail(VIR_ERR_XML_ERROR, "At least one of name, mac, or ip attribute must "
                        f"be specified for static host definition in network '{net}' ")
    else:
        if v6 and host_id is None and name is None:
            raise _fail(VIR_ERR_XML_ERROR, f"Static host definition in IPv6 network '{net}' "
                        "must have id or name attribute")
        if not v6 and mac is None and name is None:
            raise _fail(VIR_ERR_XML_ERROR, f"Static host definition in IPv4 network '{net}' "
                        "must have mac or name attribute")
        if addr is None:
            raise _fail(VIR_ERR_XML_ERROR,
                        f"Missing IP address in static host definition for network '{net}'")
    return _DhcpHost(mac, name, addr)


def _host_element(up: _Update, host: _DhcpHost) -> etree._Element:
    """The new <host>, with libvirt's attribute order and the address as it prints it."""
    new = up.new_item()
    if host.ip is not None:
        new.set("ip", str(host.ip))
    shape_normalize_order(new, _DHCP_SHAPE.children["host"])
    return new


def _update_dhcp_host(up: _Update) -> None:
    ip_el = _target_ip(up, "host")
    host = _parse_dhcp_host(up, ip_el, partial=up.command == DELETE)
    if up.command != DELETE and _family(ip_el) != host.ip.version:
        raise _fail(VIR_ERR_OPERATION_INVALID, "the address family of a host entry IP must "
                    "match the address family of the dhcp element's parent")
    hosts = ip_el.findall("dhcp/host")
    shown_ip = str(host.ip) if host.ip is not None else "unknown"
    if up.command == MODIFY:
        match = [h for h in hosts if host.same_mac(h) or host.same_ip(h) or host.same_name(h)]
        if not match:
            raise _fail(VIR_ERR_OPERATION_INVALID, "couldn't locate an existing dhcp host "
                        f"entry with \"mac='{host.mac or 'unknown'}'\" "
                        f"\"name='{_nul(host.name)}'\" \"ip='{shown_ip}'\" in network "
                        f"'{up.name}'")
        match[0].getparent().replace(match[0], _host_element(up, host))
    elif up.adding:
        _check_single_dhcp(up, ip_el)
        if any(host.same_mac(h) or host.same_name(h) or host.same_ip(h) for h in hosts):
            raise _fail(VIR_ERR_OPERATION_INVALID, "there is an existing dhcp host entry in "
                        f"network '{up.name}' that matches \"<host mac='{host.mac or 'unknown'}'"
                        f" name='{_nul(host.name)}' ip='{shown_ip}'/>\"")
        _insert(hosts, _dhcp(ip_el), _host_element(up, host), up.command == ADD_FIRST,
                _DHCP_SHAPE)
    elif up.command == DELETE:
        def matches(h: etree._Element) -> bool:
            return ((host.mac is None or h.get("mac") is None or host.same_mac(h))
                    and (host.name is None or host.same_name(h))
                    and (host.ip is None or host.same_ip(h)))
        match = [h for h in hosts if matches(h)]
        if not match:
            raise _fail(VIR_ERR_OPERATION_INVALID,
                        f"couldn't locate a matching dhcp host entry in network '{up.name}'")
        dhcp = match[0].getparent()
        dhcp.remove(match[0])
        _drop_if_empty(dhcp)
    else:
        raise up.unknown_command()


# --- ip-dhcp-range ----------------------------------------------------------------------
def _range_address(up: _Update, attr: str) -> IPAddress:
    text = up.item.get(attr)
    if text is None:
        raise _fail(VIR_ERR_XML_ERROR,
                    f"Missing '{attr}' attribute in dhcp range for network '{up.name}'")
    addr = _ip(text)
    if addr is None:      # libvirt's socket-address parser speaks for itself here
        raise error(38, f"Cannot parse socket address '{text}': Name or service not known")
    return addr


def _check_range(ip_el: etree._Element, start: IPAddress, end: IPAddress) -> None:
    """virSocketAddrGetRange's checks against the <ip>'s network."""
    addr = _ip(ip_el.get("address"))
    if addr is None or start.version != end.version or start.version != addr.version:
        raise error(1, f"mismatch of address family in range {start} - {end} for network "
                    f"{ip_el.get('address')}")
    prefix = ip_el.get("prefix")
    netmask = ip_el.get("netmask")
    try:
        if prefix is not None:
            network = ipaddress.ip_network(f"{addr}/{int(prefix)}", strict=False)
        elif netmask is not None:
            network = ipaddress.ip_network(f"{addr}/{netmask}", strict=False)
        else:
            network = None
    except ValueError:
        network = None
    if network is not None and (start not in network or end not in network):
        raise error(1, f"range {start} - {end} is not entirely within network "
                    f"{addr}/{network.prefixlen}")
    if int(end) < int(start):
        raise error(1, f"range {start} - {end} is reversed ")


def _update_dhcp_range(up: _Update) -> None:
    ip_el = _target_ip(up, "range")
    if up.command == MODIFY:
        raise _fail(VIR_ERR_OPERATION_UNSUPPORTED,
                    "dhcp ranges cannot be modified, only added or deleted")
    start, end = _range_address(up, "start"), _range_address(up, "end")
    _check_range(ip_el, start, end)
    if _family(ip_el) != start.version:
        raise _fail(VIR_ERR_OPERATION_INVALID, "the address family of a dhcp range must "
                    "match the address family of the dhcp element's parent")
    ranges = ip_el.findall("dhcp/range")
    match = [r for r in ranges if _ip(r.get("start")) == start and _ip(r.get("end")) == end]
    if up.adding:
        _check_single_dhcp(up, ip_el)
        if match:
            raise _fail(VIR_ERR_OPERATION_INVALID, "there is an existing dhcp range entry in "
                        f"network '{up.name}' that matches \"<range start='{start}' "
                        f"end='{end}'/>\"")
        new = up.new_item()
        new.set("start", str(start))
        new.set("end", str(end))
        _insert(ranges, _dhcp(ip_el), new, up.command == ADD_FIRST, _DHCP_SHAPE)
    elif up.command == DELETE:
        if not match:
            raise _fail(VIR_ERR_OPERATION_INVALID,
                        f"couldn't locate a matching dhcp range entry in network '{up.name}'")
        dhcp = match[0].getparent()
        dhcp.remove(match[0])
        _drop_if_empty(dhcp)
    else:
        raise up.unknown_command()


# --- forward-interface ------------------------------------------------------------------
def _update_forward_interface(up: _Update) -> None:
    up.expect("interface")
    if up.command == MODIFY:
        raise _fail(VIR_ERR_OPERATION_UNSUPPORTED,
                    "forward interface entries cannot be modified, only added or deleted")
    dev = up.item.get("dev")
    if dev is None:
        raise _fail(VIR_ERR_XML_ERROR, "missing dev attribute in <interface> element")
    forward = up.net.find("forward")
    ifaces = forward.findall("interface") if forward is not None else []
    match = [i for i in ifaces if i.get("dev") == dev]
    if up.adding:
        if match:
            raise _fail(VIR_ERR_OPERATION_INVALID, "there is an existing interface entry in "
                        f"network '{up.name}' that matches \"<interface dev='{dev}'>\"")
        if forward is None:
            forward = etree.Element("forward")
            insert_by_shape(up.net, forward, NETWORK_SHAPE)
        new = etree.Element("interface", dev=dev)
        _insert(ifaces, forward, new, up.command == ADD_FIRST, _FORWARD_SHAPE)
    elif up.command == DELETE:
        if not match:
            raise _fail(VIR_ERR_OPERATION_INVALID, "couldn't find an interface entry in "
                        f"network '{up.name}' matching <interface dev='{dev}'>")
        forward.remove(match[0])
    else:
        raise up.unknown_command()
    first = forward.find("interface")      # libvirt prints the first one's dev on <forward>
    if first is not None:
        forward.set("dev", first.get("dev"))
    else:
        forward.attrib.pop("dev", None)
    shape_normalize_order(forward, _FORWARD_SHAPE)


# --- portgroup --------------------------------------------------------------------------
def _update_portgroup(up: _Update) -> None:
    up.expect("portgroup")
    name = up.item.get("name")
    if name is None:
        raise _fail(VIR_ERR_XML_ERROR, "Missing required name attribute in portgroup")
    is_default = up.item.get("default") == "yes"
    groups = up.net.findall("portgroup")
    found = next((g for g in groups if g.get("name") == name), None)
    default = next((g for g in groups if g.get("default") == "yes"), None)
    if found is None and up.command in (MODIFY, DELETE):
        raise _fail(VIR_ERR_OPERATION_INVALID, "couldn't find a portgroup entry in network "
                    f"'{up.name}' matching <portgroup name='{name}'>")
    if found is not None and up.adding:
        raise _fail(VIR_ERR_OPERATION_INVALID, "there is an existing portgroup entry in "
                    f"network '{up.name}' that matches \"<portgroup name='{name}'>\"")
    if up.command != DELETE and is_default and default is not None and default is not found:
        raise _fail(VIR_ERR_OPERATION_INVALID, f"a different portgroup entry in network "
                    f"'{up.name}' is already set as the default. Only one default is allowed.")
    new = up.new_item()
    if not is_default:
        new.attrib.pop("default", None)
    if up.command == MODIFY:
        up.net.replace(found, new)
    elif up.adding:
        _insert(groups, up.net, new, up.command == ADD_FIRST, NETWORK_SHAPE)
    elif up.command == DELETE:
        up.net.remove(found)
    else:
        raise up.unknown_command()


# --- dns --------------------------------------------------------------------------------
def _dns(net: etree._Element) -> etree._Element:
    dns = net.find("dns")
    if dns is None:
        dns = etree.Element("dns")
        insert_by_shape(net, dns, NETWORK_SHAPE)
    return dns


def _delete_one(up: _Update, found: list[etree._Element], record: str, multiple: str) -> None:
    if not found:
        raise _fail(VIR_ERR_OPERATION_INVALID,
                    f"couldn't locate a matching DNS {record} record in network {up.name}")
    if len(found) > 1:
        raise _fail(VIR_ERR_OPERATION_INVALID, multiple)
    dns = found[0].getparent()
    dns.remove(found[0])
    _drop_if_empty(dns)


def _update_dns_host(up: _Update) -> None:
    if up.command == MODIFY:
        raise _fail(VIR_ERR_OPERATION_UNSUPPORTED,
                    "DNS HOST records cannot be modified, only added or deleted")
    up.expect("host")
    partial, net = not up.adding, up.name
    names = [(h.text or "").strip() for h in up.item.findall("hostname")]
    if any(not n for n in names) or (not names and not partial):
        raise _fail(VIR_ERR_XML_DETAIL, f"Missing hostname in network '{net}' DNS HOST record")
    ip_text = up.item.get("ip")
    addr = _ip(ip_text)
    if ip_text is not None and addr is None:
        raise _fail(VIR_ERR_XML_DETAIL, f"Invalid IP address in network '{net}' DNS HOST record")
    if ip_text is None and not partial:
        raise _fail(VIR_ERR_XML_DETAIL, f"Missing IP address in network '{net}' DNS HOST record")
    if ip_text is None and not names:
        raise _fail(VIR_ERR_XML_DETAIL,
                    f"Missing ip and hostname in network '{net}' DNS HOST record")
    hosts = up.net.findall("dns/host")

    def matches(h: etree._Element) -> bool:
        if addr is not None and addr == _ip(h.get("ip")):
            return True
        theirs = {(x.text or "").strip() for x in h.findall("hostname")}
        return not up.adding and bool(theirs.intersection(names))
    found = [h for h in hosts if matches(h)]
    if up.adding:
        if found:
            raise _fail(VIR_ERR_OPERATION_INVALID, "there is already at least one DNS HOST "
                        f"record with a matching field in network {net}")
        new = up.new_item()
        new.set("ip", str(addr))
        _insert(hosts, _dns(up.net), new, up.command == ADD_FIRST, _DNS_SHAPE)
    elif up.command == DELETE:
        _delete_one(up, found, "HOST",
                    f"multiple matching DNS HOST records were found in network {net}")
    else:
        raise up.unknown_command()


def _update_dns_txt(up: _Update) -> None:
    if up.command == MODIFY:
        raise _fail(VIR_ERR_OPERATION_UNSUPPORTED,
                    "DNS TXT records cannot be modified, only added or deleted")
    up.expect("txt")
    net, name = up.name, up.item.get("name")
    if name is None:
        raise _fail(VIR_ERR_XML_DETAIL,
                    f"missing required name attribute in DNS TXT record of network {net}")
    if " " in name or "," in name:
        raise _fail(VIR_ERR_XML_DETAIL,
                    f"prohibited character in DNS TXT record name '{name}' of network {net}")
    if up.item.get("value") is None and up.adding:
        raise _fail(VIR_ERR_XML_DETAIL, "missing required value attribute in DNS TXT record "
                    f"named '{name}' of network {net}")
    txts = up.net.findall("dns/txt")
    found = [t for t in txts if t.get("name") == name][:1]
    if up.adding:
        if found:
            raise _fail(VIR_ERR_OPERATION_INVALID,
                        f"there is already a DNS TXT record with name '{name}' in network {net}")
        _insert(txts, _dns(up.net), up.new_item(), up.command == ADD_FIRST, _DNS_SHAPE)
    elif up.command == DELETE:
        _delete_one(up, found, "TXT", "")
    else:
        raise up.unknown_command()


_PROTOCOL_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+/")
_SERVICE_CHARS = _PROTOCOL_CHARS | set("_*")


def _check_srv(up: _Update) -> None:
    """virNetworkDNSSrvDefParseXML's checks (``partial`` when deleting)."""
    item, net, partial = up.item, up.name, not up.adding
    service, protocol = item.get("service"), item.get("protocol")
    if service is None and not partial:
        raise _fail(VIR_ERR_XML_DETAIL,
                    f"missing required service attribute in DNS SRV record of network '{net}'")
    if service is not None and set(service) - _SERVICE_CHARS:
        raise _fail(VIR_ERR_XML_DETAIL, f"invalid character in service attribute '{service}' "
                    f"in DNS SRV record of network '{net}'")
    if protocol is None and not partial:
        raise _fail(VIR_ERR_XML_DETAIL, "missing required protocol attribute in DNS SRV "
                    f"record '{_nul(service)}' of network '{net}'")
    if protocol is not None and set(protocol) - _PROTOCOL_CHARS:
        raise _fail(VIR_ERR_XML_DETAIL, f"invalid character in protocol attribute "
                    f"'{protocol}' in DNS SRV record of network '{net}'")
    for attr, word, top in (("port", "invalid", 65535), ("priority", "Invalid", 65535),
                            ("weight", "invalid", 65535)):
        raw = item.get(attr)
        if raw is None:
            continue
        if item.get("target") is None:
            raise _fail(VIR_ERR_XML_DETAIL, f"DNS SRV {attr} attribute not permitted without "
                        f"target for service '{_nul(service)}' in network '{net}'")
        low = 1 if attr == "port" else 0
        if not raw.strip().isdigit() or not low <= int(raw) <= top:
            raise _fail(VIR_ERR_XML_DETAIL, f"{word} DNS SRV {attr} attribute for service "
                        f"'{_nul(service)}' in network '{net}'")


def _update_dns_srv(up: _Update) -> None:
    if up.command == MODIFY:
        raise _fail(VIR_ERR_OPERATION_UNSUPPORTED,
                    "DNS SRV records cannot be modified, only added or deleted")
    up.expect("srv")
    _check_srv(up)
    srvs = up.net.findall("dns/srv")
    keys = ("domain", "service", "protocol", "target")
    found = [s for s in srvs if all(up.item.get(k) is None or up.item.get(k) == s.get(k)
                                    for k in keys)]
    if up.adding:
        if found:
            raise _fail(VIR_ERR_OPERATION_INVALID, "there is already at least one DNS SRV "
                        f"record matching all specified fields in network {up.name}")
        _insert(srvs, _dns(up.net), up.new_item(), up.command == ADD_FIRST, _DNS_SHAPE)
    elif up.command == DELETE:
        _delete_one(up, found, "SRV", "multiple DNS SRV records matching all specified "
                    f"fields were found in network {up.name}")
    else:
        raise up.unknown_command()


# --- dispatch ---------------------------------------------------------------------------
def _no_support(section: str) -> Callable[[_Update], None]:
    def refuse(up: _Update) -> None:
        raise up.unsupported(section)
    return refuse


_HANDLERS: dict[int, Callable[[_Update], None]] = {
    1: _no_support("bridge"), 2: _no_support("domain"), 3: _no_support("ip"),
    4: _update_dhcp_host, 5: _update_dhcp_range, 6: _no_support("forward"),
    7: _update_forward_interface, 8: _no_support("forward pf"), 9: _update_portgroup,
    10: _update_dns_host, 11: _update_dns_txt, 12: _update_dns_srv,
}


def update_network(net: etree._Element, net_name: str, command: int, section: int,
                   parent_index: int, xml: str) -> None:
    """Apply one virNetworkUpdate to the ``<network>`` element ``net`` in place.

    On error ``net`` may be half edited: callers edit a copy and keep it only
    on success (as libvirt does).
    """
    item = parse_xml(xml, "network_update_xml", domain=VIR_FROM_NETWORK)
    handler = _HANDLERS.get(section)
    if handler is None:
        raise _fail(VIR_ERR_OPERATION_UNSUPPORTED, "can't update unrecognized section of network")
    handler(_Update(net, net_name, command, parent_index, item))

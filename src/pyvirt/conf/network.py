"""Virtual network XML (``<network>``), as libvirt's network_conf parses and prints it.

:class:`NetworkDef` is a view over the parsed document: declared fields read and
write the tree, and XML no class declares survives ``to_xml()``.
:meth:`NetworkDef.normalize` rewrites the document into the form
``virsh net-dumpxml`` prints after ``net-define`` (uuid filled in, libvirt's
element and attribute order, defaults such as ``<bridge stp='on' delay='0'/>``).
``from_xml`` checks the document the way libvirt's parser does and raises its
codes and messages.

The module also holds the small "document shape" helpers the other
non-domain models share (:class:`Shape`, :func:`shape_normalize_order`,
:func:`shape_unknown_parts`, :func:`shape_strip_unknown`): one declarative
table per document lists, element by element, the attributes and children
libvirt knows and their printed order.
"""

from __future__ import annotations

import ipaddress
import socket
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import ClassVar, Iterator

from lxml import etree

from pyvirt.conf.xmlbuilder import XMLBuilder, XMLChildProperty, XMLProperty, parse_xml
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_NAME, VIR_ERR_SYSTEM_ERROR, VIR_ERR_XML_DETAIL,
    VIR_ERR_XML_ERROR, VIR_FROM_NETWORK, VIR_FROM_NONE, VIR_FROM_XML, error, libvirtError,
)


# ================================================================================
# Document shape: what libvirt knows of each element, in the order it prints it
# ================================================================================
@dataclass(frozen=True)
class Shape:
    """One element's known attributes and children, each in libvirt's printed order.

    ``children`` maps a child tag to its own shape; ``opaque`` marks an element
    whose content libvirt keeps as a whole (``<metadata>``) or that is modelled
    elsewhere (``<bandwidth>``): nothing under it is reordered or reported.
    ``open_close`` makes an empty element print as ``<x>\\n</x>`` the way
    libvirt's formatter does for ``<ip>``, ``<portgroup>`` and a pool's ``<source>``.
    """

    attrs: tuple[str, ...] = ()
    children: dict[str, "Shape"] = field(default_factory=dict)
    opaque: bool = False
    open_close: bool = False


OPAQUE = Shape(opaque=True)


def _local(tag: str) -> str:
    return etree.QName(tag).localname if tag.startswith("{") else tag


def _elements(node: etree._Element) -> Iterator[etree._Element]:
    return (c for c in node if isinstance(c.tag, str))


def shape_normalize_order(node: etree._Element, shape: Shape, depth: int = 0) -> None:
    """Reorder attributes and children to libvirt's order; unknown ones go last.

    Also gives ``open_close`` elements that are empty the whitespace text that
    makes the formatter print them open and closed on two lines.
    """
    if shape.opaque:
        return
    known = [a for a in shape.attrs if a in node.attrib]
    rest = [a for a in node.attrib if a not in shape.attrs]
    values = dict(node.attrib)
    if list(node.attrib) != known + rest:
        node.attrib.clear()
        for name in known + rest:
            node.set(name, values[name])
    order = list(shape.children)
    kids = list(node)
    rank = {tag: i for i, tag in enumerate(order)}
    kids_sorted = sorted(kids, key=lambda c: rank.get(c.tag, len(order))
                         if isinstance(c.tag, str) else len(order))
    if kids_sorted != kids:
        for child in kids:
            node.remove(child)
        for child in kids_sorted:
            node.append(child)
    for child in _elements(node):
        sub = shape.children.get(child.tag)
        if sub is not None:
            shape_normalize_order(child, sub, depth + 1)
    if shape.open_close and len(node) == 0 and not (node.text and node.text.strip()):
        node.text = "\n" + "  " * depth


def shape_unknown_parts(node: etree._Element, shape: Shape, path: str = "") -> list[str]:
    """Readable names of the elements and attributes the shape does not know.

    Elements read ``network/foo``, attributes ``network/bridge/@zone``.
    """
    here = path or _local(node.tag)
    if shape.opaque:
        return []
    found = [f"{here}/@{_local(a)}" for a in node.attrib if a not in shape.attrs]
    for child in _elements(node):
        sub = shape.children.get(child.tag)
        if sub is None:
            found.append(f"{here}/{_local(child.tag)}")
        else:
            found.extend(shape_unknown_parts(child, sub, f"{here}/{child.tag}"))
    return found


def shape_strip_unknown(node: etree._Element, shape: Shape) -> None:
    """Remove every element and attribute the shape does not know."""
    if shape.opaque:
        return
    for name in [a for a in node.attrib if a not in shape.attrs]:
        del node.attrib[name]
    for child in list(node):
        if not isinstance(child.tag, str):
            node.remove(child)
            continue
        sub = shape.children.get(child.tag)
        if sub is None:
            node.remove(child)
        else:
            shape_strip_unknown(child, sub)


class ShapedBuilder(XMLBuilder):
    """An XMLBuilder whose document follows a :class:`Shape` (``_shape``).

    New elements at any depth are inserted in libvirt's order, and the shape
    answers :meth:`unknown_parts` / :meth:`strip_unknown`.
    """

    _shape: ClassVar[Shape] = Shape()

    def make_path(self, elements: list[str]) -> etree._Element:
        node, shape = self.node, self._shape
        for tag in elements:
            child = _first(node, tag)
            if child is None:
                child = etree.Element(tag)
                insert_by_shape(node, child, shape)
            node = child
            shape = shape.children.get(tag, Shape())
        return node

    def unknown_parts(self) -> list[str]:
        """Readable names of what libvirt's schema for this document lacks.

        Elements read ``network/foo``, attributes ``network/bridge/@zone``.
        """
        return shape_unknown_parts(self.node, self._shape)

    def strip_unknown(self) -> None:
        """Drop what libvirt would drop: everything :meth:`unknown_parts` lists."""
        shape_strip_unknown(self.node, self._shape)


def _first(node: etree._Element, tag: str) -> etree._Element | None:
    for child in node:
        if child.tag == tag:
            return child
    return None


def insert_by_shape(parent: etree._Element, child: etree._Element, shape: Shape) -> None:
    """Insert ``child`` before the first sibling libvirt prints after it."""
    order = list(shape.children)
    if child.tag not in order:
        parent.append(child)
        return
    rank = order.index(child.tag)
    for index, sibling in enumerate(parent):
        if sibling.tag in order and order.index(sibling.tag) > rank:
            parent.insert(index, child)
            return
    parent.append(child)


def parse_root(cls: type, text: str | bytes, *, label: str, domain: int) -> etree._Element:
    """Parse a document and check its root tag with libvirt's messages.

    Syntax errors carry the document kind's error domain, as libvirt's do.
    """
    try:
        root = parse_xml(text, label)
    except libvirtError as err:
        if err.get_error_code() != VIR_ERR_XML_DETAIL:
            raise
        raise libvirtError(err.get_error_message(), code=VIR_ERR_XML_DETAIL,
                           domain=domain) from err
    if root.tag != cls._root_name:
        raise error(VIR_ERR_XML_ERROR,
                    f"expecting root element of '{cls._root_name}', not '{root.tag}'",
                    domain=VIR_FROM_XML)
    return root


def parse_uuid(raw: str) -> str | None:
    """libvirt's virUUIDParse: 32 hex digits, '-' or ' ' allowed between bytes.

    Returns the canonical lower-case form, or None when malformed.
    """
    text = raw.lstrip(" \t\n")
    digits: list[str] = []
    i = 0
    while i < len(text) and len(digits) < 32:
        ch = text[i]
        if ch in "- " and len(digits) % 2 == 0:
            i += 1
            continue
        if ch.lower() not in "0123456789abcdef":
            return None
        digits.append(ch.lower())
        i += 1
    if len(digits) < 32 or text[i:].strip(" \t\n"):
        return None
    hexed = "".join(digits)
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def parse_mac(raw: str) -> str | None:
    """Six ':'-separated hex bytes (one or two digits each), canonical lower case."""
    parts = raw.strip().split(":")
    if len(parts) != 6:
        return None
    try:
        values = [int(p, 16) for p in parts if 1 <= len(p) <= 2]
    except ValueError:
        return None
    if len(values) != 6:
        return None
    return ":".join(f"{v:02x}" for v in values)


# ================================================================================
# libvirt's network document shape (network_conf.c, libvirt 9.0)
# ================================================================================
_IP_SHAPE = Shape(
    attrs=("family", "address", "netmask", "prefix", "localPtr"),
    children={
        "tftp": Shape(attrs=("root",)),
        "dhcp": Shape(children={
            "range": Shape(attrs=("start", "end"),
                           children={"lease": Shape(attrs=("expiry", "unit"))}),
            "host": Shape(attrs=("mac", "id", "name", "ip"),
                          children={"lease": Shape(attrs=("expiry", "unit"))}),
            "bootp": Shape(attrs=("file", "server")),
        }),
    },
    open_close=True,
)

NETWORK_SHAPE = Shape(
    attrs=("connections", "ipv6", "trustGuestRxFilters"),
    children={
        "name": Shape(),
        "uuid": Shape(),
        "metadata": OPAQUE,
        "forward": Shape(
            attrs=("dev", "mode", "managed", "trustGuestRxFilters"),
            children={
                "driver": Shape(attrs=("name",)),
                "nat": Shape(attrs=("ipv6",), children={
                    "address": Shape(attrs=("start", "end")),
                    "port": Shape(attrs=("start", "end")),
                }),
                "pf": Shape(attrs=("dev",)),
                "interface": Shape(attrs=("dev", "connections")),
                "address": OPAQUE,
            }),
        "bridge": Shape(attrs=("name", "zone", "stp", "delay", "macTableManager")),
        "mtu": Shape(attrs=("size",)),
        "mac": Shape(attrs=("address",)),
        "domain": Shape(attrs=("name", "localOnly")),
        "dns": Shape(
            attrs=("enable", "forwardPlainNames"),
            children={
                "forwarder": Shape(attrs=("domain", "addr")),
                "txt": Shape(attrs=("name", "value")),
                "srv": Shape(attrs=("service", "protocol", "domain", "target", "port",
                                    "priority", "weight")),
                "host": Shape(attrs=("ip",), children={"hostname": Shape()}),
            }),
        "virtualport": OPAQUE,
        "vlan": OPAQUE,
        "bandwidth": OPAQUE,
        "port": Shape(attrs=("isolated",)),
        "ip": _IP_SHAPE,
        "route": Shape(attrs=("family", "address", "netmask", "prefix", "gateway",
                              "metric")),
        "portgroup": Shape(attrs=("name", "default", "trustGuestRxFilters"),
                           children={"virtualport": OPAQUE, "vlan": OPAQUE,
                                     "bandwidth": OPAQUE},
                           open_close=True),
    },
)

#: Forward modes libvirt knows (virNetworkForwardType), "none" is no <forward>.
FORWARD_MODES = ("none", "nat", "route", "open", "bridge", "private", "vepa",
                 "passthrough", "hostdev")
#: Modes whose network libvirt itself bridges: they get stp/delay defaults.
_BRIDGED_BY_LIBVIRT = ("none", "nat", "route", "open")


# ================================================================================
# Models
# ================================================================================
class NatRange(XMLBuilder):
    """A ``<nat>`` ``<address>`` or ``<port>`` range."""

    _root_name = "address"
    start = XMLProperty("./@start")
    end = XMLProperty("./@end")


class NatPortRange(NatRange):
    _root_name = "port"


class DhcpRange(XMLBuilder):
    _root_name = "range"
    start = XMLProperty("./@start")
    end = XMLProperty("./@end")
    lease_expiry = XMLProperty("./lease/@expiry", kind=int)
    lease_unit = XMLProperty("./lease/@unit")


class DhcpHost(XMLBuilder):
    _root_name = "host"
    _child_order = ("lease",)
    mac = XMLProperty("./@mac")
    id = XMLProperty("./@id")
    name = XMLProperty("./@name")
    ip = XMLProperty("./@ip")


class NetworkIP(ShapedBuilder):
    """One ``<ip>``: address, netmask or prefix, DHCP ranges, static hosts, bootp."""

    _root_name = "ip"
    _shape = _IP_SHAPE
    family = XMLProperty("./@family")
    address = XMLProperty("./@address")
    netmask = XMLProperty("./@netmask")
    prefix = XMLProperty("./@prefix", kind=int)
    local_ptr = XMLProperty("./@localPtr", kind=bool)
    tftp_root = XMLProperty("./tftp/@root")
    bootp_file = XMLProperty("./dhcp/bootp/@file")
    bootp_server = XMLProperty("./dhcp/bootp/@server")
    ranges = XMLChildProperty(DhcpRange, "./dhcp")
    hosts = XMLChildProperty(DhcpHost, "./dhcp")

    def add_range(self, start: str, end: str) -> DhcpRange:
        item = DhcpRange()
        item.start, item.end = start, end
        self._add_dhcp(item)
        return item

    def add_host(self, mac: str | None = None, name: str | None = None,
                 ip: str | None = None) -> DhcpHost:
        item = DhcpHost()
        item.mac, item.name, item.ip = mac, name, ip
        self._add_dhcp(item)
        return item

    def _add_dhcp(self, item: XMLBuilder) -> None:
        insert_by_shape(self.make_path(["dhcp"]), item.node, _IP_SHAPE.children["dhcp"])

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        """The subnet this address sits in, when address and netmask/prefix say so."""
        addr = _parse_ip(self.address or "")
        if addr is None:
            return None
        if self.prefix is not None:
            bits = self.prefix
        elif self.netmask:
            mask = _parse_ip(self.netmask)
            if mask is None:
                return None
            bits = bin(int(mask)).count("1")
        elif addr.version == 4:
            bits = _classful_prefix(addr)
        else:
            bits = 64
        return ipaddress.ip_network(f"{addr}/{bits}", strict=False)


class DnsHost(XMLBuilder):
    _root_name = "host"
    ip = XMLProperty("./@ip")

    @property
    def hostnames(self) -> list[str]:
        return [c.text or "" for c in self.node if c.tag == "hostname"]

    @hostnames.setter
    def hostnames(self, names: list[str]) -> None:
        for child in [c for c in self.node if c.tag == "hostname"]:
            self.node.remove(child)
        for name in names:
            etree.SubElement(self.node, "hostname").text = name


class DnsForwarder(XMLBuilder):
    _root_name = "forwarder"
    domain = XMLProperty("./@domain")
    addr = XMLProperty("./@addr")


class DnsSrv(XMLBuilder):
    _root_name = "srv"
    service = XMLProperty("./@service")
    protocol = XMLProperty("./@protocol")
    domain = XMLProperty("./@domain")
    target = XMLProperty("./@target")
    port = XMLProperty("./@port", kind=int)
    priority = XMLProperty("./@priority", kind=int)
    weight = XMLProperty("./@weight", kind=int)


class DnsTxt(XMLBuilder):
    _root_name = "txt"
    name = XMLProperty("./@name")
    value = XMLProperty("./@value")


class NetworkDef(ShapedBuilder):
    """A ``<network>`` definition."""

    _root_name = "network"
    _doc_label = "(network_definition)"
    _shape = NETWORK_SHAPE

    name = XMLProperty("./name")
    uuid = XMLProperty("./uuid")
    ipv6 = XMLProperty("./@ipv6", kind=bool)
    trust_guest_rx_filters = XMLProperty("./@trustGuestRxFilters", kind=bool)
    connections = XMLProperty("./@connections", kind=int)
    forward_mode = XMLProperty("./forward/@mode")
    forward_dev = XMLProperty("./forward/@dev")
    nat_ipv6 = XMLProperty("./forward/nat/@ipv6", kind=bool)
    nat_address_start = XMLProperty("./forward/nat/address/@start")
    nat_address_end = XMLProperty("./forward/nat/address/@end")
    nat_port_start = XMLProperty("./forward/nat/port/@start", kind=int)
    nat_port_end = XMLProperty("./forward/nat/port/@end", kind=int)
    bridge_name = XMLProperty("./bridge/@name")
    bridge_zone = XMLProperty("./bridge/@zone")
    bridge_stp = XMLProperty("./bridge/@stp", kind="onoff")
    bridge_delay = XMLProperty("./bridge/@delay", kind=int)
    bridge_mac_table_manager = XMLProperty("./bridge/@macTableManager")
    mtu = XMLProperty("./mtu/@size", kind=int)
    mac = XMLProperty("./mac/@address")
    domain_name = XMLProperty("./domain/@name")
    domain_local_only = XMLProperty("./domain/@localOnly", kind=bool)
    dns_enable = XMLProperty("./dns/@enable", kind=bool)
    dns_forward_plain_names = XMLProperty("./dns/@forwardPlainNames", kind=bool)
    port_isolated = XMLProperty("./port/@isolated", kind=bool)

    ips = XMLChildProperty(NetworkIP)
    dns_hosts = XMLChildProperty(DnsHost, "./dns")
    dns_forwarders = XMLChildProperty(DnsForwarder, "./dns")
    dns_srvs = XMLChildProperty(DnsSrv, "./dns")
    dns_txts = XMLChildProperty(DnsTxt, "./dns")

    # --- parsing -----------------------------------------------------------
    @classmethod
    def from_xml(cls, text: str | bytes, *, validate: bool = True) -> "NetworkDef":
        """Parse and (by default) check the document as libvirt's parser does."""
        root = parse_root(cls, text, label=cls._doc_label, domain=VIR_FROM_NETWORK)
        net = cls(node=root)
        if validate:
            net.validate()
        return net

    def validate(self) -> None:
        """Raise libvirt's error for the first problem libvirt would report."""
        _NetworkChecker(self).run()

    # --- adding children ------------------------------------------------------
    def add_ip(self, address: str, prefix: int | None = None, netmask: str | None = None,
               family: str | None = None) -> NetworkIP:
        ip = NetworkIP()
        ip.family, ip.address, ip.netmask, ip.prefix = family, address, netmask, prefix
        insert_by_shape(self.node, ip.node, NETWORK_SHAPE)
        return ip

    def add_dns_host(self, ip: str, hostnames: list[str]) -> DnsHost:
        host = DnsHost()
        host.ip = ip
        host.hostnames = hostnames
        self._add_dns(host)
        return host

    def add_dns_forwarder(self, addr: str | None = None,
                          domain: str | None = None) -> DnsForwarder:
        fwd = DnsForwarder()
        fwd.domain, fwd.addr = domain, addr
        self._add_dns(fwd)
        return fwd

    def add_dns_srv(self, service: str, protocol: str, **attrs: object) -> DnsSrv:
        srv = DnsSrv()
        srv.service, srv.protocol = service, protocol
        for key, value in attrs.items():
            setattr(srv, key, value)
        self._add_dns(srv)
        return srv

    def add_dns_txt(self, name: str, value: str) -> DnsTxt:
        txt = DnsTxt()
        txt.name, txt.value = name, value
        self._add_dns(txt)
        return txt

    def _add_dns(self, item: XMLBuilder) -> None:
        insert_by_shape(self.make_path(["dns"]), item.node, NETWORK_SHAPE.children["dns"])

    # --- libvirt's canonical form ---------------------------------------------------
    def normalize(self) -> "NetworkDef":
        """Rewrite into the form ``net-dumpxml`` prints after ``net-define``."""
        _normalize_network(self)
        shape_normalize_order(self.node, NETWORK_SHAPE)
        return self


# ================================================================================
# Normalization
# ================================================================================
def _normalize_network(net: NetworkDef) -> None:
    canonical = parse_uuid(net.uuid) if net.uuid is not None else None
    net.uuid = canonical or str(uuidlib.uuid4())
    root = net.node
    root.attrib.pop("connections", None)  # live-only, libvirt ignores it on define
    if net.mac is not None:
        net.mac = parse_mac(net.mac) or net.mac
    mtu = root.find("mtu")
    if mtu is not None and mtu.get("size", "").strip() in ("0", ""):
        root.remove(mtu)
    domain = root.find("domain")
    if domain is not None and not domain.get("name"):
        root.remove(domain)
    mode = net.forward_mode or "none"
    forward = root.find("forward")
    if forward is not None and mode == "none" and forward.get("mode") is None \
            and len(forward) == 0 and not forward.get("dev"):
        root.remove(forward)
    if forward is not None and forward.get("dev") and forward.find("interface") is None \
            and forward.find("pf") is None:
        etree.SubElement(forward, "interface", dev=forward.get("dev"))
    if mode in _BRIDGED_BY_LIBVIRT:
        bridge = net.make_path(["bridge"])
        bridge.set("stp", "off" if bridge.get("stp") == "off" else "on")
        bridge.set("delay", str(int(bridge.get("delay", "0"))))
    for ip in net.ips:
        _normalize_ip(ip)
    dns = root.find("dns")
    if dns is not None and not len(dns) and not dns.attrib:
        root.remove(dns)


def _normalize_ip(ip: NetworkIP) -> None:
    for attr in ("address", "netmask"):
        value = ip.node.get(attr)
        parsed = _parse_ip(value) if value else None
        if parsed is not None:
            ip.node.set(attr, str(parsed))
    dhcp = ip.node.find("dhcp")
    if dhcp is None:
        return
    for bootp in dhcp.findall("bootp"):
        if not bootp.get("file"):
            dhcp.remove(bootp)
    for elem in list(dhcp.findall("range")) + list(dhcp.findall("host")):
        for attr in ("start", "end", "ip"):
            value = elem.get(attr)
            parsed = _parse_ip(value) if value else None
            if parsed is not None:
                elem.set(attr, str(parsed))
    if not len(dhcp):
        ip.node.remove(dhcp)


# ================================================================================
# Validation (libvirt's messages and codes)
# ================================================================================
def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as libvirt's getaddrinfo-based parser reads it ("1.2.3" is 1.2.0.3)."""
    text = text.strip()
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if ":" in text or not text:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def _classful_prefix(addr: ipaddress.IPv4Address) -> int:
    first = int(addr) >> 24
    return 8 if first < 128 else 16 if first < 192 else 24


def _bool_attr_error(node: etree._Element, attr: str) -> None:
    value = node.get(attr)
    if value is not None and value not in ("yes", "no"):
        raise error(VIR_ERR_XML_ERROR,
                    f"Invalid value for attribute '{attr}' in element '{node.tag}': "
                    f"'{value}'.", domain=VIR_FROM_XML)


class _NetworkChecker:
    """libvirt's parse-time checks on a network, in libvirt's order."""

    def __init__(self, net: NetworkDef) -> None:
        self.net = net
        self.root = net.node
        self.name = ""

    def fail(self, code: int, detail: str, domain: int = VIR_FROM_NETWORK) -> None:
        raise error(code, detail, domain=domain)

    def run(self) -> None:
        self._check_name_uuid()
        self._check_root_attrs()
        for step in (self._check_bridge, self._check_mac, self._check_domain,
                     self._check_dns, self._check_ips, self._check_forward,
                     self._check_port, self._check_mtu):
            step()

    def _check_name_uuid(self) -> None:
        name = self.net.name
        if not name:
            self.fail(VIR_ERR_NO_NAME, "")
        if "/" in name:
            self.fail(VIR_ERR_XML_DETAIL, "invalid char in name: /", VIR_FROM_XML)
        self.name = name
        uuid = self.net.uuid
        if uuid is not None and parse_uuid(uuid) is None:
            self.fail(VIR_ERR_INTERNAL_ERROR, "malformed uuid element")

    def _check_root_attrs(self) -> None:
        ipv6 = self.root.get("ipv6")
        if ipv6 is not None and ipv6 not in ("yes", "no"):
            self.fail(VIR_ERR_XML_ERROR, f"Invalid ipv6 setting '{ipv6}' in network "
                                         f"'{self.name}'")
        _bool_attr_error(self.root, "trustGuestRxFilters")

    def _check_bridge(self) -> None:
        bridge = self.root.find("bridge")
        if bridge is None:
            return
        delay = bridge.get("delay")
        if delay is not None and not _is_uint(delay):
            self.fail(VIR_ERR_XML_ERROR, f"Invalid delay value in network '{self.name}'")

    def _check_mac(self) -> None:
        raw = self.net.mac
        if raw is None:
            return
        mac = parse_mac(raw)
        if mac is None:
            self.fail(VIR_ERR_XML_ERROR,
                      f"Invalid bridge mac address '{raw}' in network '{self.name}'")
        if int(mac[:2], 16) & 1:
            self.fail(VIR_ERR_XML_ERROR, f"Invalid multicast bridge mac address '{raw}' "
                                         f"in network '{self.name}'")

    def _check_domain(self) -> None:
        domain = self.root.find("domain")
        if domain is not None:
            _bool_attr_error(domain, "localOnly")

    def _check_dns(self) -> None:
        dns = self.root.find("dns")
        if dns is None:
            return
        _bool_attr_error(dns, "enable")
        _bool_attr_error(dns, "forwardPlainNames")
        name = self.name
        for fwd in dns.findall("forwarder"):
            addr = fwd.get("addr")
            if addr is not None and _parse_ip(addr) is None:
                self.fail(VIR_ERR_XML_ERROR,
                          f"Invalid forwarder IP address '{addr}' in network '{name}'")
            if addr is None and fwd.get("domain") is None:
                self.fail(VIR_ERR_XML_ERROR, "Invalid forwarder element, must contain at "
                                             "least one of addr or domain")
        for host in dns.findall("host"):
            ip = host.get("ip")
            if ip is None:
                self.fail(VIR_ERR_XML_DETAIL,
                          f"Missing IP address in network '{name}' DNS HOST record")
            if _parse_ip(ip) is None:
                self.fail(VIR_ERR_XML_DETAIL,
                          f"Invalid IP address in network '{name}' DNS HOST record")
            if host.find("hostname") is None:
                self.fail(VIR_ERR_XML_DETAIL,
                          f"Missing hostname in network '{name}' DNS HOST record")
        for srv in dns.findall("srv"):
            self._check_srv(srv)
        for txt in dns.findall("txt"):
            if txt.get("name") is None:
                self.fail(VIR_ERR_XML_DETAIL, "missing required name attribute in DNS TXT "
                                              f"record of network {name}")
            if txt.get("value") is None:
                self.fail(VIR_ERR_XML_DETAIL, "missing required value attribute in DNS TXT "
                                              f"record named '{txt.get('name')}' of "
                                              f"network {name}")
        if dns.get("enable") == "no" and len(dns):
            self.fail(VIR_ERR_XML_ERROR, f"Extra data in disabled network '{name}'")

    def _check_srv(self, srv: etree._Element) -> None:
        name = self.name
        service = srv.get("service")
        if service is None:
            self.fail(VIR_ERR_XML_DETAIL, "missing required service attribute in DNS SRV "
                                          f"record of network '{name}'")
        if srv.get("protocol") is None:
            self.fail(VIR_ERR_XML_DETAIL, "missing required protocol attribute in DNS SRV "
                                          f"record '{service}' of network '{name}'")
        for attr in ("port", "priority", "weight"):
            value = srv.get(attr)
            if value is None:
                continue
            if srv.get("target") is None:
                self.fail(VIR_ERR_XML_DETAIL, f"DNS SRV {attr} attribute not permitted "
                                              f"without target for service '{service}' "
                                              f"in network '{name}'")
            if not _is_uint(value) or int(value) > 65535:
                self.fail(VIR_ERR_XML_DETAIL, f"Invalid DNS SRV {attr} attribute for "
                                              f"service '{service}' in network '{name}'")

    def _check_ips(self) -> None:
        for ip in self.net.ips:
            self._check_ip(ip)

    def _check_ip(self, ip: NetworkIP) -> None:
        name, node = self.name, ip.node
        family = node.get("family")
        if family is not None and family not in ("ipv4", "ipv6"):
            self.fail(VIR_ERR_XML_ERROR, f"Unrecognized family '{family}' in network '{name}'")
        address = node.get("address")
        if address is None:
            self.fail(VIR_ERR_XML_ERROR,
                      f"Missing required address attribute in network '{name}'")
        addr = _parse_ip(address)
        if addr is None:
            self.fail(VIR_ERR_XML_ERROR, f"Invalid address '{address}' in network '{name}'")
        netmask = node.get("netmask")
        if netmask is not None and _parse_ip(netmask) is None:
            self.fail(VIR_ERR_XML_ERROR, f"Invalid netmask '{netmask}' in network '{name}'")
        prefix = node.get("prefix")
        if prefix is not None and not _is_uint(prefix):
            self.fail(VIR_ERR_XML_ERROR, "Invalid value for attribute 'prefix' in element "
                                         f"'ip': '{prefix}'. Expected non-negative integer "
                                         "value", VIR_FROM_XML)
        if netmask is not None and prefix is not None:
            self.fail(VIR_ERR_CONFIG_UNSUPPORTED, f"Network '{name}' IP address cannot have "
                                                  "both a prefix and a netmask")
        if family == "ipv6" and addr.version != 6:
            self.fail(VIR_ERR_CONFIG_UNSUPPORTED, f"Family 'ipv6' specified for non-IPv6 "
                                                  f"address '{address}' in network '{name}'")
        if family == "ipv4" and addr.version != 4:
            self.fail(VIR_ERR_CONFIG_UNSUPPORTED, f"Family 'ipv4' specified for non-IPv4 "
                                                  f"address '{address}' in network '{name}'")
        limit = 32 if addr.version == 4 else 128
        if prefix is not None and int(prefix) > limit:
            self.fail(VIR_ERR_CONFIG_UNSUPPORTED, f"Invalid IPv{addr.version} prefix "
                                                  f"'{prefix}' in network '{name}'")
        dhcp = node.find("dhcp")
        if dhcp is not None:
            self._check_dhcp(ip, dhcp, addr.version)

    def _check_dhcp(self, ip: NetworkIP, dhcp: etree._Element, version: int) -> None:
        name = self.name
        subnet = ip.network()
        for rng in dhcp.findall("range"):
            for attr in ("start", "end"):
                if rng.get(attr) is None:
                    self.fail(VIR_ERR_XML_ERROR, f"Missing '{attr}' attribute in dhcp range "
                                                 f"for network '{name}'")
            start, end = rng.get("start"), rng.get("end")
            for value in (start, end):
                if _parse_ip(value) is None:
                    self.fail(VIR_ERR_SYSTEM_ERROR, f"Cannot parse socket address "
                                                         f"'{value}': Name or service not "
                                                         "known", VIR_FROM_NONE)
            first, last = _parse_ip(start), _parse_ip(end)
            if subnet is not None and (first not in subnet or last not in subnet):
                self.fail(VIR_ERR_INTERNAL_ERROR, f"range {start} - {end} is not entirely "
                                                  f"within network {ip.address}/"
                                                  f"{subnet.prefixlen}", VIR_FROM_NONE)
            if int(first) > int(last):
                self.fail(VIR_ERR_INTERNAL_ERROR, f"range {start} - {end} is reversed ",
                          VIR_FROM_NONE)
        for host in dhcp.findall("host"):
            mac = host.get("mac")
            if mac is not None and parse_mac(mac) is None:
                self.fail(VIR_ERR_XML_ERROR,
                          f"Cannot parse MAC address '{mac}' in network '{name}'")
            hip = host.get("ip")
            if hip is not None and _parse_ip(hip) is None:
                self.fail(VIR_ERR_XML_ERROR, "Invalid IP address in static host definition "
                                             f"for network '{name}'")
            if hip is None and version == 4:
                self.fail(VIR_ERR_XML_ERROR, "Missing IP address in static host definition "
                                             f"for network '{name}'")

    def _check_forward(self) -> None:
        forward = self.root.find("forward")
        if forward is None:
            return
        name = self.name
        mode = forward.get("mode", "nat")
        if mode not in FORWARD_MODES:
            self.fail(VIR_ERR_CONFIG_UNSUPPORTED, f"unknown forwarding type '{mode}'")
        dev = forward.get("dev")
        first_if = forward.find("interface")
        if dev is not None and first_if is not None and first_if.get("dev") != dev:
            self.fail(VIR_ERR_XML_ERROR, f"<forward dev='{dev}'> must match first "
                                         f"<interface dev='{first_if.get('dev')}'/> in "
                                         f"network {name}")
        nat = forward.find("nat")
        if nat is not None:
            if mode != "nat":
                self.fail(VIR_ERR_XML_ERROR, "The <nat> element can only be used when "
                                             f"<forward> 'mode' is 'nat' in network {name}")
            self._check_nat(nat)
        if mode == "nat" and not self.net.ips:
            self.fail(VIR_ERR_XML_ERROR, "nat forwarding requested, but no IP address "
                                         f"provided for network '{name}'")

    def _check_nat(self, nat: etree._Element) -> None:
        name = self.name
        address = nat.find("address")
        if address is not None:
            start, end = address.get("start"), address.get("end")
            for label, value in (("start", start), ("end", end)):
                if value is None:
                    self.fail(VIR_ERR_XML_ERROR, f"missing '{label}' attribute in <address> "
                                                 f"element in <nat> in <forward> in network "
                                                 f"{name}")
                parsed = _parse_ip(value)
                if parsed is None or parsed.version != 4:
                    self.fail(VIR_ERR_XML_ERROR, f"Bad ipv4 {label} address '{value}' in "
                                                 f"<nat> in <forward> in network '{name}'")
            if int(_parse_ip(start)) > int(_parse_ip(end)):
                self.fail(VIR_ERR_INTERNAL_ERROR, f"range {start} - {end} is reversed ",
                          VIR_FROM_NONE)
        port = nat.find("port")
        if port is not None:
            for attr in ("start", "end"):
                value = port.get(attr)
                if value is None or not _is_uint(value) or int(value) > 65535:
                    self.fail(VIR_ERR_XML_DETAIL, f"Missing or invalid '{attr}' attribute in "
                                                  f"<port> in <nat> in <forward> in network "
                                                  f"{name}")
            if int(port.get("start")) > int(port.get("end")):
                self.fail(VIR_ERR_XML_DETAIL, "Missing or invalid 'end' attribute in <port> "
                                              f"in <nat> in <forward> in network {name}")

    def _check_port(self) -> None:
        port = self.root.find("port")
        if port is not None:
            _bool_attr_error(port, "isolated")

    def _check_mtu(self) -> None:
        mtu = self.root.find("mtu")
        if mtu is None:
            return
        size = mtu.get("size")
        if size is None or not _is_uint(size):
            self.fail(VIR_ERR_XML_ERROR, f"Invalid mtu size '{size}' in network '{self.name}'")


def _is_uint(text: str) -> bool:
    return text.strip().isdigit()


__all__ = ["ShapedBuilder", "insert_by_shape", "NetworkDef", "NetworkIP", "DhcpRange", "DhcpHost", "DnsHost", "DnsForwarder",
           "DnsSrv", "DnsTxt", "Shape", "NETWORK_SHAPE", "FORWARD_MODES", "parse_uuid",
           "parse_mac"]

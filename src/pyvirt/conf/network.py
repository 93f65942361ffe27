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
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import ClassVar, Iterator

from lxml import etree

from pyvirt.conf.netdev_bandwidth import Bandwidth, normalize_bandwidth, parse_bandwidth
from pyvirt.conf.xmlbuilder import (
    XMLBuilder, XMLChildProperty, XMLProperty, parse_xml, reorder_attributes,
)
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_NAME, VIR_ERR_SYSTEM_ERROR,
    VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR, VIR_FROM_NETWORK, VIR_FROM_NONE, VIR_FROM_XML, error,
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
    """

    attrs: tuple[str, ...] = ()
    children: dict[str, "Shape"] = field(default_factory=dict)
    opaque: bool = False


OPAQUE = Shape(opaque=True)


def _elements(node: etree._Element) -> Iterator[etree._Element]:
    return (c for c in node if isinstance(c.tag, str))


def shape_normalize_order(node: etree._Element, shape: Shape) -> None:
    """Reorder attributes and children to libvirt's order, at every depth.

    As XMLBuilder.sort_children does, an unknown element stays right after the
    known sibling it followed; unknown attributes go after the known ones.
    """
    if shape.opaque:
        return
    reorder_attributes(node, shape.attrs)
    order = list(shape.children)
    ranked, current = [], -1
    for index, child in enumerate(node):
        if isinstance(child.tag, str) and child.tag in shape.children:
            current = order.index(child.tag)
        ranked.append((current, index, child))
    ranked.sort(key=lambda item: (item[0], item[1]))
    if [c for _r, _i, c in ranked] != list(node):
        for _r, _i, child in ranked:
            node.remove(child)
        for _r, _i, child in ranked:
            node.append(child)
    for child in _elements(node):
        sub = shape.children.get(child.tag)
        if sub is not None:
            shape_normalize_order(child, sub)


def _display(node: etree._Element, name: str | None = None) -> str:
    """A tag or attribute as the document spells it (``my:extension``)."""
    key = node.tag if name is None else name
    q = etree.QName(key)
    if q.namespace is None:
        return key
    for prefix, uri in node.nsmap.items():
        if uri == q.namespace and prefix:
            return f"{prefix}:{q.localname}"
    return q.localname


def _walk_unknown(node: etree._Element, shape: Shape, path: tuple[str, ...],
                  found: list[tuple[str, etree._Element, str | None]]) -> None:
    if shape.opaque:
        return
    where = "/".join(path) or _display(node)
    for name in node.attrib:
        if name not in shape.attrs:
            found.append((f"attribute '{_display(node, name)}' of <{where}>", node, name))
    for child in _elements(node):
        sub = shape.children.get(child.tag)
        here = path + (_display(child),)
        if sub is None:
            found.append((f"element <{'/'.join(here)}>", child, None))
        else:
            _walk_unknown(child, sub, here, found)


def shape_unknown_parts(node: etree._Element, shape: Shape) -> list[str]:
    """What ``shape`` does not know under a document root, named as DomainDef names
    them: ``element <ip/dhcp/pool>``, ``attribute 'zone' of <bridge>``."""
    found: list[tuple[str, etree._Element, str | None]] = []
    _walk_unknown(node, shape, (), found)
    return [desc for desc, _node, _attr in found]


def shape_strip_unknown(node: etree._Element, shape: Shape) -> list[str]:
    """Remove every element and attribute ``shape`` does not know; returns their names."""
    found: list[tuple[str, etree._Element, str | None]] = []
    _walk_unknown(node, shape, (), found)
    for _desc, elem, attr in found:
        if attr is not None:
            elem.attrib.pop(attr, None)
        elif elem.getparent() is not None:
            elem.getparent().remove(elem)
    for comment in [c for c in node.iter() if not isinstance(c.tag, str)]:
        if comment.getparent() is not None:
            comment.getparent().remove(comment)
    etree.cleanup_namespaces(node)
    return [desc for desc, _node, _attr in found]


def shape_orders(shape: Shape) -> tuple[dict[str, tuple[str, ...]],
                                        dict[str, tuple[str, ...]]]:
    """The shape as XMLBuilder's tables: (child order by element path, attribute
    order by element path), paths like ``"ip/dhcp"`` ("" is the root)."""
    children: dict[str, tuple[str, ...]] = {}
    attrs: dict[str, tuple[str, ...]] = {}

    def visit(sub: Shape, path: tuple[str, ...]) -> None:
        if sub.opaque:
            return
        key = "/".join(path)
        if sub.attrs:
            attrs[key] = sub.attrs
        if sub.children and path:
            children[key] = tuple(sub.children)
        for tag, child in sub.children.items():
            visit(child, path + (tag,))

    visit(shape, ())
    return children, attrs


class ShapedBuilder(XMLBuilder):
    """An XMLBuilder whose whole document follows a :class:`Shape` (``_shape``).

    The shape fills XMLBuilder's order tables, so fields create elements and
    attributes in libvirt's order at any depth, and it answers
    :meth:`unknown_parts` / :meth:`strip_unknown`.
    """

    _shape: ClassVar[Shape] = Shape()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "_shape" in cls.__dict__:
            cls._child_order = tuple(cls._shape.children)
            cls._nested_order, cls._attr_order = shape_orders(cls._shape)

    def unknown_parts(self) -> list[str]:
        """Readable names of what libvirt's schema for this document lacks, in
        document order (``element <title>``, ``attribute 'colour' of <bridge>``)."""
        return shape_unknown_parts(self.node, self._shape)

    def strip_unknown(self) -> list[str]:
        """Drop what libvirt would drop (everything :meth:`unknown_parts` lists);
        returns the names dropped."""
        return shape_strip_unknown(self.node, self._shape)


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
    """Parse a document and check its root tag, with libvirt's messages.

    Syntax errors carry the document kind's error domain, as libvirt's do.
    """
    root = parse_xml(text, label, domain=domain)
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
                                     "bandwidth": OPAQUE}),
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
    lease_expiry = XMLProperty("./lease/@expiry", kind=int)
    lease_unit = XMLProperty("./lease/@unit")


class NetworkRoute(XMLBuilder):
    """A static ``<route>`` the network adds through a gateway on one of its subnets."""

    _root_name = "route"
    family = XMLProperty("./@family")
    address = XMLProperty("./@address")
    netmask = XMLProperty("./@netmask")
    prefix = XMLProperty("./@prefix", kind=int)
    gateway = XMLProperty("./@gateway")
    metric = XMLProperty("./@metric", kind=int)


class PortGroup(XMLBuilder):
    """A ``<portgroup>``; its ``<vlan>``/``<bandwidth>``/``<virtualport>`` are kept as is."""

    _root_name = "portgroup"
    name = XMLProperty("./@name")
    default = XMLProperty("./@default", kind=bool)


class NetworkIP(ShapedBuilder):
    """One ``<ip>``: address, netmask or prefix, DHCP ranges, static hosts, bootp."""

    _root_name = "ip"
    _shape = _IP_SHAPE
    _expand_empty = frozenset({"ip"})
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
    hostnames = XMLProperty("./hostname", multi=True)


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
    _error_domain = VIR_FROM_NETWORK
    _shape = NETWORK_SHAPE
    _expand_empty = frozenset({"ip", "portgroup"})
    _verbatim_tags = frozenset({"metadata"})

    name = XMLProperty("./name")
    uuid = XMLProperty("./uuid")
    ipv6 = XMLProperty("./@ipv6", kind=bool)
    trust_guest_rx_filters = XMLProperty("./@trustGuestRxFilters", kind=bool)
    connections = XMLProperty("./@connections", kind=int)
    forward_mode = XMLProperty("./forward/@mode")
    forward_dev = XMLProperty("./forward/@dev")
    forward_managed = XMLProperty("./forward/@managed", kind=bool)
    forward_driver = XMLProperty("./forward/driver/@name")
    forward_pf = XMLProperty("./forward/pf/@dev")
    forward_interfaces = XMLProperty("./forward/interface/@dev", multi=True)
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
    routes = XMLChildProperty(NetworkRoute)
    portgroups = XMLChildProperty(PortGroup)
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

    @property
    def bandwidth(self) -> Bandwidth | None:
        """The network's own ``<bandwidth>`` (applied on its bridge), None when unset."""
        return parse_bandwidth(self.node.find("bandwidth"), allow_floor=False)

    def portgroup_bandwidth(self, name: str | None) -> Bandwidth | None:
        """``<bandwidth>`` of portgroup ``name``, or of the default portgroup when None."""
        for group in self.node.findall("portgroup"):
            if (group.get("name") == name) if name else group.get("default") == "yes":
                return parse_bandwidth(group.find("bandwidth"), allow_floor=False)
        return None

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
    _normalize_forward(root)
    if (net.forward_mode or "none") in _BRIDGED_BY_LIBVIRT:
        bridge = net.make_path(["bridge"])
        bridge.set("stp", "off" if bridge.get("stp") == "off" else "on")
        bridge.set("delay", str(int(bridge.get("delay", "0"))))
    else:  # a bridge libvirt does not manage: only its name and MAC table manager
        bridge = root.find("bridge")
        if bridge is not None:
            for attr in ("stp", "delay"):
                bridge.attrib.pop(attr, None)
            if not bridge.attrib:
                root.remove(bridge)
    for group in root.findall("portgroup"):
        if group.get("default") != "yes":
            group.attrib.pop("default", None)
        normalize_bandwidth(group, allow_floor=False)
    normalize_bandwidth(root, allow_floor=False)
    for ip in net.ips:
        _normalize_ip(ip)
    dns = root.find("dns")
    for srv in dns.findall("srv") if dns is not None else ():
        for attr in ("priority", "weight"):     # libvirt keeps 0 as "not given"
            if srv.get(attr, "").strip() == "0":
                del srv.attrib[attr]
    if dns is not None and not len(dns) and not dns.attrib:
        root.remove(dns)


def _normalize_forward(root: etree._Element) -> None:
    """<forward> without mode is NAT; mode 'none' is no <forward>; dev and the first
    <interface> name the same device."""
    forward = root.find("forward")
    if forward is None:
        return
    if forward.get("mode") == "none":
        root.remove(forward)
        return
    if forward.get("mode") is None:
        forward.set("mode", "nat")
    managed = forward.attrib.pop("managed", None)
    if managed is not None and forward.get("mode") == "hostdev":
        forward.set("managed", "yes" if managed.lower() == "yes" else "no")
    first_if = forward.find("interface")
    dev = forward.get("dev")
    if dev and first_if is None and forward.find("pf") is None:
        etree.SubElement(forward, "interface", dev=dev)
    elif not dev and first_if is not None and first_if.get("dev"):
        forward.set("dev", first_if.get("dev"))


def _normalize_ip(ip: NetworkIP) -> None:
    for attr in ("address", "netmask"):
        value = ip.node.get(attr)
        parsed = _parse_ip(value) if value else None
        if parsed is not None:
            ip.node.set(attr, str(parsed))
    dhcp = ip.node.find("dhcp")
    if dhcp is None:
        return
    ipv6 = _parse_ip(ip.address or "") is not None and _parse_ip(ip.address).version == 6
    for bootp in dhcp.findall("bootp"):
        if not bootp.get("file") or ipv6:
            dhcp.remove(bootp)
    for lease in dhcp.findall("*/lease"):
        if lease.get("expiry", "").strip() in ("0", ""):
            lease.attrib.pop("unit", None)
        elif lease.get("unit") is None:
            lease.set("unit", "minutes")
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
    import socket  # only for libvirt's short IPv4 forms ("1.2.3")
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
        for step in (self._check_bridge, self._check_mac, self._check_bandwidth,
                     self._check_domain,
                     self._check_dns, self._check_ips, self._check_routes,
                     self._check_portgroups, self._check_forward, self._check_port,
                     self._check_mtu, self._check_route_gateways):
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
        manager = bridge.get("macTableManager")
        if manager is not None and manager not in ("default", "kernel", "libvirt"):
            self.fail(VIR_ERR_XML_ERROR, f"Invalid macTableManager setting '{manager}' in "
                                         f"network '{self.name}'")

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
            if not any(h.text for h in host.findall("hostname")):
                self.fail(VIR_ERR_XML_DETAIL,
                          f"Missing hostname in network '{name}' DNS HOST record")
        for srv in dns.findall("srv"):
            self._check_srv(srv)
        for txt in dns.findall("txt"):
            if txt.get("name") is None:
                self.fail(VIR_ERR_XML_DETAIL, "missing required name attribute in DNS TXT "
                                              f"record of network {name}")
            if " " in txt.get("name"):
                self.fail(VIR_ERR_XML_DETAIL, "prohibited character in DNS TXT record name "
                                              f"'{txt.get('name')}' of network {name}")
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
        if not re.fullmatch(r"[A-Za-z0-9_-]*", service):
            self.fail(VIR_ERR_XML_DETAIL, f"invalid character in service attribute "
                                          f"'{service}' in DNS SRV record of network '{name}'")
        protocol = srv.get("protocol")
        if protocol is None:
            self.fail(VIR_ERR_XML_DETAIL, "missing required protocol attribute in DNS SRV "
                                          f"record '{service}' of network '{name}'")
        if not re.fullmatch(r"[A-Za-z0-9]*", protocol):
            self.fail(VIR_ERR_XML_DETAIL, f"invalid character in protocol attribute "
                                          f"'{protocol}' in DNS SRV record of network "
                                          f"'{name}'")
        for attr in ("port", "priority", "weight"):
            value = srv.get(attr)
            if value is None:
                continue
            if srv.get("target") is None:
                self.fail(VIR_ERR_XML_DETAIL, f"DNS SRV {attr} attribute not permitted "
                                              f"without target for service '{service}' "
                                              f"in network '{name}'")
            low = 1 if attr == "port" else 0
            if not _is_uint(value) or not low <= int(value) <= 65535:
                first = "Invalid" if attr == "priority" else "invalid"
                self.fail(VIR_ERR_XML_DETAIL, f"{first} DNS SRV {attr} attribute for "
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
        _bool_attr_error(node, "localPtr")
        if addr.version == 6 and node.find("tftp") is not None:
            self.fail(VIR_ERR_CONFIG_UNSUPPORTED, "Unsupported <tftp> element in an IPv6 "
                                                  f"element in network '{name}'")
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
            self._check_range_in(ip, subnet, start, end)
            if int(first) > int(last):
                self.fail(VIR_ERR_INTERNAL_ERROR, f"range {start} - {end} is reversed ",
                          VIR_FROM_NONE)
            self._check_lease(rng.find("lease"))
        for host in dhcp.findall("host"):
            self._check_lease(host.find("lease"))
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

    def _check_range_in(self, ip: NetworkIP, subnet: ipaddress.IPv4Network |
                        ipaddress.IPv6Network | None, start: str, end: str) -> None:
        """virSocketAddrGetRange's checks of a range against its network."""
        first, last = _parse_ip(start), _parse_ip(end)
        where = f"{ip.address}/{subnet.prefixlen}" if subnet is not None else ip.address
        if subnet is None or first.version != subnet.version or last.version != subnet.version:
            self.fail(VIR_ERR_INTERNAL_ERROR, f"mismatch of address family in range {start} - "
                                              f"{end} for network {ip.address}", VIR_FROM_NONE)
        if first not in subnet or last not in subnet:
            self.fail(VIR_ERR_INTERNAL_ERROR, f"range {start} - {end} is not entirely within "
                                              f"network {where}", VIR_FROM_NONE)
        if subnet.version == 4 and first == subnet.network_address:
            self.fail(VIR_ERR_INTERNAL_ERROR, f"start of range {start} - {end} in network "
                                              f"{where} is the network address", VIR_FROM_NONE)
        if subnet.version == 4 and last == subnet.broadcast_address:
            self.fail(VIR_ERR_INTERNAL_ERROR, f"end of range {start} - {end} in network "
                                              f"{where} is the broadcast address",
                      VIR_FROM_NONE)

    def _check_lease(self, lease: etree._Element | None) -> None:
        if lease is None:
            return
        expiry, unit = lease.get("expiry"), lease.get("unit")
        if expiry is None or not _is_uint(expiry):
            self.fail(VIR_ERR_XML_ERROR, "Invalid value for attribute 'expiry' in element "
                                         f"'lease': '{expiry}'. Expected non-negative integer "
                                         "value", VIR_FROM_XML)
        if unit is not None and unit not in _LEASE_UNITS:
            self.fail(VIR_ERR_XML_ERROR, "Invalid value for attribute 'unit' in element "
                                         f"'lease': '{unit}'.", VIR_FROM_XML)
        seconds = int(expiry) * _LEASE_UNITS[unit or "minutes"]
        if 0 < seconds < 120:
            self.fail(VIR_ERR_CONFIG_UNSUPPORTED, "The minimum lease time should be greater "
                                                  "than 2 minutes")

    def _check_routes(self) -> None:
        for route in self.root.findall("route"):
            _RouteChecker(self, route).run()

    def _check_route_gateways(self) -> None:
        """A static route's gateway must sit in one of the network's own subnets."""
        subnets = [n for n in (ip.network() for ip in self.net.ips) if n is not None]
        for route in self.root.findall("route"):
            gateway = _parse_ip(route.get("gateway", ""))
            if not any(gateway in subnet for subnet in subnets
                       if subnet.version == gateway.version):
                self.fail(VIR_ERR_CONFIG_UNSUPPORTED, "unreachable static route gateway "
                                                      f"'{route.get('gateway')}' specified for "
                                                      f"network '{self.name}'")

    def _check_bandwidth(self) -> None:
        parse_bandwidth(self.root.find("bandwidth"), allow_floor=False)

    def _check_portgroups(self) -> None:
        for group in self.root.findall("portgroup"):
            if not group.get("name"):
                self.fail(VIR_ERR_XML_ERROR, "Missing required name attribute in portgroup")
            parse_bandwidth(group.find("bandwidth"), allow_floor=False)

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
        if len(forward.findall("pf")) > 1:
            self.fail(VIR_ERR_XML_ERROR, "Only one <pf> element is allowed in <forward> of "
                                         f"network {name}")
        if mode in ("nat", "route") and len(forward.findall("interface")) > 1:
            self.fail(VIR_ERR_XML_ERROR, "multiple forwarding interfaces specified for "
                                         f"network '{name}', only one is supported")
        bridge = self.root.find("bridge")
        if mode not in _BRIDGED_BY_LIBVIRT and bridge is not None and (
                bridge.get("zone") or bridge.get("stp") is not None
                or (bridge.get("delay") or "0").strip() != "0"):
            self.fail(VIR_ERR_XML_ERROR, "bridge delay/stp/zone options only allowed in "
                                         f"route, nat, and isolated mode, not in {mode} "
                                         f"(network '{name}')")
        bridge_name = self.net.bridge_name
        if mode in ("passthrough", "private", "vepa", "hostdev") and bridge_name:
            self.fail(VIR_ERR_XML_ERROR, f"bridge name not allowed in {mode} mode "
                                         f"(network '{name}')")
        if mode == "bridge" and bridge_name and (dev or first_if is not None):
            self.fail(VIR_ERR_XML_ERROR, "A network with forward mode='bridge' can specify "
                                         "a bridge name or a forward dev, but not both "
                                         f"(network '{name}')")
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
        _bool_attr_error(nat, "ipv6")
        for tag in ("address", "port"):
            if len(nat.findall(tag)) > 1:
                self.fail(VIR_ERR_XML_ERROR, f"Only one <{tag}> element is allowed in <nat> in "
                                             f"<forward> in network {name}")
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


#: Seconds in each <lease unit=...>.
_LEASE_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}


class _RouteChecker:
    """virNetDevIPRouteCreate's checks of one static ``<route>``, in its order."""

    def __init__(self, owner: _NetworkChecker, route: etree._Element) -> None:
        self.owner = owner
        self.route = route

    def fail(self, detail: str) -> None:
        self.owner.fail(VIR_ERR_XML_ERROR, f"{self.owner.name}: {detail}")

    def run(self) -> None:
        route = self.route
        metric = route.get("metric")
        if metric is not None and (not _is_uint(metric) or int(metric) == 0):
            reason = ("Zero is not permitted" if _is_uint(metric) else
                      f"'{metric}'. Expected non-negative integer value")
            self.owner.fail(VIR_ERR_XML_ERROR, "Invalid value for attribute 'metric' in "
                                               f"element 'route': {reason}", VIR_FROM_XML)
        family, address, gateway = route.get("family"), route.get("address"), \
            route.get("gateway")
        netmask, prefix = route.get("netmask"), route.get("prefix")
        if address is None:
            self.fail("Missing required address attribute in route definition")
        if gateway is None:
            self.fail("Missing required gateway attribute in route definition")
        addr, gw = _parse_ip(address), _parse_ip(gateway)
        if addr is None:
            self.fail(f"Bad network address '{address}' in route definition")
        if gw is None:
            self.fail(f"Bad gateway address '{gateway}' in route definition")
        bits = int(prefix) if prefix is not None and _is_uint(prefix) else None
        if family == "ipv6":
            self._check_ipv6(address, gateway, addr, gw, netmask, bits)
        elif family in (None, "ipv4"):
            bits = self._check_ipv4(family, address, addr, gw, netmask, bits)
        else:
            self.fail(f"Unrecognized family '{family}' in route definition")
        network = ipaddress.ip_network(f"{addr}/{bits or 0}", strict=False)
        if network.network_address != addr:
            self.fail(f"Address '{address}' in route definition is not a network address")

    def _check_ipv6(self, address: str, gateway: str, addr: ipaddress._BaseAddress,
                    gw: ipaddress._BaseAddress, netmask: str | None, bits: int | None) -> None:
        if netmask is not None:
            self.fail(f"Specifying netmask invalid for IPv6 address '{address}' in route "
                      "definition")
        if addr.version != 6:
            self.fail(f"ipv6 family specified for non-IPv6 address '{address}' in route "
                      "definition")
        if gw.version != 6:
            self.fail(f"ipv6 specified for non-IPv6 gateway address '{gateway}' in route "
                      "definition")
        if bits is not None and bits > 128:
            self.fail(f"Invalid prefix {bits} specified in route definition, must be 0 - 128")

    def _check_ipv4(self, family: str | None, address: str, addr: ipaddress._BaseAddress,
                    gw: ipaddress._BaseAddress, netmask: str | None,
                    bits: int | None) -> int | None:
        """The IPv4 checks; returns the prefix length the netmask gives, if any."""
        if netmask is not None:
            if bits is not None:
                self.fail("Route definition cannot have both a prefix and a netmask")
            mask = _parse_ip(netmask)
            if mask is None:
                self.fail(f"Bad netmask address '{netmask}' in route definition")
            if mask.version != 4 or addr.version != 4:
                self.fail(f"Invalid netmask '{netmask}' for address '{address}' "
                          "(both must be IPv4)")
            bits = bin(int(mask)).count("1")
        said = "IPv4 family" if family else "No family"
        if addr.version != 4:
            self.fail(f"{said} specified for non-IPv4 address '{address}' in route definition")
        if gw.version != 4:
            # libvirt names the address here, not the gateway
            self.fail(f"{said} specified for non-IPv4 gateway '{address}' in route definition")
        if bits is not None and bits > 32:
            self.fail(f"Invalid prefix {bits} specified in route definition, must be 0 - 32")
        return bits


def _is_uint(text: str) -> bool:
    return text.strip().isdigit()


__all__ = ["Shape", "ShapedBuilder", "insert_by_shape", "shape_orders", "NetworkDef",
           "NetworkIP", "DhcpRange", "DhcpHost", "NetworkRoute", "PortGroup", "DnsHost", "DnsForwarder", "DnsSrv", "DnsTxt",
           "NETWORK_SHAPE", "FORWARD_MODES", "parse_uuid", "parse_mac"]

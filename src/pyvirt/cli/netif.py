"""A domain's network interfaces: domif-getlink, domif-setlink, domifaddr, domiftune, and the
network's DHCP leases (net-dhcp-leases)."""

from __future__ import annotations

import re
import time

from lxml import etree

from pyvirt.cli.command import DATA, STRING, Opt, command, domain_opt, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.flags import affect_flags
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import format_table

MAC_RE = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _interface_opt() -> Opt:
    return Opt("interface", DATA, "interface device (MAC Address)", required=True)


def find_interface(xml: str, iface: str):
    """The <interface> whose MAC (when ``iface`` is one) or target dev is ``iface``."""
    root = etree.fromstring(xml.encode(), _PARSER)
    if MAC_RE.match(iface):
        mac = ":".join(f"{int(part, 16):02x}" for part in iface.split(":"))
        nodes = root.xpath("/domain/devices/interface[mac/@address = $v]", v=mac)
        kind = "mac"
    else:
        nodes = root.xpath("/domain/devices/interface[target/@dev = $v]", v=iface)
        kind = "dev"
    if not nodes:
        raise CommandFailed(f"Interface ({kind}: {iface}) not found.")
    if len(nodes) > 1:
        raise CommandFailed("multiple matching interfaces found")
    return nodes[0]


@command("domif-getlink", "monitor", "get link state of a virtual interface",
         "Get link state of a domain's virtual interface.",
         domain_opt(), _interface_opt(), flag("config", "Get persistent interface state"))
def cmd_domif_getlink(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    iface = inv.get("interface")
    flags = lv.VIR_DOMAIN_XML_INACTIVE if inv.has("config") else 0
    try:
        xml = dom.XMLDesc(flags)
    except lv.libvirtError as err:
        raise CommandFailed("Failed to get domain description xml", err) from err
    node = find_interface(xml, iface)
    state = node.xpath("string(link/@state)") or "up"
    ctl.print(f"{iface} {state}")
    return True


@command("domif-setlink", "domain", "set link state of a virtual interface",
         "Set link state of a domain's virtual interface. This command wraps usage of "
         "update-device command.",
         domain_opt(), _interface_opt(),
         Opt("state", DATA, "new state of the device", required=True),
         flag("config", "affect next boot"),
         flag("print-xml", "print XML document rather than set the interface link state"))
def cmd_domif_setlink(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    iface, state = inv.get("interface"), inv.get("state")
    if state not in ("up", "down"):
        raise CommandFailed(f"invalid link state '{state}'")
    config = inv.has("config")
    flags = lv.VIR_DOMAIN_AFFECT_CONFIG if config else lv.VIR_DOMAIN_AFFECT_LIVE
    if not dom.isActive():
        flags = lv.VIR_DOMAIN_AFFECT_CONFIG
    try:
        xml = dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE if config else 0)
    except lv.libvirtError as err:
        raise CommandFailed("Failed to get domain description xml", err) from err
    node = find_interface(xml, iface)
    link = node.find("link")
    if link is None:
        link = etree.SubElement(node, "link")
    link.set("state", state)
    device = etree.tostring(node, encoding=str, with_tail=False)
    if inv.has("print-xml"):
        ctl.print(device)
        return True
    try:
        dom.updateDeviceFlags(device, flags)
    except lv.libvirtError as err:
        raise CommandFailed("Failed to update interface link state", err) from err
    ctl.print_extra("Device updated successfully\n")
    return True


_SOURCES = {"lease": 0, "agent": 1, "arp": 2}
_ADDR_TYPES = {0: "ipv4", 1: "ipv6"}


@command("domifaddr", "monitor", "Get network interfaces' addresses for a running domain",
         "Get network interfaces' addresses for a running domain",
         domain_opt(),
         Opt("interface", STRING, "network interface name"),
         flag("full", "always display names and MACs of interfaces"),
         Opt("source", STRING, "address source: 'lease', 'agent', or 'arp'"))
def cmd_domifaddr(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    source_name = inv.get("source")
    source = 0
    if source_name is not None:
        if source_name not in _SOURCES:
            raise CommandFailed(f"Unknown data source '{source_name}'")
        source = _SOURCES[source_name]
    try:
        ifaces = dom.interfaceAddresses(source, 0)
    except lv.libvirtError as err:
        raise CommandFailed("Failed to query for interfaces addresses", err) from err
    wanted, full = inv.get("interface"), inv.has("full")
    ctl.print_extra(f" {'Name':<10} {'MAC address':<17}    {'Protocol':<12} Address\n"
                    + "-" * 79 + "\n")
    for name in sorted(ifaces):
        if wanted and name != wanted:
            continue
        info = ifaces[name]
        hwaddr = info.get("hwaddr") or "N/A"
        addrs = info.get("addrs") or []
        if not addrs:
            ctl.print(f" {name:<10} {hwaddr:<17}    {'N/A':<12} N/A\n")
            continue
        for index, addr in enumerate(addrs):
            kind = _ADDR_TYPES.get(addr.get("type"), "")
            text = f"{kind:<12} {addr.get('addr')}/{addr.get('prefix')}"
            if index and not full:
                ctl.print(f" {'-':<10} {'-':<17}    {text}\n")
            else:
                ctl.print(f" {name:<10} {hwaddr:<17}    {text}\n")
    return True


@command("net-dhcp-leases", "network", "print lease info for a given network",
         "Print lease info for a given network",
         Opt("network", DATA, "network name or uuid", required=True),
         Opt("mac", STRING, "MAC address"))
def cmd_net_dhcp_leases(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    net = ctl.network(inv)
    try:
        leases = net.DHCPLeases(inv.get("mac"), 0)
    except lv.libvirtError as err:
        raise CommandFailed(f"Failed to get leases info for {net.name()}", err) from err
    rows = []
    for lease in sorted(leases, key=lambda item: (item.get("mac") or "")):
        expiry = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(lease.get("expirytime", 0)))
        rows.append([expiry, lease.get("mac") or "-",
                     _ADDR_TYPES.get(lease.get("type"), "ipv4"),
                     f"{lease.get('ipaddr')}/{lease.get('prefix')}",
                     lease.get("hostname") or "-", lease.get("clientid") or "-"])
    ctl.print(format_table(["Expiry Time", "MAC address", "Protocol", "IP address",
                            "Hostname", "Client ID or DUID"], rows,
                           with_header=not ctl.quiet))
    return True


# --- domiftune ----------------------------------------------------------------------------
def _tune_rate(text: str, direction: str) -> dict[str, int]:
    """virsh's --inbound/--outbound average,peak,burst,floor as typed parameters."""
    from pyvirt.cli.ifattach import parse_rate
    rate = parse_rate(text)
    average, floor = rate.get("average", 0), rate.get("floor", 0)
    if direction == "inbound" and not average and not floor and (rate.get("peak")
                                                                  or rate.get("burst")):
        raise CommandFailed("either inbound average or floor is mandatory")
    if direction == "outbound" and not average and (rate.get("peak") or rate.get("burst")):
        raise CommandFailed("outbound average is mandatory")
    if direction == "outbound" and floor:
        raise CommandFailed("outbound floor is unsupported yet")
    params = {f"{direction}.average": average}
    for name in ("peak", "burst", "floor"):
        if rate.get(name):
            params[f"{direction}.{name}"] = rate[name]
    return params


@command("domiftune", "domain", "get/set parameters of a virtual interface",
         "Get/set parameters of a domain's virtual interface.",
         domain_opt(), _interface_opt(),
         Opt("inbound", STRING, "control domain's incoming traffics"),
         Opt("outbound", STRING, "control domain's outgoing traffics"),
         flag("config", "affect next boot"), flag("live", "affect running domain"),
         flag("current", "affect current domain"))
def cmd_domiftune(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    flags = affect_flags(ctl, inv)
    dom = ctl.domain(inv)
    device = inv.get("interface")
    params: dict[str, int] = {}
    for direction in ("inbound", "outbound"):
        if inv.get(direction) is not None:
            params.update(_tune_rate(inv.get(direction), direction))
    if not params:
        try:
            values = dom.interfaceParameters(device, flags)
        except lv.libvirtError as err:
            raise CommandFailed("Unable to get interface parameters", err) from err
        ctl.print("".join(f"{name:<15}: {value}\n" for name, value in values.items()))
        return True
    try:
        dom.setInterfaceParameters(device, params, flags)
    except lv.libvirtError as err:
        raise CommandFailed("Unable to set interface parameters", err) from err
    return True

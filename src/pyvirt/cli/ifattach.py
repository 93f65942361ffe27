"""attach-interface and detach-interface: an <interface> built from options, or
found by type and MAC in the domain's XML, then (de)attached."""

from __future__ import annotations

import re

from lxml import etree

from pyvirt.cli.command import DATA, STRING, Opt, command, domain_opt, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.flags import device_affect_flags
from pyvirt.cli.parser import Invocation

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_SOURCE_ATTR = {"network": "network", "bridge": "bridge", "direct": "dev"}
_PCI = re.compile(r"^([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]+)\.([0-9a-fA-F]+)$")
_RATE_FIELDS = ("average", "peak", "burst", "floor")
_AFFECT = (flag("persistent", "make live change persistent"),
           flag("config", "affect next boot"),
           flag("live", "affect running domain"),
           flag("current", "affect current domain"))


def _attr(value: str) -> str:
    """A single-quoted attribute value written verbatim: virsh 9.0 escapes nothing here."""
    return f"'{value}'"


def check_affect_options(inv: Invocation) -> None:
    for a, b in (("persistent", "current"), ("current", "config"), ("current", "live")):
        if inv.has(a) and inv.has(b):
            raise CommandFailed(f"Options --{a} and --{b} are mutually exclusive")


def parse_rate(text: str) -> dict[str, int]:
    """virsh's average,peak,burst,floor string; empty fields are left out."""
    parts = text.split(",")
    if len(parts) > 4:
        raise CommandFailed(f"Rate string '{text}' has too many fields")
    rate = {}
    for name, part in zip(_RATE_FIELDS, parts):
        if not part:
            continue
        if not part.isdigit():
            raise CommandFailed(f"field '{name}' is malformed")
        rate[name] = int(part)
    return rate


def _bandwidth(inv: Invocation) -> list[str]:
    lines = []
    for direction in ("inbound", "outbound"):
        text = inv.get(direction)
        if text is None:
            continue
        rate = parse_rate(text)
        if direction == "inbound" and not rate.get("average") and not rate.get("floor"):
            raise CommandFailed("either inbound average or floor is mandatory")
        if direction == "outbound" and not rate.get("average"):
            raise CommandFailed("outbound average is mandatory")
        if direction == "outbound" and rate.get("floor"):
            raise CommandFailed("outbound floor is unsupported yet")
        attrs = "".join(f" {name}='{rate[name]}'" for name in _RATE_FIELDS
                        if rate.get(name) and not (name == "floor" and direction == "outbound"))
        lines.append(f"    <{direction}{attrs}/>\n")
    return ["  <bandwidth>\n"] + lines + ["  </bandwidth>\n"] if lines else []


def interface_xml(inv: Invocation) -> str:
    """The <interface> document attach-interface builds."""
    kind, source = inv.get("type"), inv.get("source")
    mode = inv.get("source-mode")
    if mode is not None and mode not in ("server", "client"):
        raise CommandFailed(f"Invalid source mode: {mode}")
    managed = " managed='yes'" if inv.has("managed") else ""
    out = [f"<interface type={_attr(kind)}{managed}>\n"]
    if kind in _SOURCE_ATTR:
        out.append(f"  <source {_SOURCE_ATTR[kind]}={_attr(source)}/>\n")
    elif kind == "hostdev":
        match = _PCI.match(source)
        if not match:
            raise CommandFailed(f"cannot parse pci address '{source}' for network interface")
        dom_, bus, slot, func = match.groups()
        out.append("  <source>\n    <address type='pci' "
                   f"domain='0x{int(dom_, 16):04x}' bus='0x{int(bus, 16):02x}' "
                   f"slot='0x{int(slot, 16):02x}' function='0x{int(func, 16):x}'/>\n"
                   "  </source>\n")
    elif kind == "vhostuser":
        if mode is None:
            raise CommandFailed("source-mode is mandatory")
        out.append(f"  <source type='unix' path={_attr(source)} mode='{mode}'/>\n")
    else:
        raise CommandFailed(f"No support for {kind} in command 'attach-interface'")
    for opt, element, attr in (("target", "target", "dev"), ("mac", "mac", "address"),
                               ("script", "script", "path"), ("model", "model", "type"),
                               ("alias", "alias", "name")):
        if inv.get(opt) is not None:
            out.append(f"  <{element} {attr}={_attr(inv.get(opt))}/>\n")
    out += _bandwidth(inv)
    out.append("</interface>\n")
    return "".join(out)


@command("attach-interface", "domain", "attach network interface",
         "Attach new network interface.",
         domain_opt(),
         Opt("type", DATA, "network interface type", required=True),
         Opt("source", DATA, "source of network interface", required=True),
         Opt("target", STRING, "target network name"),
         Opt("mac", STRING, "MAC address"),
         Opt("script", STRING, "script used to bridge network interface"),
         Opt("model", STRING, "model type"),
         Opt("alias", STRING, "custom alias name of interface device"),
         Opt("inbound", STRING, "control domain's incoming traffics"),
         Opt("outbound", STRING, "control domain's outgoing traffics"),
         *_AFFECT,
         flag("print-xml", "print XML document rather than attach the interface"),
         flag("managed", "libvirt will automatically detach/attach the device from/to host"),
         Opt("source-mode", STRING, "mode attribute of <source/> element"))
def cmd_attach_interface(ctl: Ctl, inv: Invocation) -> bool:
    check_affect_options(inv)
    xml = interface_xml(inv)
    if inv.has("print-xml"):    # virsh prints before it looks the domain up
        ctl.print(xml)
        return True
    dom = ctl.domain(inv)
    flags, explicit = device_affect_flags(ctl, inv, dom)
    if explicit:
        ctl.call("Failed to attach interface", dom.attachDeviceFlags, xml, flags)
    else:
        ctl.call("Failed to attach interface", dom.attachDevice, xml)
    ctl.print_extra("Interface attached successfully\n")
    return True


def _same_mac(a: str, b: str) -> bool:
    try:
        return [int(x, 16) for x in a.split(":")] == [int(x, 16) for x in b.split(":")]
    except ValueError:
        return False


@command("detach-interface", "domain", "detach network interface", "Detach network interface.",
         domain_opt(),
         Opt("type", DATA, "network interface type", required=True),
         Opt("mac", STRING, "MAC address"),
         *_AFFECT,
         flag("print-xml", "print XML document rather than detach the interface"))
def cmd_detach_interface(ctl: Ctl, inv: Invocation) -> bool:
    """With both live and config affected, the live definition is handled first,
    then the persistent one (each printed under --print-xml), as virsh 9.0."""
    lv = ctl.binding
    dom = ctl.domain(inv)
    check_affect_options(inv)
    flags, explicit = device_affect_flags(ctl, inv, dom)
    live, config = lv.VIR_DOMAIN_AFFECT_LIVE, lv.VIR_DOMAIN_AFFECT_CONFIG
    passes = []
    if flags & live or not flags & config:
        passes.append((0, flags & ~config))
    if flags & config:
        passes.append((lv.VIR_DOMAIN_XML_INACTIVE, flags & ~live))
    for xml_flags, call_flags in passes:
        _detach_from(ctl, inv, dom, xml_flags, call_flags, explicit)
    if not inv.has("print-xml"):
        ctl.print_extra("Interface detached successfully\n")
    return True


def _detach_from(ctl: Ctl, inv: Invocation, dom, xml_flags: int, flags: int,
                 explicit: bool) -> None:
    lv = ctl.binding
    kind, mac = inv.get("type"), inv.get("mac")
    try:
        root = etree.fromstring(dom.XMLDesc(xml_flags).encode(), _PARSER)
    except lv.libvirtError as err:
        raise CommandFailed("Failed to detach interface", err) from err
    nodes = root.xpath("/domain/devices/interface[@type = $t]", t=kind)
    if not nodes:
        ctl.error(f"No interface found whose type is {kind}")
        raise CommandFailed("Failed to detach interface")
    if mac is not None:
        nodes = [n for n in nodes if _same_mac(n.xpath("string(mac/@address)"), mac)]
        if not nodes:
            ctl.error(f"No interface with MAC address {mac} was found")
            raise CommandFailed("Failed to detach interface")
    elif len(nodes) > 1:
        ctl.error(f"Domain has {len(nodes)} interfaces. Please specify which one to detach "
                  "using --mac")
        raise CommandFailed("Failed to detach interface")
    device = etree.tostring(nodes[0], encoding=str, with_tail=False)
    if inv.has("print-xml"):
        ctl.print(device)
        return
    if explicit:
        ctl.call("Failed to detach interface", dom.detachDeviceFlags, device, flags)
    else:
        ctl.call("Failed to detach interface", dom.detachDevice, device)

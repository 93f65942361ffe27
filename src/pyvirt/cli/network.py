"""Networking: net-list, net-info, net-dumpxml, net-define, net-create, net-start,
net-destroy, net-undefine, net-autostart, net-uuid, net-name."""

from __future__ import annotations

from pyvirt.cli.command import DATA, NUMBER, STRING, Opt, command, flag
from pyvirt.cli.ctl import UUID_RE, CommandFailed, Ctl
from pyvirt.cli.files import read_file
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import format_table
from pyvirt.cli.xpath import select

GRP = "network"


def network_opt() -> Opt:
    return Opt("network", DATA, "network name or uuid", required=True)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


@command("net-list", GRP, "list networks", "Returns list of networks.",
         flag("inactive", "list inactive networks"),
         flag("all", "list inactive & active networks"),
         flag("persistent", "list persistent networks"),
         flag("transient", "list transient networks"),
         flag("autostart", "list networks with autostart enabled"),
         flag("no-autostart", "list networks with autostart disabled"),
         flag("uuid", "list uuid's only"),
         flag("name", "list network names only"),
         flag("table", "list table (default)"))
def cmd_net_list(ctl: Ctl, inv: Invocation) -> bool:
    for other in ("uuid", "name"):
        if inv.has("table") and inv.has(other):
            raise CommandFailed(f"Options --table and --{other} are mutually exclusive")
    lv = ctl.binding
    flags = 0
    if inv.has("inactive"):
        flags |= lv.VIR_CONNECT_LIST_NETWORKS_INACTIVE
    if inv.has("all"):
        flags |= lv.VIR_CONNECT_LIST_NETWORKS_INACTIVE | lv.VIR_CONNECT_LIST_NETWORKS_ACTIVE
    if not flags:
        flags = lv.VIR_CONNECT_LIST_NETWORKS_ACTIVE
    for opt, const in (("persistent", "PERSISTENT"), ("transient", "TRANSIENT"),
                       ("autostart", "AUTOSTART"), ("no-autostart", "NO_AUTOSTART")):
        if inv.has(opt):
            flags |= getattr(lv, f"VIR_CONNECT_LIST_NETWORKS_{const}")
    try:
        nets = sorted(ctl.conn.listAllNetworks(flags), key=lambda n: n.name())
    except lv.libvirtError as err:
        raise CommandFailed("Failed to list networks", err) from err
    if inv.has("uuid") or inv.has("name"):
        for net in nets:
            parts = ([net.UUIDString()] if inv.has("uuid") else []) + \
                    ([net.name()] if inv.has("name") else [])
            ctl.print(" ".join(parts) + "\n")
        return True
    rows = [[n.name(), "active" if n.isActive() else "inactive",
             _yes_no(n.autostart()), _yes_no(n.isPersistent())] for n in nets]
    ctl.print(format_table(["Name", "State", "Autostart", "Persistent"], rows,
                           with_header=not ctl.quiet))
    return True


@command("net-info", GRP, "network information",
         "Returns basic information about the network", network_opt())
def cmd_net_info(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    net = ctl.network(inv)
    rows = [("Name:", net.name()), ("UUID:", net.UUIDString()),
            ("Active:", _yes_no(net.isActive())), ("Persistent:", _yes_no(net.isPersistent())),
            ("Autostart:", _yes_no(net.autostart()))]
    try:
        rows.append(("Bridge:", net.bridgeName()))
    except lv.libvirtError:
        pass
    ctl.print("".join(f"{label:<15} {value}\n" for label, value in rows))
    return True


@command("net-dumpxml", GRP, "network information in XML",
         "Output the network information as an XML dump to stdout.",
         network_opt(),
         flag("inactive", "show inactive defined XML"),
         Opt("xpath", STRING, "xpath expression to filter the XML document", positional=False),
         flag("wrap", "wrap xpath results in an common root element"))
def cmd_net_dumpxml(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    net = ctl.network(inv)
    flags = lv.VIR_NETWORK_XML_INACTIVE if inv.has("inactive") else 0
    ctl.print(select(net.XMLDesc(flags), inv.get("xpath"), inv.has("wrap")))
    return True


@command("net-define", GRP, "define an inactive persistent virtual network or modify an "
         "existing persistent one from an XML file",
         "Define or modify a persistent virtual network.",
         Opt("file", DATA, "file containing an XML network description", required=True),
         flag("validate", "validate the XML against the schema"))
def cmd_net_define(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    path = inv.get("file")
    xml = read_file(path)
    try:
        if inv.has("validate"):
            net = ctl.conn.networkDefineXMLFlags(xml, lv.VIR_NETWORK_DEFINE_VALIDATE)
        else:
            net = ctl.conn.networkDefineXML(xml)
    except lv.libvirtError as err:
        raise CommandFailed(f"Failed to define network from {path}", err) from err
    ctl.print_extra(f"Network {net.name()} defined from {path}\n")
    return True


def _net_action(name: str, help: str, description: str, method: str, fail_verb: str,
                done: str) -> None:
    def handler(ctl: Ctl, inv: Invocation) -> bool:
        net = ctl.network(inv)
        try:
            getattr(net, method)()
        except ctl.binding.libvirtError as err:
            raise CommandFailed(f"Failed to {fail_verb} network {net.name()}", err) from err
        ctl.print_extra(f"Network {net.name()} {done}\n")
        return True
    command(name, GRP, help, description, network_opt())(handler)


_net_action("net-start", "start a (previously defined) inactive network", "Start a network.",
            "create", "start", "started")
_net_action("net-destroy", "destroy (stop) a network", "Forcefully stop a given network.",
            "destroy", "destroy", "destroyed")
_net_action("net-undefine", "undefine a persistent network",
            "Undefine the configuration for a persistent network.",
            "undefine", "undefine", "has been undefined")


@command("net-autostart", GRP, "autostart a network",
         "Configure a network to be automatically started at boot.",
         network_opt(), flag("disable", "disable autostarting"))
def cmd_net_autostart(ctl: Ctl, inv: Invocation) -> bool:
    net = ctl.network(inv)
    enable = not inv.has("disable")
    verb = "mark" if enable else "unmark"
    try:
        net.setAutostart(1 if enable else 0)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"failed to {verb} network {net.name()} as autostarted",
                            err) from err
    ctl.print_extra(f"Network {net.name()} {verb}ed as autostarted\n")
    return True


@command("net-create", GRP, "create a network from an XML file", "Create a network.",
         Opt("file", DATA, "file containing an XML network description", required=True),
         flag("validate", "validate the XML against the schema"))
def cmd_net_create(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    path = inv.get("file")
    xml = read_file(path)
    try:
        if inv.has("validate"):
            net = ctl.conn.networkCreateXMLFlags(xml, lv.VIR_NETWORK_CREATE_VALIDATE)
        else:
            net = ctl.conn.networkCreateXML(xml)
    except lv.libvirtError as err:
        raise CommandFailed(f"Failed to create network from {path}", err) from err
    ctl.print_extra(f"Network {net.name()} created from {path}\n")
    return True


def _network_by(ctl: Ctl, inv: Invocation, by_uuid: bool):
    """virsh's lookup restricted to one key: net-name takes uuids, net-uuid names."""
    text = inv.get("network")
    lv = ctl.binding
    if by_uuid and not UUID_RE.match(text):
        raise CommandFailed(f"failed to get network '{text}'")
    lookup = ctl.conn.networkLookupByUUIDString if by_uuid else ctl.conn.networkLookupByName
    try:
        return lookup(text)
    except lv.libvirtError as err:
        raise CommandFailed(f"failed to get network '{text}'", err) from err


@command("net-uuid", GRP, "convert a network name to network UUID", "",
         Opt("network", DATA, "network name", required=True))
def cmd_net_uuid(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(_network_by(ctl, inv, by_uuid=False).UUIDString() + "\n")
    return True


@command("net-name", GRP, "convert a network UUID to network name", "",
         Opt("network", DATA, "network uuid", required=True))
def cmd_net_name(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(_network_by(ctl, inv, by_uuid=True).name() + "\n")
    return True


UPDATE_COMMANDS = {"modify": 1, "delete": 2, "add-last": 3, "add": 3, "add-first": 4}
UPDATE_SECTIONS = ["none", "bridge", "domain", "ip", "ip-dhcp-host", "ip-dhcp-range",
                   "forward", "forward-interface", "forward-pf", "portgroup", "dns-host",
                   "dns-txt", "dns-srv"]


def _parent_index(inv: Invocation) -> int:
    text = inv.get("parent-index")
    if text is None:
        return -1
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not -(1 << 31) <= value < 1 << 31:
        raise CommandFailed(f"Numeric value '{text}' for <parent-index> option is "
                            "malformed or out of range")
    return value


@command("net-update", GRP, "update parts of an existing network's configuration", "",
         network_opt(),
         Opt("command", DATA, "type of update (add-first, add-last (add), delete, or modify)",
             required=True),
         Opt("section", DATA, "which section of network configuration to update",
             required=True),
         Opt("xml", DATA, "name of file containing xml (or, if it starts with '<', the "
             "complete xml element itself) to add/modify, or to be matched for search",
             required=True),
         Opt("parent-index", NUMBER, "which parent object to search through"),
         flag("config", "affect next network startup"),
         flag("live", "affect running network"),
         flag("current", "affect current state of network"))
def cmd_net_update(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    for other in ("live", "config"):
        if inv.has("current") and inv.has(other):
            raise CommandFailed(f"Options --current and --{other} are mutually exclusive")
    net = ctl.network(inv)
    name = inv.get("command")
    if name not in UPDATE_COMMANDS:
        raise CommandFailed(f"unrecognized command name '{name}'")
    section = inv.get("section")
    if section not in UPDATE_SECTIONS:
        raise CommandFailed(f"unrecognized section name '{section}'")
    parent = _parent_index(inv)
    xml = inv.get("xml")
    if not xml.startswith("<"):
        xml = read_file(xml)
    flags = 0
    if inv.has("config"):
        flags |= lv.VIR_NETWORK_UPDATE_AFFECT_CONFIG
    if inv.has("live"):
        flags |= lv.VIR_NETWORK_UPDATE_AFFECT_LIVE
    try:
        net.update(UPDATE_COMMANDS[name], UPDATE_SECTIONS.index(section), parent, xml, flags)
    except lv.libvirtError as err:
        raise CommandFailed(f"Failed to update network {net.name()}", err) from err
    if flags & lv.VIR_NETWORK_UPDATE_AFFECT_CONFIG:
        affected = ("persistent config and live state"
                    if flags & lv.VIR_NETWORK_UPDATE_AFFECT_LIVE else "persistent config")
    elif flags & lv.VIR_NETWORK_UPDATE_AFFECT_LIVE or net.isActive():
        affected = "live state"
    else:
        affected = "persistent config"
    ctl.print_extra(f"Updated network {net.name()} {affected}")
    return True

"""Networking: net-list, net-info, net-dumpxml, net-define, net-create, net-start,
net-destroy, net-undefine, net-autostart, net-uuid, net-name."""

from __future__ import annotations

from pyvirt.cli.command import DATA, NUMBER, Opt, command, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.files import read_file
from pyvirt.cli.flags import PERSISTENCE_AUTOSTART_FILTERS, list_flags
from pyvirt.cli.objcmd import ObjectKind
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import format_info, format_table, yes_no

GRP = "network"
NETWORK = ObjectKind("network", "net", GRP, "network name or uuid", Ctl.network,
                     "networkLookupByUUIDString", "networkLookupByName",
                     "VIR_NETWORK_XML_INACTIVE")


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
    flags = list_flags(ctl, inv, "VIR_CONNECT_LIST_NETWORKS_", PERSISTENCE_AUTOSTART_FILTERS)
    nets = sorted(ctl.call("Failed to list networks", ctl.conn.listAllNetworks, flags),
                  key=lambda n: n.name())
    if inv.has("uuid") or inv.has("name"):
        for net in nets:
            parts = ([net.UUIDString()] if inv.has("uuid") else []) + \
                    ([net.name()] if inv.has("name") else [])
            ctl.print(" ".join(parts) + "\n")
        return True
    rows = [[n.name(), "active" if n.isActive() else "inactive",
             yes_no(n.autostart()), yes_no(n.isPersistent())] for n in nets]
    ctl.print(format_table(["Name", "State", "Autostart", "Persistent"], rows,
                           with_header=not ctl.quiet))
    return True


@command("net-info", GRP, "network information",
         "Returns basic information about the network", NETWORK.opt())
def cmd_net_info(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    net = ctl.network(inv)
    rows = [("Name:", net.name()), ("UUID:", net.UUIDString()),
            ("Active:", yes_no(net.isActive())), ("Persistent:", yes_no(net.isPersistent())),
            ("Autostart:", yes_no(net.autostart()))]
    try:
        rows.append(("Bridge:", net.bridgeName()))
    except lv.libvirtError:
        pass
    ctl.print(format_info(rows))
    return True


NETWORK.dumpxml_command("network information in XML",
                        "Output the network information as an XML dump to stdout.")


def _from_xml(plain: str, with_flags: str, validate_flag: str):
    """The plain API call, or its *Flags twin with VALIDATE when --validate is given."""
    def call(ctl: Ctl, inv: Invocation, xml: str):
        if inv.has("validate"):
            return getattr(ctl.conn, with_flags)(xml, getattr(ctl.binding, validate_flag))
        return getattr(ctl.conn, plain)(xml)
    return call


_VALIDATE = flag("validate", "validate the XML against the schema")
NETWORK.from_file("define", "define an inactive persistent virtual network or modify an "
                  "existing persistent one from an XML file",
                  "Define or modify a persistent virtual network.",
                  _from_xml("networkDefineXML", "networkDefineXMLFlags",
                            "VIR_NETWORK_DEFINE_VALIDATE"), _VALIDATE)
NETWORK.from_file("create", "create a network from an XML file", "Create a network.",
                  _from_xml("networkCreateXML", "networkCreateXMLFlags",
                            "VIR_NETWORK_CREATE_VALIDATE"), _VALIDATE)

NETWORK.action("net-start", "start a (previously defined) inactive network", "Start a network.",
               lambda ctl, inv, net: net.create(), "start", "started")
NETWORK.action("net-destroy", "destroy (stop) a network", "Forcefully stop a given network.",
               lambda ctl, inv, net: net.destroy(), "destroy", "destroyed")
NETWORK.action("net-undefine", "undefine a persistent network",
               "Undefine the configuration for a persistent network.",
               lambda ctl, inv, net: net.undefine(), "undefine", "has been undefined")


NETWORK.autostart_command()
NETWORK.name_uuid_commands("network name", "network uuid")


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
         NETWORK.opt(),
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

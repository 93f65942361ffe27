"""Networking: net-list, net-info, net-dumpxml, net-define, net-start,
net-destroy, net-undefine, net-autostart."""

from __future__ import annotations

from pyvirt.cli.command import DATA, STRING, Opt, command, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
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

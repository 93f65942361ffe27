"""Host and Hypervisor commands: version, uri, hostname, nodeinfo, capabilities."""

from __future__ import annotations

from pyvirt.cli.command import command, flag
from pyvirt.cli.ctl import Ctl
from pyvirt.cli.parser import Invocation
from pyvirt.cli.versions import dotted

GRP = "host"


@command("version", GRP, "show version", "Display the system version information.",
         flag("daemon", "report daemon version too"))
def cmd_version(ctl: Ctl, inv: Invocation) -> bool:
    lv, conn = ctl.binding, ctl.conn
    library = dotted(lv.getVersion())
    hv_type = conn.getType()
    ctl.print(f"Compiled against library: libvirt {library}\n")
    ctl.print(f"Using library: libvirt {library}\n")
    ctl.print(f"Using API: {hv_type} {library}\n")
    ctl.print(f"Running hypervisor: {hv_type} {dotted(conn.getVersion())}\n")
    if inv.has("daemon"):
        ctl.print(f"Running against daemon: {dotted(conn.getLibVersion())}\n")
    return True


@command("uri", GRP, "print the hypervisor canonical URI", "")
def cmd_uri(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(f"{ctl.conn.getURI()}\n")
    return True


@command("hostname", GRP, "print the hypervisor hostname", "")
def cmd_hostname(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(f"{ctl.conn.getHostname()}\n")
    return True


@command("nodeinfo", GRP, "node information", "Returns basic information about the node.")
def cmd_nodeinfo(ctl: Ctl, inv: Invocation) -> bool:
    model, memory_mib, cpus, mhz, nodes, sockets, cores, threads = ctl.conn.getInfo()
    rows = [("CPU model:", model), ("CPU(s):", cpus), ("CPU frequency:", f"{mhz} MHz"),
            ("CPU socket(s):", sockets), ("Core(s) per socket:", cores),
            ("Thread(s) per core:", threads), ("NUMA cell(s):", nodes),
            ("Memory size:", f"{memory_mib * 1024} KiB")]
    ctl.print("".join(f"{label:<20} {value}\n" for label, value in rows))
    return True


@command("capabilities", GRP, "capabilities", "Returns capabilities of hypervisor/driver.")
def cmd_capabilities(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(f"{ctl.conn.getCapabilities()}\n")
    return True

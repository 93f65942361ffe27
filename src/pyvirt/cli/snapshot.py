"""Snapshot commands: snapshot-create-as, -list, -revert, -delete, -current."""

from __future__ import annotations

import time
from xml.etree import ElementTree

from pyvirt.cli.command import ARGV, STRING, Opt, command, domain_opt, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.flags import option_flags
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import format_table, format_tree

GRP = "snapshot"


def escape(text: str) -> str:
    """XML-escape &, < and > (xml.sax.saxutils' escape, without importing urllib & co)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@command("snapshot-create-as", GRP, "Create a snapshot from a set of args",
         "Create a snapshot (disk and RAM) from arguments",
         domain_opt(),
         Opt("name", STRING, "name of snapshot"),
         Opt("description", STRING, "description of snapshot"),
         flag("print-xml", "print XML document rather than create"),
         flag("no-metadata", "take snapshot but create no metadata"),
         flag("halt", "halt domain after snapshot is created"),
         flag("disk-only", "capture disk state but not vm state"),
         flag("reuse-external", "reuse any existing external files"),
         flag("quiesce", "quiesce guest's file systems"),
         flag("atomic", "require atomic operation"),
         flag("live", "take a live snapshot"),
         flag("validate", "validate the XML against the schema"),
         Opt("memspec", STRING, "memory attributes: [file=]name[,snapshot=type]"),
         Opt("diskspec", ARGV, "disk attributes: disk[,snapshot=type][,driver=type]"
             "[,stype=type][,file=name]", shown_named=True))
def cmd_snapshot_create_as(ctl: Ctl, inv: Invocation) -> bool:
    dom = ctl.domain(inv)
    xml = ["<domainsnapshot>\n"]
    if inv.has("name"):
        xml.append(f"  <name>{escape(inv.get('name'))}</name>\n")
    if inv.has("description"):
        xml.append(f"  <description>{escape(inv.get('description'))}</description>\n")
    if inv.has("memspec"):
        spec = inv.get("memspec")
        xml.append(f"  <memory file='{escape(spec.removeprefix('file='))}'/>\n")
    if inv.has("diskspec"):
        xml.append("  <disks>\n")
        for spec in inv.get("diskspec"):
            name, _, rest = spec.partition(",")
            attrs = dict(p.partition("=")[::2] for p in rest.split(",") if p)
            snap = attrs.get("snapshot")
            head = f"    <disk name='{escape(name)}'" + (f" snapshot='{snap}'" if snap else "")
            if "file" in attrs:
                xml.append(f"{head}>\n      <source file='{escape(attrs['file'])}'/>\n"
                           "    </disk>\n")
            else:
                xml.append(f"{head}/>\n")
        xml.append("  </disks>\n")
    xml.append("</domainsnapshot>\n")
    text = "".join(xml)
    if inv.has("print-xml"):
        ctl.print(f"{text}\n")
        return True
    flags = option_flags(ctl, inv, "VIR_DOMAIN_SNAPSHOT_CREATE_",
                         (("no-metadata", "NO_METADATA"), ("halt", "HALT"),
                          ("disk-only", "DISK_ONLY"), ("reuse-external", "REUSE_EXT"),
                          ("quiesce", "QUIESCE"), ("atomic", "ATOMIC"), ("live", "LIVE"),
                          ("validate", "VALIDATE")))
    snap = dom.snapshotCreateXML(text, flags)
    kind = "Disk-only snapshot" if inv.has("disk-only") else "Domain snapshot"
    ctl.print_extra(f"{kind} {snap.getName()} created")
    return True


def _snapshot(ctl: Ctl, inv: Invocation, dom, what: str = "snapshotname"):
    """--snapshotname, or --current's snapshot."""
    if inv.has(what):
        return dom.snapshotLookupByName(inv.get(what), 0)
    if inv.has("current"):
        if not dom.hasCurrentSnapshot(0):
            raise CommandFailed(f"domain '{dom.name()}' has no current snapshot")
        return dom.snapshotCurrent(0)
    raise CommandFailed("--snapshotname or --current is required")


def _snapshot_row(snap) -> tuple[str, str, str, str | None]:
    root = ElementTree.fromstring(snap.getXMLDesc(0))
    created = int(root.findtext("creationTime") or 0)
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(created))
    parent = root.findtext("parent/name")
    return snap.getName(), when, root.findtext("state") or "", parent


@command("snapshot-list", GRP, "List snapshots for a domain",
         "Snapshot List",
         domain_opt(),
         flag("parent", "add a column showing parent snapshot"),
         flag("roots", "list only snapshots without parents"),
         flag("leaves", "list only snapshots without children"),
         flag("no-leaves", "list only snapshots that are not leaves (with children)"),
         flag("metadata", "list only snapshots that have metadata that would prevent undefine"),
         flag("no-metadata", "list only snapshots that have no metadata managed by libvirt"),
         flag("inactive", "filter by snapshots taken while inactive"),
         flag("active", "filter by snapshots taken while active (full system snapshots)"),
         flag("disk-only", "filter by disk-only snapshots"),
         flag("internal", "filter by internal snapshots"),
         flag("external", "filter by external snapshots"),
         flag("tree", "list snapshots in a tree"),
         Opt("from", STRING, "limit list to children of given snapshot"),
         flag("current", "limit list to children of current snapshot"),
         flag("descendants", "with --from, list all descendants"),
         flag("name", "list snapshot names only"),
         flag("topological", "sort list topologically rather than by name"))
def cmd_snapshot_list(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    for a, b in (("parent", "roots"), ("parent", "tree"), ("roots", "tree"),
                 ("roots", "from"), ("roots", "current"), ("tree", "name")):
        if inv.has(a) and inv.has(b):
            raise CommandFailed(f"Options --{a} and --{b} are mutually exclusive")
    dom = ctl.domain(inv)
    flags = option_flags(ctl, inv, "VIR_DOMAIN_SNAPSHOT_LIST_",
                         (("roots", "ROOTS"), ("leaves", "LEAVES"), ("no-leaves", "NO_LEAVES"),
                          ("metadata", "METADATA"), ("no-metadata", "NO_METADATA"),
                          ("inactive", "INACTIVE"), ("active", "ACTIVE"),
                          ("disk-only", "DISK_ONLY"), ("internal", "INTERNAL"),
                          ("external", "EXTERNAL"), ("topological", "TOPOLOGICAL")))
    if inv.has("from") or inv.has("current"):
        start = _snapshot(ctl, inv, dom, "from")
        if inv.has("descendants") or inv.has("tree"):
            flags |= lv.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS
        snaps = start.listAllChildren(flags)
    else:
        snaps = dom.listAllSnapshots(flags)
    if not inv.has("topological"):
        snaps.sort(key=lambda s: s.getName())
    rows = [_snapshot_row(s) for s in snaps]
    if inv.has("tree"):
        names = [r[0] for r in rows]
        ctl.print(format_tree(names, lambda i: rows[i][3] if rows[i][3] in names else None))
        return True
    if inv.has("name"):
        ctl.print("".join(f"{r[0]}\n" for r in rows))
        return True
    header = ["Name", "Creation Time", "State"]
    if inv.has("parent"):
        header.append("Parent")
        body = [[r[0], r[1], r[2], r[3] or ""] for r in rows]
    else:
        body = [list(r[:3]) for r in rows]
    ctl.print(format_table(header, body, with_header=not ctl.quiet))
    return True


@command("snapshot-revert", GRP, "Revert a domain to a snapshot",
         "Revert domain to snapshot",
         domain_opt(),
         Opt("snapshotname", STRING, "snapshot name"),
         flag("current", "revert to current snapshot"),
         flag("running", "after reverting, change state to running"),
         flag("paused", "after reverting, change state to paused"),
         flag("force", "try harder on risky reverts"),
         flag("reset-nvram", "re-initialize NVRAM from its pristine template"))
def cmd_snapshot_revert(ctl: Ctl, inv: Invocation) -> bool:
    dom = ctl.domain(inv)
    snap = _snapshot(ctl, inv, dom)
    flags = option_flags(ctl, inv, "VIR_DOMAIN_SNAPSHOT_REVERT_",
                         (("running", "RUNNING"), ("paused", "PAUSED"), ("force", "FORCE"),
                          ("reset-nvram", "RESET_NVRAM")))
    dom.revertToSnapshot(snap, flags)
    ctl.print_extra(f"Domain snapshot {snap.getName()} reverted\n")
    return True


@command("snapshot-delete", GRP, "Delete a domain snapshot",
         "Snapshot Delete",
         domain_opt(),
         Opt("snapshotname", STRING, "snapshot name"),
         flag("current", "delete current snapshot"),
         flag("children", "delete snapshot and all children"),
         flag("children-only", "delete children but not snapshot"),
         flag("metadata", "delete only libvirt metadata, leaving snapshot contents behind"))
def cmd_snapshot_delete(ctl: Ctl, inv: Invocation) -> bool:
    dom = ctl.domain(inv)
    snap = _snapshot(ctl, inv, dom)
    flags = option_flags(ctl, inv, "VIR_DOMAIN_SNAPSHOT_DELETE_",
                         (("children", "CHILDREN"), ("children-only", "CHILDREN_ONLY"),
                          ("metadata", "METADATA_ONLY")))
    name = snap.getName()
    ctl.call(f"Failed to delete snapshot {name}", snap.delete, flags)
    if inv.has("children-only"):
        ctl.print_extra(f"Domain snapshot {name} children deleted\n")
    else:
        ctl.print_extra(f"Domain snapshot {name} deleted\n")
    return True


@command("snapshot-current", GRP, "Get or set the current snapshot",
         "Get or set the current snapshot",
         domain_opt(),
         flag("name", "list the name, rather than the full xml"),
         flag("security-info", "include security sensitive information in XML dump"),
         Opt("snapshotname", STRING, "name of existing snapshot to make current"))
def cmd_snapshot_current(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    if inv.has("snapshotname"):
        for other in ("name", "security-info"):
            if inv.has(other):
                raise CommandFailed(f"Options --{other} and --snapshotname are mutually "
                                    "exclusive")
        snap = dom.snapshotLookupByName(inv.get("snapshotname"), 0)
        xml = snap.getXMLDesc(lv.VIR_DOMAIN_XML_SECURE)
        dom.snapshotCreateXML(xml, lv.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
                              | lv.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT)
        ctl.print_extra(f"Snapshot {snap.getName()} set as current")
        return True
    if not dom.hasCurrentSnapshot(0):
        raise CommandFailed(f"domain '{dom.name()}' has no current snapshot")
    snap = dom.snapshotCurrent(0)
    if inv.has("name"):
        ctl.print(snap.getName())
    else:
        flags = lv.VIR_DOMAIN_XML_SECURE if inv.has("security-info") else 0
        ctl.print(snap.getXMLDesc(flags))
    return True

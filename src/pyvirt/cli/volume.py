"""Storage Volume: vol-list, vol-info, vol-dumpxml, vol-create-as, vol-delete."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from pyvirt.cli.command import DATA, STRING, Opt, command, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import format_table, pretty_capacity
from pyvirt.cli.xpath import select

GRP = "volume"
VOL_TYPES = ["file", "block", "dir", "network", "netdir", "ploop"]


def vol_opts() -> tuple[Opt, Opt]:
    return (Opt("vol", DATA, "vol name, key or path", required=True),
            Opt("pool", STRING, "pool name or uuid"))


def _type_word(kind: int) -> str:
    return VOL_TYPES[kind] if 0 <= kind < len(VOL_TYPES) else "unknown"


@command("vol-list", GRP, "list vols", "Returns list of vols by pool.",
         Opt("pool", DATA, "pool name or uuid", required=True),
         flag("details", "display extended details for volumes"))
def cmd_vol_list(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    try:
        vols = sorted(pool.listAllVolumes(0), key=lambda v: v.name())
    except ctl.binding.libvirtError as err:
        raise CommandFailed("Failed to list volumes", err) from err
    if inv.has("details"):
        rows = []
        for vol in vols:
            kind, capacity, allocation = vol.info()
            rows.append([vol.name(), vol.path(), _type_word(kind), pretty_capacity(capacity),
                         pretty_capacity(allocation)])
        header = ["Name", "Path", "Type", "Capacity", "Allocation"]
    else:
        rows = [[v.name(), v.path()] for v in vols]
        header = ["Name", "Path"]
    ctl.print(format_table(header, rows, with_header=not ctl.quiet))
    return True


@command("vol-info", GRP, "storage vol information",
         "Returns basic information about the storage vol.",
         *vol_opts(),
         flag("bytes", "sizes are represented in bytes rather than pretty units"),
         flag("physical", "return the physical size of the volume in allocation field"))
def cmd_vol_info(ctl: Ctl, inv: Invocation) -> bool:
    vol = ctl.volume(inv)
    if inv.has("physical"):
        kind, capacity, allocation = vol.infoFlags(ctl.binding.VIR_STORAGE_VOL_GET_PHYSICAL)
    else:
        kind, capacity, allocation = vol.info()
    size = (lambda n: f"{n} bytes") if inv.has("bytes") else pretty_capacity
    rows = [("Name:", vol.name()), ("Type:", _type_word(kind)),
            ("Capacity:", size(capacity)),
            ("Physical:" if inv.has("physical") else "Allocation:", size(allocation))]
    ctl.print("".join(f"{label:<15} {value}\n" for label, value in rows))
    return True


@command("vol-dumpxml", GRP, "vol information in XML",
         "Output the vol information as an XML dump to stdout.",
         *vol_opts(),
         Opt("xpath", STRING, "xpath expression to filter the XML document", positional=False),
         flag("wrap", "wrap xpath results in an common root element"))
def cmd_vol_dumpxml(ctl: Ctl, inv: Invocation) -> bool:
    xml = ctl.volume(inv).XMLDesc(0)
    ctl.print(select(xml, inv.get("xpath"), inv.has("wrap")))
    return True


_UNITS = {"": 1, "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2,
          "mib": 1024**2, "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
          "t": 1024**4, "tib": 1024**4, "tb": 1000**4, "p": 1024**5, "pib": 1024**5,
          "pb": 1000**5, "e": 1024**6, "eib": 1024**6, "eb": 1000**6}


def volume_size(text: str) -> int:
    """A scaled size in bytes (default unit bytes), or virsh's ``Malformed size``."""
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise CommandFailed(f"Malformed size {text}")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def volume_xml(inv: Invocation) -> str:
    """The <volume> document vol-create-as builds from its options."""
    out = ["<volume>\n", f"  <name>{escape(inv.get('name'))}</name>\n",
           f"  <capacity>{volume_size(inv.get('capacity'))}</capacity>\n"]
    if inv.has("allocation"):
        out.append(f"  <allocation>{volume_size(inv.get('allocation'))}</allocation>\n")
    if inv.has("format"):
        out.append(f"  <target>\n    <format type='{escape(inv.get('format'))}'/>\n"
                   "  </target>\n")
    out.append("</volume>\n")
    return "".join(out)


@command("vol-create-as", GRP, "create a volume from a set of args", "Create a vol.",
         Opt("pool", DATA, "pool name", required=True),
         Opt("name", DATA, "name of the volume", required=True),
         Opt("capacity", DATA, "size of the vol, as scaled integer (default bytes)",
             required=True),
         Opt("allocation", STRING, "initial allocation size, as scaled integer (default bytes)"),
         Opt("format", STRING, "file format type raw,bochs,qcow,qcow2,qed,vmdk"),
         Opt("backing-vol", STRING, "the backing volume if taking a snapshot"),
         Opt("backing-vol-format", STRING, "format of backing volume if taking a snapshot"),
         flag("prealloc-metadata",
              "preallocate metadata (for qcow2 instead of full allocation)"),
         flag("print-xml", "print XML document, but don't define/create"))
def cmd_vol_create_as(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    xml = volume_xml(inv)
    if inv.has("print-xml"):
        ctl.print(xml)
        return True
    flags = (ctl.binding.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA
             if inv.has("prealloc-metadata") else 0)
    try:
        pool.createXML(xml, flags)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"Failed to create vol {inv.get('name')}", err) from err
    ctl.print_extra(f"Vol {inv.get('name')} created\n")
    return True


@command("vol-delete", GRP, "delete a vol", "Delete a given vol.",
         *vol_opts(),
         flag("delete-snapshots",
              "delete snapshots associated with volume (must be supported by storage driver)"))
def cmd_vol_delete(ctl: Ctl, inv: Invocation) -> bool:
    vol = ctl.volume(inv)
    name = inv.get("vol")
    flags = (ctl.binding.VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS
             if inv.has("delete-snapshots") else 0)
    try:
        vol.delete(flags)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"Failed to delete vol {name}", err) from err
    ctl.print_extra(f"Vol {name} deleted\n")
    return True

"""Storage Volume: vol-list, vol-info, vol-dumpxml, vol-create(-as, -from), vol-clone,
vol-delete, vol-resize, vol-wipe, vol-key, vol-path, vol-pool, vol-name."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from lxml import etree

from pyvirt.cli.command import DATA, STRING, Opt, command, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.files import read_file
from pyvirt.cli.flags import option_flags
from pyvirt.cli.parser import Invocation
from pyvirt.cli.units import SCALES
from pyvirt.cli.table import format_info, format_table, pretty_capacity
from pyvirt.cli.xpath import XPATH_OPTS, select_opts

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
    vols = sorted(ctl.call("Failed to list volumes", pool.listAllVolumes, 0),
                  key=lambda v: v.name())
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
    ctl.print(format_info(rows))
    return True


@command("vol-dumpxml", GRP, "vol information in XML",
         "Output the vol information as an XML dump to stdout.",
         *vol_opts(), *XPATH_OPTS)
def cmd_vol_dumpxml(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(select_opts(ctl.volume(inv).XMLDesc(0), inv))
    return True


def volume_size(text: str) -> int:
    """A scaled size in bytes (default unit bytes), or virsh's ``Malformed size``."""
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", text)
    if not match or match.group(2).lower() not in SCALES:
        raise CommandFailed(f"Malformed size {text}")
    return int(match.group(1)) * SCALES[match.group(2).lower()]


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
    ctl.call(f"Failed to create vol {inv.get('name')}", pool.createXML, xml, flags)
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
    ctl.call(f"Failed to delete vol {name}", vol.delete, flags)
    ctl.print_extra(f"Vol {name} deleted\n")
    return True


def _create_flags(ctl: Ctl, inv: Invocation) -> int:
    return option_flags(ctl, inv, "VIR_STORAGE_VOL_CREATE_",
                        (("prealloc-metadata", "PREALLOC_METADATA"), ("reflink", "REFLINK"),
                         ("validate", "VALIDATE")))


_PREALLOC = flag("prealloc-metadata", "preallocate metadata (for qcow2 instead of full "
                 "allocation)")
_REFLINK = flag("reflink", "use btrfs COW lightweight copy")
_VALIDATE = flag("validate", "validate the XML against the schema")


@command("vol-create", GRP, "create a vol from an XML file", "Create a vol.",
         Opt("pool", DATA, "pool name", required=True),
         Opt("file", DATA, "file containing an XML vol description", required=True),
         _PREALLOC, _VALIDATE)
def cmd_vol_create(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    path = inv.get("file")
    xml = read_file(path)
    vol = ctl.call(f"Failed to create vol from {path}", pool.createXML, xml,
                   _create_flags(ctl, inv))
    ctl.print_extra(f"Vol {vol.name()} created from {path}\n")
    return True


@command("vol-create-from", GRP, "create a vol, using another volume as input",
         "Create a vol from an existing volume.",
         Opt("pool", DATA, "pool name or uuid", required=True),
         Opt("file", DATA, "file containing an XML vol description", required=True),
         Opt("vol", DATA, "vol name, key or path", required=True),
         Opt("inputpool", STRING, "pool name or uuid of the input volume's pool"),
         _PREALLOC, _REFLINK, _VALIDATE)
def cmd_vol_create_from(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    path = inv.get("file")
    source = ctl.volume(inv, "vol", "inputpool")
    xml = read_file(path)
    vol = ctl.call(f"Failed to create vol from {path}", pool.createXMLFrom, xml, source,
                   _create_flags(ctl, inv))
    ctl.print_extra(f"Vol {vol.name()} created from input vol {source.name()}\n")
    return True


def clone_xml(xml: str, name: str) -> str:
    """The volume's XML with a new <name>, serialised as libxml2 does (no newline)."""
    root = etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False,
                                                          no_network=True))
    node = root.find("name")
    if node is None:
        raise CommandFailed("Failed to allocate XML buffer")
    node.text = name
    return etree.tostring(root, encoding=str)


@command("vol-clone", GRP, "clone a volume.",
         "Clone an existing volume within the parent pool.",
         Opt("vol", DATA, "vol name, key or path", required=True),
         Opt("newname", DATA, "clone name", required=True),
         Opt("pool", STRING, "pool name or uuid"),
         _PREALLOC, _REFLINK,
         flag("print-xml", "print XML document rather than clone the volume"))
def cmd_vol_clone(ctl: Ctl, inv: Invocation) -> bool:
    source = ctl.volume(inv)
    pool = ctl.call("failed to get parent pool", source.storagePoolLookupByVolume)
    newname = inv.get("newname")
    xml = clone_xml(source.XMLDesc(0), newname)
    if inv.has("print-xml"):
        ctl.print(xml)
        return True
    ctl.call(f"Failed to clone vol from {source.name()}", pool.createXMLFrom, xml, source,
             _create_flags(ctl, inv))
    ctl.print_extra(f"Vol {newname} cloned from {source.name()}\n")
    return True


@command("vol-resize", GRP, "resize a vol",
         "Resizes a storage volume. This is safe only for storage volumes not in use by an "
         "active guest.\nSee blockresize for live resizing.",
         Opt("vol", DATA, "vol name, key or path", required=True),
         Opt("capacity", DATA, "new capacity for the vol, as scaled integer (default bytes)",
             required=True),
         Opt("pool", STRING, "pool name or uuid"),
         flag("allocate", "allocate the new capacity, rather than leaving it sparse"),
         flag("delta", "use capacity as a delta to current size, rather than the new size"),
         flag("shrink", "allow the resize to shrink the volume"))
def cmd_vol_resize(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    vol = ctl.volume(inv)
    flags = option_flags(ctl, inv, "VIR_STORAGE_VOL_RESIZE_",
                         (("allocate", "ALLOCATE"), ("delta", "DELTA"), ("shrink", "SHRINK")))
    text = inv.get("capacity").lstrip(" \t\n\r\v\f")
    if text.startswith("-"):
        if not inv.has("shrink"):
            raise CommandFailed("negative size requires --shrink")
        text = text[1:]
        flags |= lv.VIR_STORAGE_VOL_RESIZE_DELTA
    capacity = volume_size(text)
    how = "by" if flags & lv.VIR_STORAGE_VOL_RESIZE_DELTA else "to"
    ctl.call(f"Failed to change size of volume '{vol.name()}' {how} {text}", vol.resize,
             capacity, flags)
    ctl.print_extra(f"Size of volume '{vol.name()}' successfully changed {how} {text}\n")
    return True


WIPE_ALGORITHMS = ["zero", "nnsa", "dod", "bsi", "gutmann", "schneier", "pfitzner7",
                   "pfitzner33", "random", "trim"]


@command("vol-wipe", GRP, "wipe a vol",
         "Ensure data previously on a volume is not accessible to future reads",
         *vol_opts(), Opt("algorithm", STRING, "perform selected wiping algorithm"))
def cmd_vol_wipe(ctl: Ctl, inv: Invocation) -> bool:
    vol = ctl.volume(inv)
    name = inv.get("algorithm") or "zero"
    if name not in WIPE_ALGORITHMS:
        raise CommandFailed(f"Unsupported algorithm '{name}'")
    algorithm = WIPE_ALGORITHMS.index(name)
    try:
        if algorithm == 0:
            vol.wipe(0)
        else:
            vol.wipePattern(algorithm, 0)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"Failed to wipe vol {vol.name()}", err) from err
    ctl.print_extra(f"Vol {vol.name()} wiped\n")
    return True


@command("vol-key", GRP, "returns the volume key for a given volume name or path", "",
         Opt("vol", DATA, "volume name or path", required=True),
         Opt("pool", STRING, "pool name or uuid"))
def cmd_vol_key(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(ctl.volume(inv).key() + "\n")
    return True


@command("vol-path", GRP, "returns the volume path for a given volume name or key", "",
         Opt("vol", DATA, "volume name or key", required=True),
         Opt("pool", STRING, "pool name or uuid"))
def cmd_vol_path(ctl: Ctl, inv: Invocation) -> bool:
    vol = ctl.volume(inv)
    ctl.print(ctl.call(None, vol.path) + "\n")
    return True


@command("vol-pool", GRP, "returns the storage pool for a given volume key or path", "",
         Opt("vol", DATA, "volume key or path", required=True),
         flag("uuid", "return the pool uuid rather than pool name"))
def cmd_vol_pool(ctl: Ctl, inv: Invocation) -> bool:
    vol = ctl.volume(inv, pool_opt=None)
    pool = ctl.call("failed to get parent pool", vol.storagePoolLookupByVolume)
    ctl.print((pool.UUIDString() if inv.has("uuid") else pool.name()) + "\n")
    return True


@command("vol-name", GRP, "returns the volume name for a given volume key or path", "",
         Opt("vol", DATA, "volume key or path", required=True))
def cmd_vol_name(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(ctl.volume(inv, pool_opt=None).name() + "\n")
    return True

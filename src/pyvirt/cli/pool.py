"""Storage Pool: pool-list, pool-info, pool-dumpxml, pool-define(-as), pool-create,
pool-build, pool-start, pool-destroy, pool-delete, pool-refresh, pool-undefine,
pool-autostart, pool-uuid, pool-name."""

from __future__ import annotations

from xml.sax.saxutils import escape

from pyvirt.cli.command import DATA, STRING, Opt, command, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.flags import PERSISTENCE_AUTOSTART_FILTERS, list_flags, option_flags
from pyvirt.cli.objcmd import ObjectKind, XmlCall
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import format_info, format_table, pretty_capacity, yes_no

GRP = "pool"
POOL_STATES = ["inactive", "building", "running", "degraded", "inaccessible"]
POOL = ObjectKind("pool", "pool", GRP, "pool name or uuid", Ctl.pool,
                  "storagePoolLookupByUUIDString", "storagePoolLookupByName",
                  "VIR_STORAGE_XML_INACTIVE")


@command("pool-list", GRP, "list pools", "Returns list of pools.",
         flag("inactive", "list inactive pools"),
         flag("all", "list inactive & active pools"),
         flag("transient", "list transient pools"),
         flag("persistent", "list persistent pools"),
         flag("autostart", "list pools with autostart enabled"),
         flag("no-autostart", "list pools with autostart disabled"),
         Opt("type", STRING, "only list pool of specified type(s) (if supported)"),
         flag("details", "display extended details for pools"),
         flag("uuid", "list UUID of active pools only"),
         flag("name", "list name of active pools only"))
def cmd_pool_list(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    flags = list_flags(ctl, inv, "VIR_CONNECT_LIST_STORAGE_POOLS_",
                       PERSISTENCE_AUTOSTART_FILTERS)
    for kind in (inv.get("type") or "").split(","):
        if not kind:
            continue
        const = getattr(lv, f"VIR_CONNECT_LIST_STORAGE_POOLS_{kind.upper()}", None)
        if const is None:
            raise CommandFailed(f"Invalid pool type '{kind}'")
        flags |= const
    pools = sorted(ctl.call("Failed to list pools", ctl.conn.listAllStoragePools, flags),
                   key=lambda p: p.name())
    if inv.has("uuid") or inv.has("name"):
        for pool in pools:
            parts = ([f"{pool.UUIDString():<36}"] if inv.has("uuid") else []) + \
                    ([f"{pool.name():<20}"] if inv.has("name") else [])
            ctl.print(" ".join(parts) + "\n")
        return True
    if inv.has("details"):
        header = ["Name", "State", "Autostart", "Persistent", "Capacity", "Allocation",
                  "Available"]
        rows = []
        for pool in pools:
            state, capacity, allocation, available = pool.info()
            sizes = ([pretty_capacity(capacity), pretty_capacity(allocation),
                      pretty_capacity(available)] if pool.isActive() else ["-", "-", "-"])
            rows.append([pool.name(), POOL_STATES[state], yes_no(pool.autostart()),
                         yes_no(pool.isPersistent())] + sizes)
    else:
        header = ["Name", "State", "Autostart"]
        rows = [[p.name(), "active" if p.isActive() else "inactive", yes_no(p.autostart())]
                for p in pools]
    ctl.print(format_table(header, rows, with_header=not ctl.quiet))
    return True


@command("pool-info", GRP, "storage pool information",
         "Returns basic information about the storage pool.",
         POOL.opt(), flag("bytes", "Return pool info in bytes"))
def cmd_pool_info(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    state, capacity, allocation, available = pool.info()
    rows = [("Name:", pool.name()), ("UUID:", pool.UUIDString()),
            ("State:", POOL_STATES[state]), ("Persistent:", yes_no(pool.isPersistent())),
            ("Autostart:", yes_no(pool.autostart()))]
    if state in (2, 3):
        size = str if inv.has("bytes") else pretty_capacity
        rows += [("Capacity:", size(capacity)), ("Allocation:", size(allocation)),
                 ("Available:", size(available))]
    ctl.print(format_info(rows))
    return True


POOL.dumpxml_command("pool information in XML",
                     "Output the pool information as an XML dump to stdout.")


_SOURCE_OPTS = ["source-host", "source-path", "source-dev", "source-name", "target",
                "source-format", "auth-type", "auth-username", "secret-usage", "secret-uuid",
                "adapter-name", "adapter-wwnn", "adapter-wwpn", "adapter-parent",
                "adapter-parent-wwnn", "adapter-parent-wwpn", "adapter-parent-fabric-wwn",
                "source-protocol-ver", "source-initiator"]
_SOURCE_HELP = {
    "source-host": "source-host for underlying storage",
    "source-path": "source path for underlying storage",
    "source-dev": "source device for underlying storage",
    "source-name": "source name for underlying storage",
    "target": "target for underlying storage",
    "source-format": "format for underlying storage",
    "auth-type": "auth type to be used for underlying storage",
    "auth-username": "auth username to be used for underlying storage",
    "secret-usage": "auth secret usage to be used for underlying storage",
    "secret-uuid": "auth secret UUID to be used for underlying storage",
    "adapter-name": "adapter name to be used for underlying storage",
    "adapter-wwnn": "adapter wwnn to be used for underlying storage",
    "adapter-wwpn": "adapter wwpn to be used for underlying storage",
    "adapter-parent": "adapter parent scsi_hostN to be used for underlying vHBA storage",
    "adapter-parent-wwnn": "adapter parent scsi_hostN wwnn to be used for underlying vHBA "
                           "storage",
    "adapter-parent-wwpn": "adapter parent scsi_hostN wwpn to be used for underlying vHBA "
                           "storage",
    "adapter-parent-fabric-wwn": "adapter parent scsi_hostN fabric_wwn to be used for "
                                 "underlying vHBA storage",
    "source-protocol-ver": "nfsvers value for NFS pool mount option",
    "source-initiator": "initiator iqn for underlying storage",
}


def pool_xml(inv: Invocation) -> str:
    """The <pool> document pool-define-as builds from its options."""
    get = inv.get
    out = [f"<pool type='{escape(get('type'))}'>\n", f"  <name>{escape(get('name'))}</name>\n"]
    src = []
    if get("source-host"):
        src.append(f"    <host name='{escape(get('source-host'))}'/>\n")
    if get("source-dev"):
        src.append(f"    <device path='{escape(get('source-dev'))}'/>\n")
    if get("source-path"):
        src.append(f"    <dir path='{escape(get('source-path'))}'/>\n")
    if get("source-format"):
        src.append(f"    <format type='{escape(get('source-format'))}'/>\n")
    if get("source-name"):
        src.append(f"    <name>{escape(get('source-name'))}</name>\n")
    if src:
        out += ["  <source>\n"] + src + ["  </source>\n"]
    if get("target"):
        out.append(f"  <target>\n    <path>{escape(get('target'))}</path>\n  </target>\n")
    out.append("</pool>\n")
    return "".join(out)


_OVERWRITE_OPTS = (flag("no-overwrite", "do not overwrite any existing data"),
                   flag("overwrite", "overwrite any existing data"))
_OVERWRITE_FLAGS = (("overwrite", "OVERWRITE"), ("no-overwrite", "NO_OVERWRITE"))
_CREATE_FLAGS = (("build", "WITH_BUILD"), ("overwrite", "WITH_BUILD_OVERWRITE"),
                 ("no-overwrite", "WITH_BUILD_NO_OVERWRITE"))


def build_flags(ctl: Ctl, inv: Invocation) -> int:
    """VIR_STORAGE_POOL_BUILD_* from --overwrite / --no-overwrite."""
    return option_flags(ctl, inv, "VIR_STORAGE_POOL_BUILD_", _OVERWRITE_FLAGS)


def create_flags(ctl: Ctl, inv: Invocation) -> int:
    """VIR_STORAGE_POOL_CREATE_WITH_BUILD* from --build and the overwrite options."""
    return option_flags(ctl, inv, "VIR_STORAGE_POOL_CREATE_", _CREATE_FLAGS)


def _check_overwrite(inv: Invocation) -> None:
    if inv.has("overwrite") and inv.has("no-overwrite"):
        raise CommandFailed("Options --overwrite and --no-overwrite are mutually exclusive")


def _start(ctl: Ctl, inv: Invocation, pool) -> None:
    _check_overwrite(inv)
    pool.create(create_flags(ctl, inv))


POOL.action("pool-start", "start a (previously defined) inactive pool",
            "Start a pool.", _start, "start", "started",
            flag("build", "build the pool as normal"), *_OVERWRITE_OPTS)
POOL.action("pool-destroy", "destroy (stop) a pool",
            "Forcefully stop a given pool. Raw data in the pool is untouched",
            lambda ctl, inv, pool: pool.destroy(), "destroy", "destroyed")
POOL.action("pool-undefine", "undefine an inactive pool",
            "Undefine the configuration for an inactive pool.",
            lambda ctl, inv, pool: pool.undefine(), "undefine", "has been undefined")
POOL.action("pool-build", "build a pool", "Build a given pool.",
            lambda ctl, inv, pool: pool.build(build_flags(ctl, inv)), "build", "built",
            *_OVERWRITE_OPTS)
POOL.action("pool-delete", "delete a pool", "Delete a given pool.",
            lambda ctl, inv, pool: pool.delete(0), "delete", "deleted")
POOL.action("pool-refresh", "refresh a pool", "Refresh a given pool.",
            lambda ctl, inv, pool: pool.refresh(0), "refresh", "refreshed")

def _pool_from_args(verb: str, description: str, call: XmlCall, *extra: Opt) -> None:
    """pool-define-as / pool-create-as: the <pool> document :func:`pool_xml` builds,
    printed with --print-xml, else defined / created by ``call(ctl, inv, xml)``."""
    def handler(ctl: Ctl, inv: Invocation) -> bool:
        _check_overwrite(inv)
        xml = pool_xml(inv)
        if inv.has("print-xml"):
            ctl.print(xml)
            return True
        pool = ctl.call(f"Failed to {verb} pool {inv.get('name')}", call, ctl, inv, xml)
        ctl.print_extra(f"Pool {pool.name()} {verb}d\n")
        return True
    command(f"pool-{verb}-as", GRP, f"{verb} a pool from a set of args", description,
            Opt("name", DATA, "name of the pool", required=True),
            Opt("type", DATA, "type of the pool", required=True),
            flag("print-xml", "print XML document, but don't define/create"),
            *[Opt(name, STRING, _SOURCE_HELP.get(name, f"{name} for underlying storage"))
              for name in _SOURCE_OPTS], *extra)(handler)


_pool_from_args("define", "Define a pool.",
                lambda ctl, inv, xml: ctl.conn.storagePoolDefineXML(xml, 0))
_pool_from_args("create", "Create a pool.",
                lambda ctl, inv, xml: ctl.conn.storagePoolCreateXML(xml, create_flags(ctl, inv)),
                flag("build", "build the pool as normal"), *_OVERWRITE_OPTS)

POOL.from_file("create", "create a pool from an XML file", "Create a pool.",
               lambda ctl, inv, xml: ctl.conn.storagePoolCreateXML(xml, create_flags(ctl, inv)),
               flag("build", "build the pool as normal"), *_OVERWRITE_OPTS,
               check=_check_overwrite)
POOL.from_file("define", "define an inactive persistent storage pool or modify an existing "
               "persistent one from an XML file", "Define or modify a persistent storage pool.",
               lambda ctl, inv, xml: ctl.conn.storagePoolDefineXML(xml, option_flags(
                   ctl, inv, "VIR_STORAGE_POOL_DEFINE_", (("validate", "VALIDATE"),))),
               flag("validate", "validate the XML against the schema"))


POOL.autostart_command()
POOL.name_uuid_commands("pool name or uuid", "pool name or uuid")

"""Storage Pool: pool-list, pool-info, pool-dumpxml, pool-define(-as), pool-create,
pool-build, pool-start, pool-destroy, pool-delete, pool-refresh, pool-undefine,
pool-autostart, pool-uuid, pool-name."""

from __future__ import annotations

from xml.sax.saxutils import escape

from pyvirt.cli.command import DATA, STRING, Opt, command, flag
from pyvirt.cli.ctl import UUID_RE, CommandFailed, Ctl
from pyvirt.cli.files import read_file
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import format_table, pretty_capacity
from pyvirt.cli.xpath import select

GRP = "pool"
POOL_STATES = ["inactive", "building", "running", "degraded", "inaccessible"]


def pool_opt() -> Opt:
    return Opt("pool", DATA, "pool name or uuid", required=True)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


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
    flags = 0
    if inv.has("inactive"):
        flags |= lv.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE
    if inv.has("all"):
        flags |= (lv.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE
                  | lv.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
    if not flags:
        flags = lv.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE
    for opt, const in (("persistent", "PERSISTENT"), ("transient", "TRANSIENT"),
                       ("autostart", "AUTOSTART"), ("no-autostart", "NO_AUTOSTART")):
        if inv.has(opt):
            flags |= getattr(lv, f"VIR_CONNECT_LIST_STORAGE_POOLS_{const}")
    for kind in (inv.get("type") or "").split(","):
        if not kind:
            continue
        const = getattr(lv, f"VIR_CONNECT_LIST_STORAGE_POOLS_{kind.upper()}", None)
        if const is None:
            raise CommandFailed(f"Invalid pool type '{kind}'")
        flags |= const
    try:
        pools = sorted(ctl.conn.listAllStoragePools(flags), key=lambda p: p.name())
    except lv.libvirtError as err:
        raise CommandFailed("Failed to list pools", err) from err
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
            rows.append([pool.name(), POOL_STATES[state], _yes_no(pool.autostart()),
                         _yes_no(pool.isPersistent())] + sizes)
    else:
        header = ["Name", "State", "Autostart"]
        rows = [[p.name(), "active" if p.isActive() else "inactive", _yes_no(p.autostart())]
                for p in pools]
    ctl.print(format_table(header, rows, with_header=not ctl.quiet))
    return True


@command("pool-info", GRP, "storage pool information",
         "Returns basic information about the storage pool.",
         pool_opt(), flag("bytes", "Return pool info in bytes"))
def cmd_pool_info(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    state, capacity, allocation, available = pool.info()
    rows = [("Name:", pool.name()), ("UUID:", pool.UUIDString()),
            ("State:", POOL_STATES[state]), ("Persistent:", _yes_no(pool.isPersistent())),
            ("Autostart:", _yes_no(pool.autostart()))]
    if state in (2, 3):
        size = str if inv.has("bytes") else pretty_capacity
        rows += [("Capacity:", size(capacity)), ("Allocation:", size(allocation)),
                 ("Available:", size(available))]
    ctl.print("".join(f"{label:<15} {value}\n" for label, value in rows))
    return True


@command("pool-dumpxml", GRP, "pool information in XML",
         "Output the pool information as an XML dump to stdout.",
         pool_opt(),
         flag("inactive", "show inactive defined XML"),
         Opt("xpath", STRING, "xpath expression to filter the XML document", positional=False),
         flag("wrap", "wrap xpath results in an common root element"))
def cmd_pool_dumpxml(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    pool = ctl.pool(inv)
    flags = lv.VIR_STORAGE_XML_INACTIVE if inv.has("inactive") else 0
    ctl.print(select(pool.XMLDesc(flags), inv.get("xpath"), inv.has("wrap")))
    return True


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


@command("pool-define-as", GRP, "define a pool from a set of args",
         "Define a pool.",
         Opt("name", DATA, "name of the pool", required=True),
         Opt("type", DATA, "type of the pool", required=True),
         flag("print-xml", "print XML document, but don't define/create"),
         *[Opt(name, STRING, _SOURCE_HELP.get(
             name, f"{name} for underlying storage")) for name in _SOURCE_OPTS])
def cmd_pool_define_as(ctl: Ctl, inv: Invocation) -> bool:
    xml = pool_xml(inv)
    if inv.has("print-xml"):
        ctl.print(xml)
        return True
    try:
        pool = ctl.conn.storagePoolDefineXML(xml, 0)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"Failed to define pool {inv.get('name')}", err) from err
    ctl.print_extra(f"Pool {pool.name()} defined\n")
    return True


@command("pool-create-as", GRP, "create a pool from a set of args",
         "Create a pool.",
         Opt("name", DATA, "name of the pool", required=True),
         Opt("type", DATA, "type of the pool", required=True),
         flag("print-xml", "print XML document, but don't define/create"),
         *[Opt(name, STRING, _SOURCE_HELP.get(
             name, f"{name} for underlying storage")) for name in _SOURCE_OPTS],
         flag("build", "build the pool as normal"),
         flag("no-overwrite", "do not overwrite any existing data"),
         flag("overwrite", "overwrite any existing data"))
def cmd_pool_create_as(ctl: Ctl, inv: Invocation) -> bool:
    _check_overwrite(inv)
    xml = pool_xml(inv)
    if inv.has("print-xml"):
        ctl.print(xml)
        return True
    try:
        pool = ctl.conn.storagePoolCreateXML(xml, create_flags(ctl, inv))
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"Failed to create pool {inv.get('name')}", err) from err
    ctl.print_extra(f"Pool {pool.name()} created\n")
    return True


def _pool_action(name: str, help: str, description: str, method: str, fail_verb: str,
                 done: str, *extra: Opt) -> None:
    def handler(ctl: Ctl, inv: Invocation) -> bool:
        pool = ctl.pool(inv)
        pname = pool.name()
        try:
            if method == "create":
                _check_overwrite(inv)
                pool.create(create_flags(ctl, inv))
            else:
                getattr(pool, method)()
        except ctl.binding.libvirtError as err:
            raise CommandFailed(f"Failed to {fail_verb} pool {pname}", err) from err
        ctl.print_extra(f"Pool {pname} {done}\n")
        return True
    command(name, GRP, help, description, pool_opt(), *extra)(handler)


_pool_action("pool-start", "start a (previously defined) inactive pool",
             "Start a pool.", "create", "start", "started",
             flag("build", "build the pool as normal"),
             flag("no-overwrite", "do not overwrite any existing data"),
             flag("overwrite", "overwrite any existing data"))
_pool_action("pool-destroy", "destroy (stop) a pool",
             "Forcefully stop a given pool. Raw data in the pool is untouched",
             "destroy", "destroy", "destroyed")
_pool_action("pool-undefine", "undefine an inactive pool",
             "Undefine the configuration for an inactive pool.",
             "undefine", "undefine", "has been undefined")


_OVERWRITE_OPTS = (flag("no-overwrite", "do not overwrite any existing data"),
                   flag("overwrite", "overwrite any existing data"))


def build_flags(ctl: Ctl, inv: Invocation) -> int:
    """VIR_STORAGE_POOL_BUILD_* from --overwrite / --no-overwrite."""
    lv = ctl.binding
    flags = 0
    if inv.has("overwrite"):
        flags |= lv.VIR_STORAGE_POOL_BUILD_OVERWRITE
    if inv.has("no-overwrite"):
        flags |= lv.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE
    return flags


def create_flags(ctl: Ctl, inv: Invocation) -> int:
    """VIR_STORAGE_POOL_CREATE_WITH_BUILD* from --build and the overwrite options."""
    lv = ctl.binding
    flags = 0
    if inv.has("build"):
        flags |= lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD
    if inv.has("overwrite"):
        flags |= lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE
    if inv.has("no-overwrite"):
        flags |= lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE
    return flags


def _check_overwrite(inv: Invocation) -> None:
    if inv.has("overwrite") and inv.has("no-overwrite"):
        raise CommandFailed("Options --overwrite and --no-overwrite are mutually exclusive")


@command("pool-build", GRP, "build a pool", "Build a given pool.",
         pool_opt(), *_OVERWRITE_OPTS)
def cmd_pool_build(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    name = pool.name()
    try:
        pool.build(build_flags(ctl, inv))
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"Failed to build pool {name}", err) from err
    ctl.print_extra(f"Pool {name} built\n")
    return True


def _pool_from_file(verb: str, help: str, description: str, method: str, *extra: Opt) -> None:
    """pool-create / pool-define: a pool from an XML file."""
    def handler(ctl: Ctl, inv: Invocation) -> bool:
        lv = ctl.binding
        _check_overwrite(inv)
        path = inv.get("file")
        xml = read_file(path)
        if method == "storagePoolCreateXML":
            flags = create_flags(ctl, inv)
        else:
            flags = lv.VIR_STORAGE_POOL_DEFINE_VALIDATE if inv.has("validate") else 0
        try:
            pool = getattr(ctl.conn, method)(xml, flags)
        except lv.libvirtError as err:
            raise CommandFailed(f"Failed to {verb} pool from {path}", err) from err
        ctl.print_extra(f"Pool {pool.name()} {verb}d from {path}\n")
        return True
    command(f"pool-{verb}", GRP, help, description,
            Opt("file", DATA, "file containing an XML pool description", required=True),
            *extra)(handler)


_pool_from_file("create", "create a pool from an XML file", "Create a pool.",
                "storagePoolCreateXML", flag("build", "build the pool as normal"),
                *_OVERWRITE_OPTS)
_pool_from_file("define", "define an inactive persistent storage pool or modify an existing "
                "persistent one from an XML file", "Define or modify a persistent storage pool.",
                "storagePoolDefineXML", flag("validate", "validate the XML against the schema"))


def _pool_simple(name: str, help: str, description: str, call, fail_verb: str,
                 done: str) -> None:
    def handler(ctl: Ctl, inv: Invocation) -> bool:
        pool = ctl.pool(inv)
        pname = pool.name()
        try:
            call(pool)
        except ctl.binding.libvirtError as err:
            raise CommandFailed(f"Failed to {fail_verb} pool {pname}", err) from err
        ctl.print_extra(f"Pool {pname} {done}\n")
        return True
    command(name, GRP, help, description, pool_opt())(handler)


_pool_simple("pool-delete", "delete a pool", "Delete a given pool.",
             lambda p: p.delete(0), "delete", "deleted")
_pool_simple("pool-refresh", "refresh a pool", "Refresh a given pool.",
             lambda p: p.refresh(0), "refresh", "refreshed")


@command("pool-autostart", GRP, "autostart a pool",
         "Configure a pool to be automatically started at boot.",
         pool_opt(), flag("disable", "disable autostarting"))
def cmd_pool_autostart(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    name = pool.name()
    enable = not inv.has("disable")
    verb = "mark" if enable else "unmark"
    try:
        pool.setAutostart(1 if enable else 0)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"failed to {verb} pool {name} as autostarted", err) from err
    ctl.print_extra(f"Pool {name} {verb}ed as autostarted\n")
    return True


@command("pool-uuid", GRP, "convert a pool name to pool UUID", "", pool_opt())
def cmd_pool_uuid(ctl: Ctl, inv: Invocation) -> bool:
    text = inv.get("pool")
    try:
        pool = ctl.conn.storagePoolLookupByName(text)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"failed to get pool '{text}'", err) from err
    ctl.print(pool.UUIDString() + "\n")
    return True


@command("pool-name", GRP, "convert a pool UUID to pool name", "", pool_opt())
def cmd_pool_name(ctl: Ctl, inv: Invocation) -> bool:
    text = inv.get("pool")
    if not UUID_RE.match(text):
        raise CommandFailed(f"failed to get pool '{text}'")
    try:
        pool = ctl.conn.storagePoolLookupByUUIDString(text)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"failed to get pool '{text}'", err) from err
    ctl.print(pool.name() + "\n")
    return True

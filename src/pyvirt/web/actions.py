"""What the buttons do, through the public pyvirt API (sync; run in a thread).

Each function returns a short success message or raises libvirtError
(whose message the page shows as it is) or ValueError (bad form input).
"""

from __future__ import annotations

from typing import Any, Callable

from lxml import etree

import pyvirt

from .xmlgen import (GuestPlan, disk_device_xml, domain_xml, network_xml, next_disk_target,
                     nic_device_xml, snapshot_xml, volume_xml)

# action name -> (label, what it does to a virDomain, past tense)
DOMAIN_ACTIONS: dict[str, tuple[str, Callable[[Any], Any], str]] = {
    "start": ("Start", lambda d: d.create(), "started"),
    "shutdown": ("Shut down", lambda d: d.shutdown(), "is being shut down"),
    "destroy": ("Force off", lambda d: d.destroy(), "destroyed"),
    "reboot": ("Reboot", lambda d: d.reboot(0), "is being rebooted"),
    "suspend": ("Pause", lambda d: d.suspend(), "suspended"),
    "resume": ("Resume", lambda d: d.resume(), "resumed"),
    "save": ("Save", lambda d: d.managedSave(0), "saved"),
    "undefine": ("Delete", lambda d: d.undefineFlags(
        pyvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        | pyvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA), "undefined"),
}

#: The libvirt ACL permission each domain action needs (remote_protocol.x's @acl).
DOMAIN_ACTION_PERMISSIONS = {
    "start": "domain:start", "shutdown": "domain:init_control", "destroy": "domain:stop",
    "reboot": "domain:init_control", "suspend": "domain:suspend", "resume": "domain:suspend",
    "save": "domain:hibernate", "undefine": "domain:delete"}

NETWORK_ACTIONS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "start": (lambda n: n.create(), "started"),
    "stop": (lambda n: n.destroy(), "destroyed"),
    "undefine": (lambda n: n.undefine(), "undefined"),
    "autostart": (lambda n: n.setAutostart(1), "marked as autostarted"),
    "noautostart": (lambda n: n.setAutostart(0), "unmarked as autostarted"),
}

POOL_ACTIONS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "start": (lambda p: p.create(0), "started"),
    "stop": (lambda p: p.destroy(), "destroyed"),
    "refresh": (lambda p: p.refresh(0), "refreshed"),
}


def domain_action(conn: Any, name: str, action: str) -> str:
    if action not in DOMAIN_ACTIONS:
        raise ValueError(f"unknown domain action '{action}'")
    dom = conn.lookupByName(name)
    DOMAIN_ACTIONS[action][1](dom)
    return f"Domain '{name}' {DOMAIN_ACTIONS[action][2]}"


def bulk_action(conn: Any, names: list[str], action: str) -> tuple[list[str], list[str]]:
    """Run ``action`` on each domain: (successes, error messages)."""
    if action not in ("start", "shutdown", "destroy"):
        raise ValueError(f"unknown bulk action '{action}'")
    done, errors = [], []
    for name in names:
        try:
            done.append(domain_action(conn, name, action))
        except pyvirt.libvirtError as err:
            errors.append(f"{name}: {err}")
    return done, errors


def snapshot_create(conn: Any, name: str, snap_name: str, description: str) -> str:
    dom = conn.lookupByName(name)
    snap = dom.snapshotCreateXML(snapshot_xml(snap_name.strip(), description.strip()), 0)
    return f"Domain snapshot {snap.getName()} created"


def snapshot_revert(conn: Any, name: str, snap_name: str) -> str:
    dom = conn.lookupByName(name)
    dom.revertToSnapshot(dom.snapshotLookupByName(snap_name, 0), 0)
    return f"Domain '{name}' reverted to snapshot {snap_name}"


def snapshot_delete(conn: Any, name: str, snap_name: str) -> str:
    dom = conn.lookupByName(name)
    dom.snapshotLookupByName(snap_name, 0).delete(0)
    return f"Domain snapshot {snap_name} deleted"


def check_well_formed(xml: str) -> None:
    """Raise libvirtError (VIR_ERR_XML_DETAIL) when ``xml`` does not parse."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        etree.fromstring(xml.encode(), parser)
    except etree.XMLSyntaxError as err:
        raise pyvirt.libvirtError(f"XML error: {syntax_error_text(err, parser)}") from None


def syntax_error_text(err: etree.XMLSyntaxError, parser: etree.XMLParser) -> str:
    """libxml2's first error as 'line L, column C: message' (lxml's text repeats
    the position and names '<string>')."""
    entries = [e for e in parser.error_log if e.level_name in ("FATAL", "ERROR")]
    if entries:
        first = entries[0]
        return f"line {first.line}, column {first.column}: {first.message.strip()}"
    line, column = err.position if err.position else (1, 1)
    return f"line {line}, column {column}: {err.msg or 'parse error'}"


def domain_save_xml(conn: Any, name: str, xml: str) -> str:
    """Redefine ``name`` from edited XML, validated against libvirt's schema."""
    check_well_formed(xml)
    root = etree.fromstring(xml.encode())
    if root.findtext("./name") != name:
        raise ValueError(f"the edited XML must keep the name '{name}' "
                         f"(found '{root.findtext('./name') or ''}')")
    dom = conn.defineXMLFlags(xml, pyvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    return f"Domain '{dom.name()}' defined from the edited XML"


def _positive_int(form: dict[str, str], key: str, label: str) -> int:
    try:
        value = int(form.get(key, "").strip())
    except ValueError:
        raise ValueError(f"{label} must be a whole number") from None
    if value <= 0:
        raise ValueError(f"{label} must be greater than zero")
    return value


def create_guest(conn: Any, form: dict[str, str]) -> str:
    """The wizard: maybe make a disk volume, then define the domain (and start it)."""
    name = form.get("name", "").strip()
    if not name:
        raise ValueError("the new VM needs a name")
    plan = GuestPlan(name=name, memory_mib=_positive_int(form, "memory", "Memory (MiB)"),
                     vcpus=_positive_int(form, "vcpus", "vCPUs"),
                     domain_type=form.get("domain_type") or "qemu",
                     arch=form.get("arch") or "x86_64",
                     boot=form.get("boot", "volume"), network=form.get("network", ""),
                     kernel=form.get("kernel", "").strip(), iso=form.get("iso", "").strip(),
                     initrd=form.get("initrd", "").strip(),
                     cmdline=form.get("cmdline", "").strip(),
                     vnc=bool(form.get("vnc")))
    if plan.boot not in ("volume", "kernel", "iso"):
        raise ValueError(f"unknown boot choice '{plan.boot}'")
    if plan.boot == "kernel" and not plan.kernel:
        raise ValueError("booting from a kernel needs the kernel's path")
    if plan.boot == "iso" and not plan.iso:
        raise ValueError("booting from an ISO image needs the image's path")
    created_vol = None
    disk = form.get("disk", "none")
    if disk == "new":
        pool = conn.storagePoolLookupByName(form.get("pool", ""))
        size_gib = _positive_int(form, "disk_gib", "Disk size (GiB)")
        created_vol = pool.createXML(volume_xml(f"{name}.qcow2", size_gib << 30, "qcow2"), 0)
        plan.disk_path, plan.disk_format = created_vol.path(), "qcow2"
    elif disk == "existing":
        pool_name, _, vol_name = form.get("volume", "").partition("/")
        vol = conn.storagePoolLookupByName(pool_name).storageVolLookupByName(vol_name)
        plan.disk_path = vol.path()
        plan.disk_format = _volume_format(vol)
    try:
        dom = conn.defineXMLFlags(domain_xml(plan), pyvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    except pyvirt.libvirtError:
        if created_vol is not None:
            created_vol.delete(0)
        raise
    message = f"Domain '{dom.name()}' defined"
    if form.get("start"):
        dom.create()
        message += " and started"
    return message


def _volume_format(vol: Any) -> str:
    root = etree.fromstring(vol.XMLDesc(0).encode())
    found = root.find("./target/format")
    return found.get("type", "raw") if found is not None else "raw"


def network_create(conn: Any, form: dict[str, str]) -> str:
    name = form.get("name", "").strip()
    if not name:
        raise ValueError("the new network needs a name")
    xml = network_xml(name, form.get("mode", "nat"), form.get("cidr", "").strip(),
                      dhcp=bool(form.get("dhcp")))
    net = conn.networkDefineXML(xml)
    if form.get("start"):
        net.create()
    return f"Network {net.name()} defined" + (" and started" if form.get("start") else "")


def network_action(conn: Any, name: str, action: str) -> str:
    if action not in NETWORK_ACTIONS:
        raise ValueError(f"unknown network action '{action}'")
    NETWORK_ACTIONS[action][0](conn.networkLookupByName(name))
    return f"Network {name} {NETWORK_ACTIONS[action][1]}"


def pool_action(conn: Any, name: str, action: str) -> str:
    if action not in POOL_ACTIONS:
        raise ValueError(f"unknown pool action '{action}'")
    POOL_ACTIONS[action][0](conn.storagePoolLookupByName(name))
    return f"Pool {name} {POOL_ACTIONS[action][1]}"


def volume_create(conn: Any, pool_name: str, form: dict[str, str]) -> str:
    name = form.get("name", "").strip()
    if not name:
        raise ValueError("the new volume needs a name")
    size_mib = _positive_int(form, "size_mib", "Size (MiB)")
    fmt = form.get("format", "raw")
    if fmt not in ("raw", "qcow2"):
        raise ValueError(f"unknown volume format '{fmt}'")
    pool = conn.storagePoolLookupByName(pool_name)
    vol = pool.createXML(volume_xml(name, size_mib << 20, fmt), 0)
    return f"Vol {vol.name()} created"


def volume_delete(conn: Any, pool_name: str, vol_name: str) -> str:
    conn.storagePoolLookupByName(pool_name).storageVolLookupByName(vol_name).delete(0)
    return f"Vol {vol_name} deleted"


def _affect_flags(dom: Any) -> int:
    """Change the running guest (when running) and its saved definition (when persistent)."""
    flags = 0
    if dom.isActive():
        flags |= pyvirt.VIR_DOMAIN_AFFECT_LIVE
    if dom.isPersistent():
        flags |= pyvirt.VIR_DOMAIN_AFFECT_CONFIG
    return flags or pyvirt.VIR_DOMAIN_AFFECT_CURRENT


def disk_attach(conn: Any, name: str, form: dict[str, str]) -> str:
    """Attach a pool volume as a new virtio disk (hot-plug when running)."""
    dom = conn.lookupByName(name)
    pool_name, _, vol_name = form.get("volume", "").partition("/")
    if not vol_name:
        raise ValueError("choose a volume to attach")
    vol = conn.storagePoolLookupByName(pool_name).storageVolLookupByName(vol_name)
    root = etree.fromstring(dom.XMLDesc(0).encode())
    target = form.get("target", "").strip() or next_disk_target(
        [str(t) for t in root.xpath("./devices/disk/target/@dev")])
    dom.attachDeviceFlags(disk_device_xml(vol.path(), target, _volume_format(vol)),
                          _affect_flags(dom))
    return f"Disk {target} attached to domain '{name}'"


def nic_attach(conn: Any, name: str, form: dict[str, str]) -> str:
    network = form.get("network", "").strip()
    if not network:
        raise ValueError("choose a network for the new interface")
    dom = conn.lookupByName(name)
    dom.attachDeviceFlags(nic_device_xml(network, form.get("model") or "virtio"),
                          _affect_flags(dom))
    return f"Interface on network {network} attached to domain '{name}'"


def device_detach(conn: Any, name: str, kind: str, key: str) -> str:
    """Detach the disk with target ``key`` or the interface with MAC ``key``."""
    dom = conn.lookupByName(name)
    root = etree.fromstring(dom.XMLDesc(0).encode())
    if kind == "disk":
        found = [d for d in root.findall("./devices/disk")
                 if d.find("./target") is not None and d.find("./target").get("dev") == key]
        label = f"Disk {key}"
    elif kind == "interface":
        found = [n for n in root.findall("./devices/interface")
                 if n.find("./mac") is not None and n.find("./mac").get("address") == key]
        label = f"Interface {key}"
    else:
        raise ValueError(f"unknown device kind '{kind}'")
    if not found:
        raise ValueError(f"domain '{name}' has no {kind} '{key}'")
    dom.detachDeviceFlags(etree.tostring(found[0], encoding="unicode"), _affect_flags(dom))
    return f"{label} detached from domain '{name}'"


def volume_resize(conn: Any, pool_name: str, vol_name: str, form: dict[str, str]) -> str:
    size_mib = _positive_int(form, "size_mib", "New size (MiB)")
    vol = conn.storagePoolLookupByName(pool_name).storageVolLookupByName(vol_name)
    vol.resize(size_mib << 20, 0)
    return f"Size of volume '{vol_name}' successfully changed to {size_mib}M"

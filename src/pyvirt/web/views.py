"""What each page shows, read through the public pyvirt API (sync; run in a thread)."""

from __future__ import annotations

import difflib
import ipaddress
from typing import Any

from lxml import etree

import pyvirt

from .hosts import Host
from .states import state_class, state_name


def host_summary(host: Host) -> dict[str, Any]:
    """One row of the hosts page; an unreachable host shows its error instead."""
    try:
        conn = host.conn
        running = len(conn.listAllDomains(pyvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
        total = len(conn.listAllDomains(0))
        return {"index": host.index, "uri": host.uri, "ok": True,
                "hostname": conn.getHostname(), "type": conn.getType(),
                "running": running, "total": total}
    except pyvirt.libvirtError as err:
        return {"index": host.index, "uri": host.uri, "ok": False, "error": str(err)}


def host_overview(conn: Any) -> dict[str, Any]:
    info = conn.getInfo()
    free = conn.getFreeMemory()
    total_mib = info[1]
    running = [domain_row(d) for d in conn.listAllDomains(pyvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    return {"hostname": conn.getHostname(), "type": conn.getType(), "uri": conn.getURI(),
            "arch": info[0], "memory_mib": total_mib, "cpus": info[2], "mhz": info[3],
            "nodes": info[4], "sockets": info[5], "cores": info[6], "threads": info[7],
            "free_mib": free // (1024 * 1024),
            "used_pct": round(100 * (1 - free / (total_mib * 1024 * 1024)), 1)
            if total_mib else 0.0,
            "running": running}


def domain_row(dom: Any) -> dict[str, Any]:
    state, max_kib, mem_kib, vcpus, _cpu = dom.info()
    return {"name": dom.name(), "uuid": dom.UUIDString(), "id": dom.ID(),
            "state": state_name(state), "state_class": state_class(state),
            "vcpus": vcpus, "mem_mib": mem_kib // 1024, "max_mem_mib": max_kib // 1024,
            "persistent": bool(dom.isPersistent())}


def domain_rows(conn: Any, query: str = "", state: str = "") -> list[dict[str, Any]]:
    rows = []
    for dom in conn.listAllDomains(0):
        try:
            row = domain_row(dom)
        except pyvirt.libvirtError:
            continue
        if query and query.lower() not in row["name"].lower():
            continue
        if state and row["state_class"] != state:
            continue
        rows.append(row)
    return sorted(rows, key=lambda r: r["name"])


def domain_details(dom: Any) -> dict[str, Any]:
    details = domain_row(dom)
    xml = dom.XMLDesc(0)
    root = etree.fromstring(xml.encode())
    details["os_type"] = root.findtext("./os/type") or ""
    details["arch"] = _attr(root, "os/type", "arch")
    details["domain_type"] = root.get("type", "")
    details["autostart"] = _safe(lambda: bool(dom.autostart()), False)
    details["has_managed_save"] = _safe(lambda: bool(dom.hasManagedSaveImage(0)), False)
    details["disks"] = [{"device": d.get("device", "disk"), "target": _attr(d, "target", "dev"),
                         "bus": _attr(d, "target", "bus"),
                         "source": _attr(d, "source", "file") or _attr(d, "source", "dev")
                         or _attr(d, "source", "volume")}
                        for d in root.findall("./devices/disk")]
    details["nics"] = [{"type": n.get("type", ""), "mac": _attr(n, "mac", "address"),
                        "source": _attr(n, "source", "network") or _attr(n, "source", "bridge"),
                        "model": _attr(n, "model", "type"), "target": _attr(n, "target", "dev")}
                       for n in root.findall("./devices/interface")]
    details["has_console"] = root.find("./devices/console") is not None \
        or root.find("./devices/serial") is not None
    details["has_vnc"] = root.find("./devices/graphics[@type='vnc']") is not None
    details["xml"] = xml
    return details


def snapshot_tree(dom: Any) -> list[dict[str, Any]]:
    """Snapshots as a flat list in tree order, each with its depth."""
    snaps = dom.listAllSnapshots(0)
    try:
        current = dom.snapshotCurrent(0).getName()
    except pyvirt.libvirtError:
        current = None
    parent_of: dict[str, str | None] = {}
    for snap in snaps:
        try:
            parent_of[snap.getName()] = snap.getParent(0).getName()
        except pyvirt.libvirtError:
            parent_of[snap.getName()] = None
    children: dict[str | None, list[str]] = {}
    for name, parent in parent_of.items():
        children.setdefault(parent if parent in parent_of else None, []).append(name)
    ordered: list[dict[str, Any]] = []

    def walk(parent: str | None, depth: int) -> None:
        for name in sorted(children.get(parent, [])):
            ordered.append({"name": name, "depth": depth, "current": name == current})
            walk(name, depth + 1)

    walk(None, 0)
    return ordered


def xml_diff(old: str, new: str, name: str) -> list[tuple[str, str]]:
    """Unified diff lines as (css class, text)."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(),
                                 f"{name} (saved)", f"{name} (edited)", lineterm="")
    out = []
    for line in lines:
        cls = "ctx"
        if line.startswith(("+++", "---")):
            cls = "hdr"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        out.append((cls, line))
    return out


def network_rows(conn: Any) -> list[dict[str, Any]]:
    rows = []
    for net in conn.listAllNetworks(0):
        root = etree.fromstring(net.XMLDesc(0).encode())
        forward = root.find("./forward")
        ip = root.find("./ip")
        rows.append({"name": net.name(), "active": bool(net.isActive()),
                     "persistent": bool(net.isPersistent()),
                     "autostart": _safe(lambda n=net: bool(n.autostart()), False),
                     "mode": forward.get("mode", "nat") if forward is not None else "isolated",
                     "bridge": _attr(root, "bridge", "name"),
                     "address": _cidr(ip)})
    return sorted(rows, key=lambda r: r["name"])


def network_details(net: Any) -> dict[str, Any]:
    try:
        leases = net.DHCPLeases() if net.isActive() else []
        leases_error = None
    except pyvirt.libvirtError as err:
        leases, leases_error = [], str(err)
    return {"name": net.name(), "uuid": net.UUIDString(), "active": bool(net.isActive()),
            "persistent": bool(net.isPersistent()), "xml": net.XMLDesc(0),
            "leases": leases, "leases_error": leases_error}


def pool_rows(conn: Any) -> list[dict[str, Any]]:
    rows = []
    for pool in conn.listAllStoragePools(0):
        state, capacity, allocation, available = pool.info()
        rows.append({"name": pool.name(), "active": bool(pool.isActive()),
                     "capacity": capacity, "allocation": allocation,
                     "available": available,
                     "used_pct": round(100 * allocation / capacity, 1) if capacity else 0.0,
                     "volumes": pool.numOfVolumes() if pool.isActive() else 0})
    return sorted(rows, key=lambda r: r["name"])


def volume_rows(pool: Any) -> list[dict[str, Any]]:
    if not pool.isActive():
        return []
    rows = []
    for vol in pool.listAllVolumes(0):
        _type, capacity, allocation = vol.info()
        rows.append({"name": vol.name(), "path": vol.path(), "capacity": capacity,
                     "allocation": allocation})
    return sorted(rows, key=lambda r: r["name"])


def guest_choices(conn: Any) -> dict[str, Any]:
    """What the wizard offers: domain types and arches, pools with volumes, networks
    (empty lists where the URI has no storage or network driver)."""
    caps = etree.fromstring(conn.getCapabilities().encode())
    arches, types = [], []
    for guest in caps.findall("./guest"):
        if guest.findtext("./os_type") != "hvm":
            continue
        arch = guest.find("./arch")
        if arch is None:
            continue
        if arch.get("name") not in arches:
            arches.append(arch.get("name"))
        for dom in arch.findall("./domain"):
            if dom.get("type") not in types:
                types.append(dom.get("type"))
    return {"arches": arches, "types": types, "pools": _safe(lambda: _pool_volumes(conn), []),
            "networks": _safe(lambda: sorted(n.name() for n in conn.listAllNetworks(0)), [])}


def _pool_volumes(conn: Any) -> list[dict[str, Any]]:
    """Active pools, their volume names and the paths of their ``.iso`` volumes
    (a URI without storage answers [])."""
    pools = []
    for pool in conn.listAllStoragePools(pyvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        volumes = sorted(pool.listAllVolumes(0), key=lambda v: v.name())
        pools.append({"name": pool.name(), "volumes": [v.name() for v in volumes],
                      "isos": [v.path() for v in volumes if v.name().lower().endswith(".iso")]})
    return sorted(pools, key=lambda p: p["name"])


def _cidr(ip: Any) -> str:
    """``<ip address= netmask=|prefix=>`` as ``ADDRESS/PREFIX``."""
    if ip is None or not ip.get("address"):
        return ""
    mask = ip.get("prefix") or ip.get("netmask") or ""
    try:
        prefix = ipaddress.ip_network(f"0.0.0.0/{mask}").prefixlen if "." in mask else mask
    except ValueError:
        prefix = mask
    return f"{ip.get('address')}/{prefix}" if prefix else ip.get("address")


def _attr(element: Any, child: str, attr: str) -> str:
    found = element.find(f"./{child}")
    return found.get(attr, "") if found is not None else ""


def _safe(func: Any, default: Any) -> Any:
    try:
        return func()
    except pyvirt.libvirtError:
        return default

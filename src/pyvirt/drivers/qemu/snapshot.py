"""Internal snapshots of qcow2 disks, with memory state when the domain runs.

* running/paused domain: QMP ``snapshot-save`` / ``snapshot-load`` /
  ``snapshot-delete`` jobs over the disks' format nodes (memory goes into the
  first disk);
* shut-off domain: ``qemu-img snapshot -c/-a/-d`` on each disk file.

Metadata (``<domainsnapshot>`` as libvirt stores it, with ``<active>1</active>``
on the current one) lives in ``LIB/snapshot/DOMAIN/NAME.xml``, written
atomically and loaded when the driver starts.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from typing import TYPE_CHECKING, Any

from pyvirt.conf.snapshot import DomainSnapshotDef
from pyvirt.drivers.qemu import external_snapshot, lifecycle, state_dir
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_NO_DOMAIN_SNAPSHOT, VIR_ERR_OPERATION_FAILED,
    VIR_FROM_DOMAIN, VIR_FROM_QEMU, error, libvirtError,
)
from pyvirt.security.paths import check_name
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import DomainEvent as E, DomainState as S
from pyvirt.objects.snapshot_tree import SnapshotObj

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState
    from pyvirt.drivers.qemu.runtime import DomainRuntime
    from pyvirt.objects.domain_obj import DomainObj

log = logging.getLogger(__name__)

RESUMED_FROM_SNAPSHOT, SUSPENDED_FROM_SNAPSHOT = 2, 5
JOB_TIMEOUT_S = 120.0
CREATE_FLAGS = (n.SNAPSHOT_CREATE_HALT | n.SNAPSHOT_CREATE_ATOMIC
                | n.SNAPSHOT_CREATE_VALIDATE | n.SNAPSHOT_CREATE_CURRENT
                | n.SNAPSHOT_CREATE_REDEFINE | n.SNAPSHOT_CREATE_DISK_ONLY
                | n.SNAPSHOT_CREATE_NO_METADATA | n.SNAPSHOT_CREATE_REUSE_EXT)


def no_snapshot(name: str) -> libvirtError:
    return error(VIR_ERR_NO_DOMAIN_SNAPSHOT,
                 f"no domain snapshot with matching name '{name}'", domain=VIR_FROM_QEMU)


def find(dom: "DomainObj", name: str) -> SnapshotObj:
    snap = dom.snapshots.get(name)
    if snap is None:
        raise no_snapshot(name)
    return snap


# --- metadata on disk -----------------------------------------------------------------
def save_metadata(drv: "QemuDriverState", dom: "DomainObj", snap: SnapshotObj) -> None:
    text = snap.definition.to_xml()
    if dom.snapshots.current == snap.name:
        text = text.rstrip().removesuffix("</domainsnapshot>") + \
            "  <active>1</active>\n</domainsnapshot>\n"
    state_dir.atomic_write(drv.dirs.snapshot_dir(dom.name) / f"{snap.name}.xml", text)


def save_all_metadata(drv: "QemuDriverState", dom: "DomainObj") -> None:
    for snap in dom.snapshots:
        save_metadata(drv, dom, snap)


def load_metadata(drv: "QemuDriverState", dom: "DomainObj") -> None:
    """Rebuild ``dom``'s snapshot tree from its metadata files (parents first)."""
    folder = drv.dirs.snapshot_dir(dom.name)
    found: list[tuple[DomainSnapshotDef, bool]] = []
    for path in sorted(folder.glob("*.xml")) if folder.is_dir() else []:
        try:
            sdef = DomainSnapshotDef.from_xml(path.read_text())
        except (OSError, libvirtError) as err:
            log.error("ignoring snapshot metadata %s: %s", path, err)
            continue
        active = sdef.node.find("active")
        current = active is not None and (active.text or "").strip() == "1"
        if active is not None:
            sdef.node.remove(active)
        found.append((sdef, current))
    pending = sorted(found, key=lambda item: item[0].creation_time or 0)
    while pending:
        progress = False
        for item in list(pending):
            sdef, current = item
            parent = sdef.parent_name
            if parent and parent not in dom.snapshots:
                continue
            dom.snapshots.add(_obj(sdef))
            if current:
                dom.snapshots.current = sdef.name
            pending.remove(item)
            progress = True
        if not progress:
            # a parent whose file is gone: keep the first orphan as a root, then go on
            sdef, current = pending.pop(0)
            log.warning("snapshot '%s' of '%s' has a missing parent '%s'; kept as a root",
                        sdef.name, dom.name, sdef.parent_name)
            sdef.parent_name = None
            dom.snapshots.add(_obj(sdef))
            if current:
                dom.snapshots.current = sdef.name


def _obj(sdef: DomainSnapshotDef) -> SnapshotObj:
    domain = sdef.domain
    return SnapshotObj(name=sdef.name, definition=sdef, parent=sdef.parent_name or None,
                       creation_time=sdef.creation_time or 0, state=sdef.state or "shutoff",
                       domain_xml=domain.to_xml(inactive=True) if domain is not None else "",
                       disk_only=sdef.state == "disk-snapshot")


# --- QEMU operations -------------------------------------------------------------------
def _qcow2_disks(ddef: Any) -> list[tuple[Any, str]]:
    """(disk element, path) of every disk; refuses what internal snapshots cannot hold."""
    disks = []
    for disk in ddef.node.iterfind("devices/disk"):
        path = lifecycle.disk_source(disk)
        if path is None or disk.get("device", "disk") != "disk":
            continue
        driver = disk.find("driver")
        fmt = (driver.get("type") if driver is not None else None) or "raw"
        target = disk.find("target").get("dev")
        if fmt != "qcow2":
            raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                        f"internal snapshot for disk {target} unsupported for storage type "
                        f"{fmt}", domain=VIR_FROM_QEMU)
        if disk.find("readonly") is None:
            disks.append((disk, path))
    if not disks:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "internal and full system snapshots require "
                    "all disks to be selected for snapshot", domain=VIR_FROM_QEMU)
    return disks


def _format_nodes(rt: "DomainRuntime", disks: list[tuple[Any, str]]) -> list[str]:
    by_alias = {}
    for block in rt.monitor.execute("query-block"):
        node = (block.get("inserted") or {}).get("node-name")
        for part in (block.get("qdev") or "").split("/"):
            if node and part:
                by_alias.setdefault(part, node)
    nodes = []
    for disk, _path in disks:
        alias_el = disk.find("alias")
        alias = alias_el.get("name") if alias_el is not None else lifecycle.disk_alias(disk)
        if alias not in by_alias:
            raise error(VIR_ERR_OPERATION_FAILED, f"disk '{alias}' has no block node",
                        domain=VIR_FROM_QEMU)
        nodes.append(by_alias[alias])
    return nodes


def run_job(rt: "DomainRuntime", command: str, args: dict) -> None:
    """Run a QMP job to its end; its error as OPERATION_FAILED."""
    job_id = f"pyvirt-{command}-{time.monotonic_ns()}"
    rt.monitor.execute(command, {"job-id": job_id, **args})
    deadline = time.monotonic() + JOB_TIMEOUT_S
    delay = 0.01
    while True:
        job = next((j for j in rt.monitor.execute("query-jobs") if j.get("id") == job_id), None)
        if job is None or job.get("status") == "concluded":
            break
        if time.monotonic() > deadline:
            raise error(VIR_ERR_OPERATION_FAILED, f"QEMU job {command} timed out",
                        domain=VIR_FROM_QEMU)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    if job is not None:
        rt.monitor.execute("job-dismiss", {"id": job_id})
        if job.get("error"):
            raise error(VIR_ERR_OPERATION_FAILED, f"{command} failed: {job['error']}",
                        domain=VIR_FROM_QEMU)


def _qemu_img(*args: str) -> None:
    binary = shutil.which("qemu-img") or "/usr/bin/qemu-img"
    done = subprocess.run([binary, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise error(VIR_ERR_OPERATION_FAILED,
                    f"qemu-img {' '.join(args)} failed: {done.stderr.strip()}",
                    domain=VIR_FROM_QEMU)


# --- entry points --------------------------------------------------------------------------
def create(drv: "QemuDriverState", dom: "DomainObj", xml: str, flags: int) -> SnapshotObj:
    sdef = DomainSnapshotDef.from_xml(xml)
    if sdef.name:
        check_name("snapshot", sdef.name)          # its metadata file is NAME.xml
    if sdef.name and sdef.name in dom.snapshots:
        raise error(VIR_ERR_OPERATION_FAILED, f"domain snapshot {sdef.name} already exists",
                    domain=VIR_FROM_DOMAIN)
    if flags & n.SNAPSHOT_CREATE_REDEFINE:
        snap = _obj(sdef)
        dom.snapshots.add(snap)
        if flags & n.SNAPSHOT_CREATE_CURRENT:
            _set_current(drv, dom, snap.name)
        save_metadata(drv, dom, snap)
        return snap
    if flags & n.SNAPSHOT_CREATE_DISK_ONLY:
        return _create_external(drv, dom, sdef, flags)
    if flags & (n.SNAPSHOT_CREATE_NO_METADATA | n.SNAPSHOT_CREATE_REUSE_EXT):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "only disk-only snapshots take "
                    "NO_METADATA or REUSE_EXT here", domain=VIR_FROM_QEMU)
    ddef = dom.current_def
    disks = _qcow2_disks(ddef)
    state = {S.RUNNING: "running", S.BLOCKED: "running", S.PAUSED: "paused"}.get(
        dom.state, "shutoff")
    sdef.normalize(int(time.time()), domain=ddef, state=state,
                   parent=dom.snapshots.current)
    name = sdef.name
    if name in dom.snapshots:
        raise error(VIR_ERR_OPERATION_FAILED, f"domain snapshot {name} already exists",
                    domain=VIR_FROM_DOMAIN)
    if dom.active:
        rt = lifecycle.runtime_of(drv, dom)
        nodes = _format_nodes(rt, disks)
        run_job(rt, "snapshot-save", {"tag": name, "vmstate": nodes[0], "devices": nodes})
    else:
        for _disk, path in disks:
            _qemu_img("snapshot", "-c", name, path)
    snap = dom.snapshots.add(_obj(sdef))
    _set_current(drv, dom, name)
    save_metadata(drv, dom, snap)
    if flags & n.SNAPSHOT_CREATE_HALT and dom.active:
        lifecycle.destroy(drv, dom, reason=n.ShutoffReason.FROM_SNAPSHOT,
                          detail=n.STOPPED_FROM_SNAPSHOT)
    return snap


def _create_external(drv: "QemuDriverState", dom: "DomainObj", sdef: DomainSnapshotDef,
                     flags: int) -> SnapshotObj:
    sdef = external_snapshot.create(drv, dom, sdef, flags)
    snap = _obj(sdef)
    if not flags & n.SNAPSHOT_CREATE_NO_METADATA:
        dom.snapshots.add(snap)
        _set_current(drv, dom, snap.name)
        save_metadata(drv, dom, snap)
    if flags & n.SNAPSHOT_CREATE_HALT and dom.active:
        lifecycle.destroy(drv, dom, reason=n.ShutoffReason.FROM_SNAPSHOT,
                          detail=n.STOPPED_FROM_SNAPSHOT)
    return snap


def is_external(snap: SnapshotObj) -> bool:
    sdef = snap.definition
    return snap.disk_only or sdef.memory_snapshot == "external" or any(
        d.snapshot == "external" for d in sdef.disks)


def _set_current(drv: "QemuDriverState", dom: "DomainObj", name: str | None) -> None:
    old = dom.snapshots.current
    dom.snapshots.current = name
    if old and old != name and old in dom.snapshots:
        save_metadata(drv, dom, dom.snapshots.get(old))


def revert(drv: "QemuDriverState", dom: "DomainObj", snap: SnapshotObj, flags: int) -> None:
    """Go back to ``snap``: memory and disks for a live snapshot, disks for an offline one."""
    if is_external(snap):
        raise external_snapshot.refuse_revert()
    live_snapshot = snap.state in ("running", "paused")
    run_after = (snap.state == "running" or flags & n.SNAPSHOT_REVERT_RUNNING) \
        and not flags & n.SNAPSHOT_REVERT_PAUSED
    if live_snapshot:
        if not dom.active:
            lifecycle.start(drv, dom, n.START_PAUSED, reason=n.RunningReason.FROM_SNAPSHOT,
                            detail=n.STARTED_FROM_SNAPSHOT, quiet_pause=True)
        rt = lifecycle.runtime_of(drv, dom)
        disks = _qcow2_disks(dom.live_def)
        nodes = _format_nodes(rt, disks)
        was_running = dom.state in (S.RUNNING, S.BLOCKED)
        if was_running:
            rt.monitor.execute("stop")
        run_job(rt, "snapshot-load", {"tag": snap.name, "vmstate": nodes[0], "devices": nodes})
        if run_after:
            rt.monitor.execute("cont")
            dom.set_state(S.RUNNING, n.RunningReason.FROM_SNAPSHOT)
            if not was_running:
                lifecycle.lifecycle_event(drv, dom, E.RESUMED, RESUMED_FROM_SNAPSHOT)
        else:
            dom.set_state(S.PAUSED, n.PausedReason.FROM_SNAPSHOT)
            lifecycle.lifecycle_event(drv, dom, E.SUSPENDED, SUSPENDED_FROM_SNAPSHOT)
        lifecycle.save_status(drv, dom)
    else:
        if dom.active:
            lifecycle.destroy(drv, dom, reason=n.ShutoffReason.FROM_SNAPSHOT,
                              detail=n.STOPPED_FROM_SNAPSHOT)
        for _disk, path in _qcow2_disks(dom.persistent_def or dom.current_def):
            _qemu_img("snapshot", "-a", snap.name, path)
        if run_after:
            lifecycle.start(drv, dom, 0, reason=n.RunningReason.FROM_SNAPSHOT,
                            detail=n.STARTED_FROM_SNAPSHOT)
    _set_current(drv, dom, snap.name)
    save_metadata(drv, dom, snap)


def delete(drv: "QemuDriverState", dom: "DomainObj", snap: SnapshotObj, flags: int) -> None:
    doomed: list[SnapshotObj] = []
    if flags & (n.SNAPSHOT_DELETE_CHILDREN | n.SNAPSHOT_DELETE_CHILDREN_ONLY):
        doomed = dom.snapshots.descendants(snap.name)
    if not flags & n.SNAPSHOT_DELETE_CHILDREN_ONLY:
        doomed.append(snap)
    if not flags & n.SNAPSHOT_DELETE_METADATA_ONLY:
        external = sum(1 for victim in doomed if is_external(victim))
        if external:
            raise external_snapshot.refuse_delete(external)
        for victim in doomed:
            _delete_data(drv, dom, victim)
    folder = drv.dirs.snapshot_dir(dom.name)
    for victim in doomed:
        if victim.name in dom.snapshots:
            dom.snapshots.remove(victim.name)
    # children moved up to a new parent: their metadata says so before the victims'
    # files go, so a crash in between never leaves a child whose parent file is gone
    for other in dom.snapshots:
        if (other.definition.parent_name or None) != other.parent:
            other.definition.parent_name = other.parent
        save_metadata(drv, dom, other)
    for victim in doomed:
        state_dir.remove_file(folder / f"{victim.name}.xml")


def _delete_data(drv: "QemuDriverState", dom: "DomainObj", snap: SnapshotObj) -> None:
    if dom.active:
        rt = lifecycle.runtime_of(drv, dom)
        disks = _qcow2_disks(dom.live_def)
        run_job(rt, "snapshot-delete", {"tag": snap.name, "devices": _format_nodes(rt, disks)})
    else:
        for _disk, path in _qcow2_disks(dom.current_def):
            _qemu_img("snapshot", "-d", snap.name, path)

"""Disk-only external snapshots (``VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY``).

Each disk captured ``external`` gets a new qcow2 overlay whose backing file is
the disk's current image; the domain goes on writing into the overlay. The
overlay is made by ``qemu-img create -F FMT -b OLD -u NEW SIZE`` (as root, so a
running guest's locks do not matter), labelled for the guest, and on a running
domain put in place with ``blockdev-add`` + ``blockdev-snapshot`` (the old
image becomes the overlay's backing node). The live XML records the chain in
``<backingStore>``; the persistent definition points at the overlay too (as
libvirt does). Default overlay names are libvirt's: ``/dir/disk.qcow2`` →
``/dir/disk.SNAPNAME``.

libvirt 9.0 cannot revert to such a snapshot nor delete one other than
metadata-only; the same refusals are given here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import TYPE_CHECKING, Any

from lxml import etree

from pyvirt.conf.snapshot import DomainSnapshotDef
from pyvirt.drivers.qemu import isolation, lifecycle
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_UNSUPPORTED,
    VIR_FROM_QEMU, error,
)
from pyvirt.objects import numbers as n

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState
    from pyvirt.objects.domain_obj import DomainObj

#: flags a disk-only snapshot accepts beside DISK_ONLY (libvirt's qemu driver has more)
DISK_ONLY_FLAGS = (n.SNAPSHOT_CREATE_DISK_ONLY | n.SNAPSHOT_CREATE_NO_METADATA
                   | n.SNAPSHOT_CREATE_REUSE_EXT | n.SNAPSHOT_CREATE_ATOMIC
                   | n.SNAPSHOT_CREATE_HALT)


def default_overlay_path(base: str, snap_name: str) -> str:
    """libvirt's name: the base's extension replaced by the snapshot name (or appended)."""
    head, tail = os.path.split(base)
    stem = tail.rsplit(".", 1)[0] if "." in tail else tail
    return os.path.join(head, f"{stem}.{snap_name}")


def plan_disks(sdef: DomainSnapshotDef, ddef: Any) -> list[tuple[Any, Any]]:
    """(domain ``<disk>``, snapshot ``<disk>``) for each disk to overlay, after
    giving every snapshot disk its mode, type, format and overlay path."""
    by_target = {d.find("target").get("dev"): d for d in ddef.node.iterfind("devices/disk")
                 if d.find("target") is not None}
    todo = []
    for sdisk in sdef.disks:
        disk = by_target[sdisk.name]
        if sdisk.snapshot == "external" and (disk.get("device", "disk") != "disk"
                                             or disk.find("readonly") is not None):
            sdisk.snapshot = "no"     # libvirt's default for cdroms and readonly disks
        if sdisk.snapshot == "no":
            continue
        if sdisk.snapshot != "external":
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, "disk-only snapshots require every disk "
                        f"to be external or excluded; disk '{sdisk.name}' is "
                        f"'{sdisk.snapshot}'", domain=VIR_FROM_QEMU)
        base = lifecycle.disk_source(disk)
        if base is None or disk.get("type", "file") != "file":
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, "external snapshot of disk "
                        f"'{sdisk.name}' needs a file source", domain=VIR_FROM_QEMU)
        sdisk.type = sdisk.type or "file"
        sdisk.driver_type = sdisk.driver_type or "qcow2"
        if sdisk.driver_type != "qcow2":
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, "external snapshot format for disk "
                        f"{sdisk.name} is unsupported: {sdisk.driver_type}",
                        domain=VIR_FROM_QEMU)
        sdisk.source_file = sdisk.source_file or default_overlay_path(base, sdef.name)
        sdisk.sort_children()
        todo.append((disk, sdisk))
    if not todo:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "disk-only snapshots require at least one "
                    "disk to be selected for snapshot", domain=VIR_FROM_QEMU)
    return todo


def disk_format(disk: Any) -> str:
    driver = disk.find("driver")
    return (driver.get("type") if driver is not None else None) or "raw"


def _qemu_img(*args: str) -> str:
    binary = shutil.which("qemu-img") or "/usr/bin/qemu-img"
    done = subprocess.run([binary, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise error(VIR_ERR_OPERATION_FAILED, f"qemu-img {args[0]} failed: "
                    f"{done.stderr.strip()}", domain=VIR_FROM_QEMU)
    return done.stdout


def make_overlay(base: str, base_fmt: str, overlay: str, reuse: bool) -> None:
    if os.path.exists(overlay):
        if reuse:
            return
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"external snapshot file for disk already "
                    f"exists and is not a block device: {overlay}", domain=VIR_FROM_QEMU)
    size = json.loads(_qemu_img("info", "-U", "--output=json", "-f", base_fmt, base))
    _qemu_img("create", "-q", "-f", "qcow2", "-F", base_fmt, "-b", base, "-u", overlay,
              str(size["virtual-size"]))


def record_chain(disk: Any, overlay: str, base: str, base_fmt: str, with_backing: bool) -> None:
    """Point ``disk`` at the overlay; its old image becomes the first ``<backingStore>``."""
    source = disk.find("source")
    driver = disk.find("driver")
    if driver is None:
        driver = etree.Element("driver", name="qemu")
        disk.insert(0, driver)
    driver.set("type", "qcow2")
    old_store = disk.find("backingStore")
    if old_store is not None:
        disk.remove(old_store)
    source.set("file", overlay)
    if not with_backing:
        return
    store = etree.Element("backingStore", type="file")
    etree.SubElement(store, "format", type=base_fmt)
    etree.SubElement(store, "source", file=base)
    store.append(old_store if old_store is not None and len(old_store) else
                 etree.Element("backingStore"))
    source.addnext(store)


def _live_swap(drv: "QemuDriverState", dom: "DomainObj", disk: Any, overlay: str,
               serial: int) -> None:
    """Label the overlay, open it in QEMU, and make it the disk's top node."""
    rt = lifecycle.runtime_of(drv, dom)
    probe = etree.fromstring(etree.tostring(disk))
    probe.find("source").set("file", overlay)
    isolation.label_hotplug(drv, dom, rt.owner, probe)
    alias_el = disk.find("alias")
    alias = alias_el.get("name") if alias_el is not None else lifecycle.disk_alias(disk)
    top = next(((b.get("inserted") or {}).get("node-name")
                for b in rt.monitor.execute("query-block")
                if alias in (b.get("qdev") or "").split("/")), None)
    if top is None:
        raise error(VIR_ERR_OPERATION_FAILED, f"disk '{alias}' has no block node",
                    domain=VIR_FROM_QEMU)
    prefix = f"{alias}-snap{serial}"
    rt.monitor.execute("blockdev-add", {"driver": "file", "filename": overlay,
                                        "node-name": f"{prefix}-storage",
                                        "auto-read-only": True, "discard": "unmap"})
    try:
        rt.monitor.execute("blockdev-add", {"driver": "qcow2", "node-name": f"{prefix}-format",
                                            "file": f"{prefix}-storage", "backing": None})
        try:
            rt.monitor.execute("blockdev-snapshot", {"node": top,
                                                     "overlay": f"{prefix}-format"})
        except Exception:
            rt.monitor.execute("blockdev-del", {"node-name": f"{prefix}-format"})
            raise
    except Exception:
        rt.monitor.execute("blockdev-del", {"node-name": f"{prefix}-storage"})
        raise


def create(drv: "QemuDriverState", dom: "DomainObj", sdef: DomainSnapshotDef,
           flags: int) -> DomainSnapshotDef:
    """Make the overlays and switch the domain to them; returns the completed
    snapshot definition (the caller records its metadata)."""
    ddef = dom.current_def
    sdef.normalize(int(time.time()), domain=ddef, state="disk-snapshot",
                   parent=dom.snapshots.current, default_disk_mode="external")
    if sdef.memory_snapshot not in (None, "no"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "memory state cannot be saved with "
                    "disk-only snapshot", domain=VIR_FROM_QEMU)
    todo = plan_disks(sdef, ddef)
    reuse = bool(flags & n.SNAPSHOT_CREATE_REUSE_EXT)
    made: list[str] = []
    try:
        for disk, sdisk in todo:
            existed = os.path.exists(sdisk.source_file)
            make_overlay(lifecycle.disk_source(disk), disk_format(disk), sdisk.source_file,
                         reuse)
            if not existed:
                made.append(sdisk.source_file)
    except Exception:
        for path in made:
            os.unlink(path)
        raise
    serial = int(time.time() * 1000) % 1_000_000
    for disk, sdisk in todo:
        base, base_fmt = lifecycle.disk_source(disk), disk_format(disk)
        if dom.active:
            _live_swap(drv, dom, disk, sdisk.source_file, serial)
            record_chain(disk, sdisk.source_file, base, base_fmt, with_backing=True)
        target = disk.find("target").get("dev")
        if dom.persistent_def is not None:
            for pdisk in dom.persistent_def.node.iterfind("devices/disk"):
                if pdisk.find("target") is not None and \
                        pdisk.find("target").get("dev") == target:
                    record_chain(pdisk, sdisk.source_file, base, base_fmt, with_backing=False)
    if dom.active:
        lifecycle.save_status(drv, dom)
    if dom.persistent_def is not None:
        drv.save_config(dom)
    return sdef


def refuse_revert() -> Exception:
    return error(VIR_ERR_OPERATION_UNSUPPORTED, "revert to external snapshot not supported yet",
                 domain=VIR_FROM_QEMU)


def refuse_delete(count: int) -> Exception:
    return error(VIR_ERR_CONFIG_UNSUPPORTED,
                 f"deletion of {count} external disk snapshots not supported yet",
                 domain=VIR_FROM_QEMU)

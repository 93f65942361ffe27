"""Confining one domain's QEMU: the glue between the driver and ``pyvirt.security``.

Before a start :func:`confine_domain` labels the guest's files for the configured
identity (disks, their qcow2 backing chains, kernel/initrd, chardev files, and
search-only ACL entries on the directories on the way), creates its cgroup
with ``memtune``/``cputune``/``blkiotune``, and writes the label into the live
XML. What it returns goes into ``QemuProcess.preexec`` (join the cgroup, drop
to the uid/gid, ``PR_SET_NO_NEW_PRIVS``). :func:`release` undoes it by names,
so it also works for a QEMU found dead after a daemon restart.
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import uuid as uuidlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.cgroups import DomainCgroup, domain_group_name, threads, tuning_of
from pyvirt.errors import libvirtError
from pyvirt.security import confine, namespace
from pyvirt.security.dac import RO, RW, FileAction
from pyvirt.security.process import ChildConfinement
from pyvirt.security.seclabel import Owner, parse_owner, set_live_label

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState

log = logging.getLogger(__name__)

QCOW2_MAGIC = b"QFI\xfb"
_QCOW2_BACKING = struct.Struct(">4sIQI")      # magic, version, backing offset, size
MAX_CHAIN = 16


def key_of(uuid: bytes) -> str:
    """The labeller's key of a domain: its UUID as text."""
    return str(uuidlib.UUID(bytes=uuid))


def state_dir(drv: "QemuDriverState") -> str:
    return str(drv.dirs.lib / "security")


def domain_run_dir(drv: "QemuDriverState", name: str) -> Path:
    """``RUN/domain-NAME``: where QEMU makes the domain's own sockets (a guest
    agent channel without a path); the guest's while it runs."""
    return drv.dirs.run / f"domain-{name}"


def dev_staging_dir(drv: "QemuDriverState", name: str) -> Path:
    """``RUN/NAME.dev``: an empty directory the private /dev is built on (in
    QEMU's own mount namespace only) before it moves onto /dev."""
    return drv.dirs.run / f"{name}.dev"


def make_run_dir(drv: "QemuDriverState", name: str) -> Path:
    path = domain_run_dir(drv, name)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def remove_run_dir(drv: "QemuDriverState", name: str) -> None:
    shutil.rmtree(domain_run_dir(drv, name), ignore_errors=True)
    try:
        dev_staging_dir(drv, name).rmdir()
    except OSError:
        pass


def backing_chain(path: str) -> list[str]:
    """The backing files under a qcow2 image, nearest first (read from the headers,
    as root, before QEMU opens them as the guest)."""
    chain: list[str] = []
    current = path
    for _ in range(MAX_CHAIN):
        try:
            with open(current, "rb") as fh:
                magic, _version, offset, size = _QCOW2_BACKING.unpack(
                    fh.read(_QCOW2_BACKING.size))
                if magic != QCOW2_MAGIC or not offset or not 0 < size <= 4096:
                    break
                fh.seek(offset)
                name = fh.read(size).decode("utf-8", "replace")
        except (OSError, struct.error):
            break
        if "://" in name or name.startswith("json:"):
            break                   # a network backing: nothing on disk to label
        nxt = name if os.path.isabs(name) else os.path.join(os.path.dirname(current), name)
        nxt = os.path.normpath(nxt)
        if nxt in chain or nxt == path:
            break
        chain.append(nxt)
        current = nxt
    return chain


def backing_actions(ddef: Any) -> list[FileAction]:
    """Read-only actions for the backing chains of the domain's file disks."""
    actions = []
    for disk in ddef.node.iterfind("devices/disk"):
        source = disk.find("source")
        path = source.get("file") if source is not None else None
        if path and disk.get("type", "file") == "file":
            actions += [FileAction(p, RO, "backing") for p in backing_chain(path)]
    return actions


def touch_chardev_files(ddef: Any) -> None:
    """Create the ``file`` chardev outputs (and ``<log file>``) QEMU would create,
    so they are labelled for the guest instead of needing a writable directory."""
    devices = ddef.node.find("devices")
    if devices is None:
        return
    for tag in ("serial", "console", "parallel", "channel"):
        for dev in devices.findall(tag):
            source = dev.find("source")
            paths = []
            if dev.get("type") == "file" and source is not None and source.get("path"):
                paths.append(source.get("path"))
            log_el = dev.find("log")
            if log_el is not None and log_el.get("file"):
                paths.append(log_el.get("file"))
            for path in paths:
                if not os.path.exists(path) and os.path.isdir(os.path.dirname(path) or "."):
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def configured_owner(drv: "QemuDriverState") -> Owner | None:
    text = drv.config.owner_text
    return parse_owner(text) if text else None


def _groups_of(user: str | None, gid: int) -> tuple[int, ...]:
    if not user or user.startswith("+") or user.isdigit():
        return (gid,)
    try:
        return tuple(os.getgrouplist(user, gid))
    except (KeyError, OSError):
        return (gid,)


def confine_domain(drv: "QemuDriverState", dom: Any, live: Any, disk_def: Any
                   ) -> confine.DomainConfinement | None:
    """Label and cgroup ``dom`` before its QEMU starts; None for an unprivileged
    driver (QEMU then runs as we do). Undoes itself on failure."""
    owner = configured_owner(drv)
    if owner is None:
        return None
    touch_chardev_files(disk_def)
    run_dir = FileAction(str(make_run_dir(drv, dom.name)), RW, "run dir")
    conf = confine.prepare(
        disk_def, key=key_of(dom.uuid), name=dom.name, state_dir=state_dir(drv),
        owner=owner, extra_files=[run_dir, *backing_actions(disk_def)],
        allow_root=drv.config.allow_root,
        relabel=drv.config.dynamic_ownership,
        groups=_groups_of(drv.config.user, owner.gid),
        dev_staging=str(dev_staging_dir(drv, dom.name)) if drv.config.mount_namespace
        else None)
    if disk_def is not live and conf.owner is not None:
        set_live_label(live, conf.owner)
    return conf


def preexec_of(conf: confine.DomainConfinement | None) -> ChildConfinement:
    """What the forked child runs before exec: the confinement, or at least no new
    privileges."""
    return conf.preexec if conf is not None else ChildConfinement()


def _device_domain(dom: Any, dev: Any) -> tuple[Any, list[FileAction]]:
    """A ``<domain>`` holding the live XML's seclabels and a copy of ``dev`` (so
    the domain's ``relabel='no'`` holds for it), and its backing-chain actions."""
    from lxml import etree

    wrapper = etree.Element("domain")
    seclabels = dom.live_def.node.findall("seclabel") if dom.live_def is not None else []
    for el in seclabels:
        wrapper.append(etree.fromstring(etree.tostring(el)))
    devices = etree.SubElement(wrapper, "devices")
    node = getattr(dev, "node", dev)
    copy = etree.fromstring(etree.tostring(node))
    devices.append(copy)
    source = copy.find("source")
    extra = [FileAction(p, RO, "backing") for p in backing_chain(source.get("file"))] \
        if source is not None and source.get("file") else []
    return wrapper, extra


def label_hotplug(drv: "QemuDriverState", dom: Any, owner: Owner | None, dev: Any) -> None:
    """Label a device's files (a ``<disk>`` being attached) for the running guest."""
    if owner is None or not drv.config.dynamic_ownership:
        return
    wrapper, extra = _device_domain(dom, dev)
    confine.label_more(wrapper, key=key_of(dom.uuid), state_dir=state_dir(drv),
                       owner=owner, extra_files=extra)


def unlabel_unplugged(drv: "QemuDriverState", dom: Any, owner: Owner | None, dev: Any,
                      remaining: list[Any]) -> list[str]:
    """A disk left the running guest: its files (and backing chain) get their owner,
    mode and ACL back now, unless the definitions in ``remaining`` (the live one
    and the one QEMU was given, volumes resolved) still use them. Logs, never
    raises."""
    if owner is None or not drv.config.dynamic_ownership:
        return []
    wrapper, extra = _device_domain(dom, dev)
    remaining = [d for d in remaining if d is not None]
    try:
        return confine.unlabel_more(
            wrapper, remaining, key=key_of(dom.uuid), state_dir=state_dir(drv),
            extra_files=extra,
            remaining_extra=[a for d in remaining for a in backing_actions(d)])
    except (OSError, libvirtError) as err:
        log.warning("domain '%s': cannot give back an unplugged disk's files: %s",
                    dom.name, err)
        return []


def plug_block_node(pid: int | None, dev: Any) -> bool:
    """A block ``<disk>`` being attached to a QEMU with its own /dev: make its node
    there (owner and mode as on the host, after labelling). True when one was made."""
    path = namespace.block_source(dev)
    if not path or not pid or not namespace.has_own_namespace(pid):
        return False
    return bool(namespace.add_node(pid, path))


def unplug_block_node(pid: int | None, dev: Any) -> None:
    """The node of an unplugged block ``<disk>`` leaves QEMU's own /dev (logs errors)."""
    path = namespace.block_source(dev)
    if not path or not pid or not namespace.has_own_namespace(pid):
        return
    try:
        namespace.remove_node(pid, path)
    except libvirtError as err:
        log.warning("cannot remove '%s' from the /dev of process %d: %s", path, pid, err)


def domain_cgroup(dom: Any) -> DomainCgroup | None:
    """The running domain's cgroup, None when it has none (unprivileged driver)."""
    group = DomainCgroup(domain_group_name(dom.name, "qemu", key_of(dom.uuid)[:8]))
    return group if group.exists() else None


def place_threads(drv: "QemuDriverState", dom: Any, rt: Any, live: Any) -> None:
    """libvirt's per-thread groups: each vCPU thread (QMP ``query-cpus-fast``) into
    ``vcpuN/``, QEMU's other threads into ``emulator/``, with the cputune
    bandwidth and pins of ``live``. Again after a vCPU hot-plug."""
    group = domain_cgroup(dom)
    if group is None or rt.monitor is None or not rt.pid:
        return
    answer = rt.monitor.execute("query-cpus-fast")
    threads.place_threads(group, rt.pid, threads.vcpu_threads(answer, rt.pid),
                          tuning_of(live), live)


def release(drv: "QemuDriverState", name: str, uuid: bytes) -> None:
    """Give the files back, remove the cgroup and the domain's run directory
    (never raises)."""
    if drv.config.owner_text is not None:
        confine.release(key=key_of(uuid), name=name, state_dir=state_dir(drv))
    remove_run_dir(drv, name)


def owner_from_live(live: Any) -> Owner | None:
    """The identity a running domain's live XML records (after a reattach)."""
    from pyvirt.security.seclabel import security_label

    label, _ = security_label(live, True)
    try:
        return parse_owner(label) if label else None
    except Exception:  # noqa: BLE001 - a foreign label: treat as unconfined
        return None

"""DAC labelling: which of a domain's files its unprivileged identity gets, and how.

Planning is pure: :func:`plan_domain` turns a DomainDef (or its ``<domain>``
element) into :class:`FileAction` entries:

* ``rw`` — the guest's own writable files (disk images, serial/console log
  files and sockets, ``<log file>``): chowned to the guest's uid:gid and made
  ``0600`` so no other identity can open them;
* ``ro`` — files a guest only reads (readonly/cdrom disks, backing images,
  kernel, initrd, dtb): never chowned and never made writable; the guest's uid
  gets a read-only POSIX ACL entry instead, so a backing file shared by two
  guests stays root-owned and readable by both.

Files whose ``<source>`` says ``<seclabel model='dac' relabel='no'/>`` and every
file of a domain with ``relabel='no'`` or ``type='none'`` are left alone.

The I/O edge (:class:`DacLabeller`) applies a plan and restores it after stop.
It remembers each file's original owner and mode, and which domains use it, in
one state record (``dac.json``, written atomically under a lock): a file shared
by several domains is restored only when the last of them stops.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable

from pyvirt.errors import (
    VIR_ERR_OPERATION_INVALID, VIR_FROM_SECURITY, error,
)
from pyvirt.security.seclabel import DacSeclabel, Owner, dac_seclabel, source_relabel

RW, RO = "rw", "ro"
#: a directory on the way to a guest's file: the guest's uid may pass through
SEARCH = "x"


@dataclass(frozen=True)
class FileAction:
    """One file to label: its path, ``rw`` or ``ro``, and what it is for."""

    path: str
    access: str
    what: str


def _root(domain: Any) -> Any:
    return getattr(domain, "node", domain)


def _backing_files(disk: Any) -> Iterable[str]:
    for store in disk.iter("backingStore"):
        source = store.find("source")
        if source is not None and source.get("file") and source_relabel(source):
            yield source.get("file")


def _disk_actions(disk: Any) -> list[FileAction]:
    if disk.get("type", "file") not in ("file", "block"):
        return []
    source = disk.find("source")
    path = None if source is None else source.get("file") or source.get("dev")
    actions: list[FileAction] = []
    if path and source_relabel(source):
        readonly = disk.find("readonly") is not None or disk.get("device") == "cdrom"
        actions.append(FileAction(path, RO if readonly else RW, "disk"))
    actions += [FileAction(p, RO, "backing") for p in _backing_files(disk)]
    return actions


def _chardev_actions(dev: Any) -> list[FileAction]:
    actions = []
    source = dev.find("source")
    if dev.get("type") in ("file", "unix", "pipe") and source is not None and \
            source.get("path") and source_relabel(source):
        actions.append(FileAction(source.get("path"), RW, f"{dev.tag} {dev.get('type')}"))
    log = dev.find("log")
    if log is not None and log.get("file"):
        actions.append(FileAction(log.get("file"), RW, f"{dev.tag} log"))
    return actions


def plan_domain(domain: Any, extra: Iterable[FileAction] = ()) -> list[FileAction]:
    """The files of the domain to label, each once (``rw`` wins over ``ro``).

    ``extra`` adds files the driver makes itself (monitor socket, QEMU log)."""
    seclabel = dac_seclabel(domain)
    if not seclabel.confined or not seclabel.relabel:
        return []
    root = _root(domain)
    actions: list[FileAction] = []
    os_el = root.find("os")
    if os_el is not None:
        for tag in ("kernel", "initrd", "dtb"):
            el = os_el.find(tag)
            if el is not None and (el.text or "").strip():
                actions.append(FileAction(el.text.strip(), RO, tag))
    devices = root.find("devices")
    if devices is not None:
        for disk in devices.findall("disk"):
            actions += _disk_actions(disk)
        for tag in ("serial", "console", "parallel", "channel"):
            for dev in devices.findall(tag):
                actions += _chardev_actions(dev)
    actions += list(extra)
    return merge_actions(actions)


def merge_actions(actions: Iterable[FileAction]) -> list[FileAction]:
    """One action per (normalized) path, in first-seen order; rw beats ro."""
    merged: dict[str, FileAction] = {}
    for act in actions:
        path = os.path.normpath(act.path)
        seen = merged.get(path)
        if seen is None or (seen.access == RO and act.access == RW):
            merged[path] = FileAction(path, act.access, act.what)
    return list(merged.values())


def check_identity(seclabel: DacSeclabel, owner: Owner | None, *,
                   allow_root: bool = False) -> Owner | None:
    """The identity the guest runs as (the static label, else the driver's
    ``owner``); refuses root for a confined guest unless ``allow_root``."""
    label = seclabel.label or owner
    if not seclabel.confined:
        return None
    if label is None:
        raise error(VIR_ERR_OPERATION_INVALID, "no user configured for the DAC security "
                    "driver", domain=VIR_FROM_SECURITY)
    if label.uid == 0 and not allow_root:
        raise error(VIR_ERR_OPERATION_INVALID, "refusing to run a guest as root with the "
                    "DAC security driver", domain=VIR_FROM_SECURITY)
    return label

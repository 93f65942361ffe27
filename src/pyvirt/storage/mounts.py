"""Mount points and filesystems: ``/proc/mounts``, ``/proc/filesystems``, and the
argv of ``mount``, ``umount``, ``mkfs`` and ``blkid`` (pure builders)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PROC_MOUNTS = Path("/proc/mounts")
PROC_FILESYSTEMS = Path("/proc/filesystems")


@dataclass(frozen=True)
class MountEntry:
    source: str
    target: str
    fstype: str
    options: str


def _unescape(field: str) -> str:
    """``/proc/mounts`` writes space, tab, newline and backslash as ``\\ooo``."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            entries.append(MountEntry(_unescape(fields[0]), _unescape(fields[1]),
                                      fields[2], fields[3]))
    return entries


def read_mounts(path: Path = PROC_MOUNTS) -> list[MountEntry]:
    return parse_mounts(path.read_text())


def mount_at(target: str, entries: list[MountEntry] | None = None) -> MountEntry | None:
    """The last (visible) mount on ``target``, or None."""
    found = None
    for entry in entries if entries is not None else read_mounts():
        if entry.target == target:
            found = entry
    return found


def parse_filesystems(text: str) -> set[str]:
    """Filesystem names from ``/proc/filesystems`` (``nodev\\tnfs`` -> ``nfs``)."""
    return {line.split()[-1] for line in text.splitlines() if line.split()}


def kernel_filesystems(path: Path = PROC_FILESYSTEMS) -> set[str]:
    try:
        return parse_filesystems(path.read_text())
    except OSError:
        return set()


def mount_argv(source: str, target: str, fstype: str | None = None,
               options: list[str] | None = None) -> list[str]:
    """``mount [-t TYPE] [-o OPTS] SOURCE TARGET``; fstype None/'auto' lets mount probe."""
    argv = ["mount"]
    if fstype and fstype != "auto":
        argv += ["-t", fstype]
    if options:
        argv += ["-o", ",".join(options)]
    return argv + [source, target]


def umount_argv(target: str) -> list[str]:
    return ["umount", target]


#: mkfs programs libvirt uses per pool format (others: ``mkfs -t FORMAT``).
_MKFS_FORCE = {"ext2": "-F", "ext3": "-F", "ext4": "-F", "xfs": "-f", "btrfs": "-f",
               "vfat": None}


def mkfs_argv(device: str, fstype: str) -> list[str]:
    """``mkfs -t TYPE [force] DEVICE`` (ext4 on 'auto', as libvirt defaults)."""
    kind = "ext4" if fstype in (None, "", "auto") else fstype
    argv = ["mkfs", "-t", kind]
    force = _MKFS_FORCE.get(kind)
    if force:
        argv.append(force)
    return argv + [device]


def blkid_argv(device: str) -> list[str]:
    """``blkid -p -o value -s TYPE DEVICE``: the filesystem on a device, if any."""
    return ["blkid", "-p", "-o", "value", "-s", "TYPE", device]

"""What the crash test expects of the QEMU driver's guests: a model of each
guest (defined, running, its QEMU pid, its snapshots), the operations it may
do next, and the checks of the observed state and of the files on disk.
No daemon or client here: callers pass what they observed."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.conf.domain import DomainDef
from pyvirt.conf.snapshot import DomainSnapshotDef
from pyvirt.drivers.qemu import state_dir

OPS = ("define", "start", "snapshot-create", "snapshot-delete", "destroy", "undefine")
MAX_RUNNING = 2


@dataclass
class Guest:
    defined: bool = False
    running: bool = False
    pid: int = 0
    snapshots: set[str] = field(default_factory=set)

    def copy(self) -> "Guest":
        return Guest(self.defined, self.running, self.pid, set(self.snapshots))


@dataclass
class Observed:
    """One guest as the daemon and the disk show it after a restart."""

    defined: bool
    running: bool
    pid: int
    snapshots: set[str]


def possible_ops(guest: Guest, running_count: int) -> list[str]:
    if not guest.defined:
        return ["define"]
    ops = ["snapshot-create"]
    if guest.snapshots:
        ops.append("snapshot-delete")
    if guest.running:
        ops.append("destroy")
    else:
        ops.append("undefine")
        if running_count < MAX_RUNNING:
            ops += ["start", "start"]
    return ops


def pick(rng: random.Random, guests: dict[str, Guest]) -> tuple[str, str]:
    running = sum(g.running for g in guests.values())
    name = rng.choice(sorted(guests))
    return name, rng.choice(possible_ops(guests[name], running))


def after(op: str, guest: Guest, snapshot: str = "") -> Guest:
    """The model of ``guest`` once ``op`` has happened (pid filled in by the caller)."""
    new = guest.copy()
    if op == "define":
        new.defined = True
    elif op == "start":
        new.running = True
    elif op == "destroy":
        new.running, new.pid = False, 0
    elif op == "undefine":
        new = Guest()
    elif op == "snapshot-create":
        new.snapshots.add(snapshot)
    elif op == "snapshot-delete":
        new.snapshots.discard(snapshot)
    return new


def matches(model: Guest, seen: Observed, *, new_pid_ok: bool = False) -> bool:
    """``seen`` is ``model``: same definition, run state, QEMU (unless a start may
    have happened: ``new_pid_ok``) and snapshots."""
    if (model.defined, model.running, model.snapshots) != (seen.defined, seen.running,
                                                           seen.snapshots):
        return False
    return not model.running or new_pid_ok or model.pid == seen.pid


def temp_files(root: Path) -> list[Path]:
    """Files an atomic write leaves behind when interrupted (``.NAME.XXXX.new``)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(".new"))


def unparsable_files(dirs: state_dir.StateDirs) -> list[str]:
    """Every config, status and snapshot metadata file that does not parse."""
    bad = []
    for path in sorted(dirs.config.glob("*.xml")):
        try:
            DomainDef.from_xml(path.read_bytes())
        except Exception as err:  # noqa: BLE001 - reported, whatever it is
            bad.append(f"{path}: {err}")
    for path in sorted(dirs.run.glob("*.xml")):
        try:
            state_dir.parse_status(path.read_text(), path.stem)
        except Exception as err:  # noqa: BLE001
            bad.append(f"{path}: {err}")
    for path in sorted(dirs.snapshot.glob("*/*.xml")):
        try:
            DomainSnapshotDef.from_xml(path.read_bytes())
        except Exception as err:  # noqa: BLE001
            bad.append(f"{path}: {err}")
    return bad


def guest_of(pid: int) -> str:
    """The guest name a QEMU's ``-name guest=NAME,...`` gives ('' if unknown)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().decode(errors="replace").split("\0")
    except OSError:
        return ""
    for before, arg in zip(args, args[1:]):
        if before == "-name" and arg.startswith("guest="):
            return arg[len("guest="):].split(",", 1)[0]
    return ""


def qemu_pids_under(root: Path) -> set[int]:
    """Live QEMU processes whose command line names a path under ``root``."""
    found = set()
    marker = str(root).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{entry}/stat") as handle:
                zombie = handle.read().rsplit(")", 1)[-1].split()[0] == "Z"
        except OSError:
            continue
        if b"qemu-system" in cmdline.split(b"\0", 1)[0] and marker in cmdline and not zombie:
            found.add(int(entry))
    return found

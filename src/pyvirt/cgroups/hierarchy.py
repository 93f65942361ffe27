"""Where each cgroup controller lives on this host: v1, v2, or a hybrid of both.

:func:`parse_mounts` is pure (``/proc/self/mounts`` text in, :class:`Layout`
out); :func:`layout` reads the host. A controller is taken from its v1
hierarchy when one is mounted, else from the v2 hierarchy when that offers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

CONTROLLERS = ("cpu", "cpuacct", "memory", "blkio", "freezer", "devices", "pids")
#: every controller the layout records (cpuset only holds per-thread groups)
KNOWN_CONTROLLERS = (*CONTROLLERS, "cpuset")
#: v2 names of the v1 controllers (v2 folds cpuacct into cpu, blkio is io)
V2_NAMES = {"cpuacct": "cpu", "blkio": "io"}


@dataclass(frozen=True)
class Layout:
    """``v1[ctrl]`` mount points and the v2 root with the controllers it offers."""

    v1: dict[str, Path] = field(default_factory=dict)
    v2: Path | None = None
    v2_controllers: frozenset[str] = frozenset()

    def mount_of(self, controller: str) -> tuple[Path, int] | None:
        """(hierarchy root, version) holding ``controller``, or None."""
        if controller in self.v1:
            return self.v1[controller], 1
        name = V2_NAMES.get(controller, controller)
        if self.v2 is not None and (name in self.v2_controllers or name == "freezer"):
            return self.v2, 2
        return None


def parse_mounts(text: str, read_v2_controllers: Callable[[Path], str] | None = None) -> Layout:
    """The :class:`Layout` from mounts text; ``read_v2_controllers(root)`` returns
    the v2 root's ``cgroup.controllers``."""
    v1: dict[str, Path] = {}
    v2: Path | None = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        mount_point, fstype, options = parts[1], parts[2], parts[3].split(",")
        if fstype == "cgroup":
            for opt in options:
                if opt in KNOWN_CONTROLLERS and opt not in v1:
                    v1[opt] = Path(mount_point)
        elif fstype == "cgroup2" and v2 is None:
            v2 = Path(mount_point)
    offered: frozenset[str] = frozenset()
    if v2 is not None and read_v2_controllers is not None:
        offered = frozenset(read_v2_controllers(v2).split())
    return Layout(v1=v1, v2=v2, v2_controllers=offered)


def read_text(path: Path) -> str:
    """A control file's text, or '' when it cannot be read."""
    try:
        return path.read_text()
    except OSError:
        return ""


def layout() -> Layout:
    """This host's layout."""
    return parse_mounts(read_text(Path("/proc/self/mounts")),
                        lambda root: read_text(root / "cgroup.controllers"))


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """``/proc/PID/cgroup`` as {controller: path}; the v2 line is under ''."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(",") if parts[1] else [""]:
            out[ctrl] = parts[2]
    return out


def parse_flat_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (cpu.stat, memory.stat, memory.events) as a dict."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out

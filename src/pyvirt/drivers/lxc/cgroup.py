"""A container's cgroup: creation, limits, freezer and stats, on cgroup v1 or v2.

:func:`layout` reads ``/proc/self/mounts`` once to learn where each controller
lives: a v1 hierarchy per controller (``/sys/fs/cgroup/memory`` ...) or the one
v2 hierarchy (``cgroup.controllers`` lists what it offers). A hybrid host mixes
both; each controller is taken from v1 when it is mounted there, else from v2.

:class:`ContainerCgroup` is one container's group (``machine/NAME.pyvirt-lxc``
under every hierarchy it uses). It writes limits in each version's files::

    memory   v1 memory.limit_in_bytes          v2 memory.max
    cpu      v1 cpu.shares, cpu.cfs_*_us       v2 cpu.weight, cpu.max
    freezer  v1 freezer.state FROZEN/THAWED    v2 cgroup.freeze 1/0
    stats    v1 cpuacct.usage, memory.usage_*  v2 cpu.stat usage_usec, memory.current
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.errors import VIR_ERR_OPERATION_FAILED, VIR_ERR_SYSTEM_ERROR, VIR_FROM_CGROUP, error

CONTROLLERS = ("cpu", "cpuacct", "memory", "freezer", "devices", "pids")
#: libvirt's default device allow list for containers (c = char device).
ALLOWED_DEVICES = ("c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                   "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:229 rwm")


@dataclass(frozen=True)
class Layout:
    """Where each controller is mounted: ``v1[ctrl]`` or the ``v2`` root."""

    v1: dict[str, Path] = field(default_factory=dict)
    v2: Path | None = None
    v2_controllers: frozenset[str] = frozenset()

    def mount_of(self, controller: str) -> tuple[Path, int] | None:
        """(hierarchy root, version) holding ``controller``, or None."""
        if controller in self.v1:
            return self.v1[controller], 1
        v2_name = "cpu" if controller == "cpuacct" else controller
        if self.v2 is not None and (v2_name in self.v2_controllers or v2_name == "freezer"):
            return self.v2, 2
        return None


def parse_mounts(text: str, read_v2_controllers=None) -> Layout:
    """The cgroup :class:`Layout` from ``/proc/self/mounts`` text (pure but for
    ``read_v2_controllers(path) -> str``, which reads cgroup.controllers)."""
    v1: dict[str, Path] = {}
    v2: Path | None = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        mount_point, fstype, options = parts[1], parts[2], parts[3].split(",")
        if fstype == "cgroup":
            for opt in options:
                if opt in CONTROLLERS and opt not in v1:
                    v1[opt] = Path(mount_point)
        elif fstype == "cgroup2" and v2 is None:
            v2 = Path(mount_point)
    controllers: frozenset[str] = frozenset()
    if v2 is not None and read_v2_controllers is not None:
        controllers = frozenset(read_v2_controllers(v2).split())
    return Layout(v1=v1, v2=v2, v2_controllers=controllers)


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def layout() -> Layout:
    """This host's cgroup layout."""
    return parse_mounts(_read_text(Path("/proc/self/mounts")),
                        lambda root: _read_text(root / "cgroup.controllers"))


def group_name(name: str, key: str = "") -> str:
    """The group's path below each hierarchy root (``machine/NAME.pyvirt-lxc``)."""
    prefix = f"lxc-{key}-" if key else ""
    return f"machine/{prefix}{name}.pyvirt-lxc"


class ContainerCgroup:
    """One container's cgroup under every hierarchy it uses."""

    def __init__(self, relpath: str, host: Layout | None = None) -> None:
        self.relpath = relpath
        self.layout = host if host is not None else layout()

    # --- paths --------------------------------------------------------------------
    def path(self, controller: str) -> Path | None:
        found = self.layout.mount_of(controller)
        if found is None:
            return None
        return found[0] / self.relpath

    def version(self, controller: str) -> int:
        found = self.layout.mount_of(controller)
        return found[1] if found else 0

    def directories(self) -> list[Path]:
        """Each distinct group directory (v1 per controller, one for v2)."""
        seen: list[Path] = []
        for ctrl in CONTROLLERS:
            path = self.path(ctrl)
            if path is not None and path not in seen:
                seen.append(path)
        return seen

    # --- life -----------------------------------------------------------------------
    def create(self) -> None:
        for path in self.directories():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to create cgroup '{path}': "
                            f"{err.strerror}", domain=VIR_FROM_CGROUP) from err
        if self.layout.v2 is not None and self.version("memory") == 2:
            self._enable_v2_controllers()

    def _enable_v2_controllers(self) -> None:
        """v2: switch on memory/cpu/pids for the children of each ancestor."""
        root = self.layout.v2
        wanted = [c for c in ("memory", "cpu", "pids") if c in self.layout.v2_controllers]
        parts = Path(self.relpath).parts
        for depth in range(len(parts)):
            control = root.joinpath(*parts[:depth]) / "cgroup.subtree_control"
            for ctrl in wanted:
                try:
                    control.write_text(f"+{ctrl}")
                except OSError:
                    pass

    def add_task(self, pid: int) -> None:
        for path in self.directories():
            try:
                (path / "cgroup.procs").write_text(str(pid))
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to add task {pid} to cgroup "
                            f"'{path}': {err.strerror}", domain=VIR_FROM_CGROUP) from err

    def release_task(self, pid: int, own_cgroups: str | None = None) -> None:
        """Move ``pid`` back into this process's own groups (the controller, once
        init runs inside: its memory and CPU must not count against the container)."""
        text = own_cgroups if own_cgroups is not None else _read_text(Path("/proc/self/cgroup"))
        own = parse_proc_cgroup(text)
        for ctrl in CONTROLLERS:
            found = self.layout.mount_of(ctrl)
            if found is None:
                continue
            root, version = found
            rel = own.get("" if version == 2 else ctrl)
            if rel is None:
                continue
            target = root / rel.lstrip("/") / "cgroup.procs"
            try:
                target.write_text(str(pid))
            except OSError:
                pass

    def pids(self) -> list[int]:
        for ctrl in ("pids", "memory", "cpu", "freezer"):
            path = self.path(ctrl)
            if path is not None and path.exists():
                text = _read_text(path / "cgroup.procs")
                return [int(p) for p in text.split()]
        return []

    def remove(self, timeout: float = 2.0) -> None:
        """Remove every directory (retrying while the last tasks leave)."""
        deadline = time.monotonic() + timeout
        for path in self.directories():
            while path.exists():
                try:
                    path.rmdir()
                except FileNotFoundError:
                    break
                except OSError as err:
                    if err.errno != errno.EBUSY or time.monotonic() > deadline:
                        break
                    time.sleep(0.02)

    def exists(self) -> bool:
        return any(p.exists() for p in self.directories())

    # --- limits ---------------------------------------------------------------------
    def _write(self, controller: str, v1_file: str, v2_file: str, v1_value: str,
               v2_value: str) -> None:
        path = self.path(controller)
        if path is None:
            raise error(VIR_ERR_OPERATION_FAILED, f"The '{controller}' cgroup controller is "
                        "not mounted", domain=VIR_FROM_CGROUP)
        target = path / (v1_file if self.version(controller) == 1 else v2_file)
        value = v1_value if self.version(controller) == 1 else v2_value
        try:
            target.write_text(value)
        except OSError as err:
            raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to write to '{target}': "
                        f"{err.strerror}", domain=VIR_FROM_CGROUP) from err

    def set_memory_limit(self, kib: int | None) -> None:
        """Hard limit in KiB (None: unlimited)."""
        if kib is None:
            self._write("memory", "memory.limit_in_bytes", "memory.max", "-1", "max")
            return
        size = str(kib * 1024)
        self._write("memory", "memory.limit_in_bytes", "memory.max", size, size)
        if self.version("memory") == 1:
            swap = self.path("memory") / "memory.memsw.limit_in_bytes"
            if swap.exists():
                try:
                    swap.write_text(size)
                except OSError:
                    pass
        else:
            swap = self.path("memory") / "memory.swap.max"
            if swap.exists():
                try:
                    swap.write_text("0")
                except OSError:
                    pass

    def set_cpu_shares(self, shares: int) -> None:
        """libvirt's <shares> (v1 cpu.shares; v2 weight = 1 + (shares-2)*9999/262142)."""
        weight = max(1, min(10000, 1 + ((shares - 2) * 9999) // 262142))
        self._write("cpu", "cpu.shares", "cpu.weight", str(shares), str(weight))

    def set_cpu_quota(self, period_us: int | None, quota_us: int | None) -> None:
        if self.version("cpu") == 1:
            if period_us:
                self._write("cpu", "cpu.cfs_period_us", "", str(period_us), "")
            if quota_us is not None:
                self._write("cpu", "cpu.cfs_quota_us", "", str(quota_us), "")
            return
        quota = "max" if quota_us is None or quota_us < 0 else str(quota_us)
        self._write("cpu", "", "cpu.max", "", f"{quota} {period_us or 100000}")

    def cpu_shares(self) -> int:
        """v1 cpu.shares; v2 cpu.weight turned back into shares."""
        path = self.path("cpu")
        if path is None:
            return 0
        if self.version("cpu") == 1:
            text = _read_text(path / "cpu.shares").strip()
            return int(text) if text.isdigit() else 0
        text = _read_text(path / "cpu.weight").strip()
        return 2 + ((int(text) - 1) * 262142) // 9999 if text.isdigit() else 0

    def cpu_bandwidth(self) -> tuple[int, int]:
        """(period us, quota us; -1 = unlimited)."""
        path = self.path("cpu")
        if path is None:
            return 0, -1
        if self.version("cpu") == 1:
            period = _read_text(path / "cpu.cfs_period_us").strip()
            quota = _read_text(path / "cpu.cfs_quota_us").strip()
            return (int(period) if period.isdigit() else 0,
                    int(quota) if quota.lstrip("-").isdigit() else -1)
        parts = _read_text(path / "cpu.max").split()
        if len(parts) != 2:
            return 100000, -1
        return int(parts[1]), -1 if parts[0] == "max" else int(parts[0])

    def allow_default_devices(self) -> None:
        """v1 devices controller: deny everything, then libvirt's allow list."""
        path = self.path("devices")
        if path is None or self.version("devices") != 1:
            return
        try:
            (path / "devices.deny").write_text("a")
            for rule in ALLOWED_DEVICES:
                (path / "devices.allow").write_text(rule)
        except OSError as err:
            raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to set device rules in '{path}': "
                        f"{err.strerror}", domain=VIR_FROM_CGROUP) from err

    # --- freezer --------------------------------------------------------------------
    def freeze(self, frozen: bool, timeout: float = 5.0) -> None:
        """Freeze or thaw every task and wait until the kernel says it is done."""
        path = self.path("freezer")
        if path is None:
            raise error(VIR_ERR_OPERATION_FAILED, "Unable to freeze domain: no freezer "
                        "cgroup controller", domain=VIR_FROM_CGROUP)
        if self.version("freezer") == 1:
            self._write("freezer", "freezer.state", "", "FROZEN" if frozen else "THAWED", "")
            want = "FROZEN" if frozen else "THAWED"
            deadline = time.monotonic() + timeout
            while _read_text(path / "freezer.state").strip() != want:
                if time.monotonic() > deadline:
                    raise error(VIR_ERR_OPERATION_FAILED, "Unable to "
                                f"{'freeze' if frozen else 'thaw'} domain",
                                domain=VIR_FROM_CGROUP)
                if frozen:          # v1 may stay FREEZING: ask again
                    self._write("freezer", "freezer.state", "", "FROZEN", "")
                time.sleep(0.01)
            return
        self._write("freezer", "", "cgroup.freeze", "", "1" if frozen else "0")
        want_line = f"frozen {1 if frozen else 0}"
        deadline = time.monotonic() + timeout
        while want_line not in _read_text(path / "cgroup.events"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)

    def frozen(self) -> bool:
        path = self.path("freezer")
        if path is None:
            return False
        if self.version("freezer") == 1:
            return _read_text(path / "freezer.state").strip() == "FROZEN"
        return _read_text(path / "cgroup.freeze").strip() == "1"

    # --- stats ----------------------------------------------------------------------
    def cpu_time_ns(self) -> int:
        path = self.path("cpuacct")
        if path is None:
            return 0
        if self.version("cpuacct") == 1:
            text = _read_text(path / "cpuacct.usage").strip()
            return int(text) if text.isdigit() else 0
        return parse_flat_keyed(_read_text(path / "cpu.stat")).get("usage_usec", 0) * 1000

    def cpu_user_system_ns(self) -> tuple[int, int]:
        """(user, system) CPU time in ns."""
        path = self.path("cpuacct")
        if path is None:
            return 0, 0
        if self.version("cpuacct") == 1:
            stat = parse_flat_keyed(_read_text(path / "cpuacct.stat"))
            tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
            return stat.get("user", 0) * tick, stat.get("system", 0) * tick
        stat = parse_flat_keyed(_read_text(path / "cpu.stat"))
        return stat.get("user_usec", 0) * 1000, stat.get("system_usec", 0) * 1000

    def memory_usage_kib(self) -> int:
        path = self.path("memory")
        if path is None:
            return 0
        name = "memory.usage_in_bytes" if self.version("memory") == 1 else "memory.current"
        text = _read_text(path / name).strip()
        return int(text) // 1024 if text.isdigit() else 0

    def memory_limit_kib(self) -> int | None:
        path = self.path("memory")
        if path is None:
            return None
        name = "memory.limit_in_bytes" if self.version("memory") == 1 else "memory.max"
        text = _read_text(path / name).strip()
        return int(text) // 1024 if text.isdigit() else None

    def oom_kills(self) -> int:
        """How many processes the memory limit has killed."""
        path = self.path("memory")
        if path is None:
            return 0
        if self.version("memory") == 1:
            return parse_flat_keyed(_read_text(path / "memory.oom_control")).get("oom_kill", 0)
        return parse_flat_keyed(_read_text(path / "memory.events")).get("oom_kill", 0)


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/PID/cgroup as {controller: path}; the v2 line is under ''."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(",") if parts[1] else [""]:
            out[ctrl] = parts[2]
    return out


def parse_flat_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (cpu.stat, memory.events, cpuacct.stat) as a dict."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out

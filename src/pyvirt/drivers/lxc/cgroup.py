"""A container's cgroup: creation, limits, freezer and stats, on cgroup v1 or v2.

The host's layout (:func:`layout`, shared with :mod:`pyvirt.cgroups.hierarchy`)
says, from ``/proc/self/mounts`` read once, where each controller lives: a v1
hierarchy per controller (``/sys/fs/cgroup/memory`` ...) or the one v2 hierarchy
(``cgroup.controllers`` lists what it offers). A hybrid host mixes both; each
controller is taken from v1 when it is mounted there, else from v2.

:class:`ContainerCgroup` is one container's group (``machine/NAME.pyvirt-lxc``
under every hierarchy it uses). It writes limits in each version's files::

    memory   v1 memory.limit_in_bytes          v2 memory.max
    cpu      v1 cpu.shares, cpu.cfs_*_us       v2 cpu.weight, cpu.max
    freezer  v1 freezer.state FROZEN/THAWED    v2 cgroup.freeze 1/0
    stats    v1 cpuacct.usage, memory.usage_*  v2 cpu.stat usage_usec, memory.current
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pyvirt.cgroups.group import DomainCgroup
from pyvirt.cgroups.hierarchy import (  # re-exported: tests and lxc.state import them here
    Layout, layout, parse_flat_keyed, parse_mounts, parse_proc_cgroup,
)
from pyvirt.cgroups.hierarchy import read_text as _read_text
from pyvirt.errors import VIR_ERR_OPERATION_FAILED, VIR_ERR_SYSTEM_ERROR, VIR_FROM_CGROUP, error

__all__ = ["ALLOWED_DEVICES", "CONTROLLERS", "ContainerCgroup", "Layout", "group_name",
           "layout", "parse_flat_keyed", "parse_mounts", "parse_proc_cgroup"]

#: the controllers a container uses (no blkio)
CONTROLLERS = ("cpu", "cpuacct", "memory", "freezer", "devices", "pids")
#: libvirt's default device allow list for containers (c = char device).
ALLOWED_DEVICES = ("c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                   "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:229 rwm")


def group_name(name: str, key: str = "") -> str:
    """The group's path below each hierarchy root (``machine/NAME.pyvirt-lxc``)."""
    prefix = f"lxc-{key}-" if key else ""
    return f"machine/{prefix}{name}.pyvirt-lxc"


class ContainerCgroup(DomainCgroup):
    """One container's cgroup under every hierarchy it uses.

    Paths, creation, tasks and removal come from :class:`DomainCgroup`; this
    adds what containers need: the freezer, the device allow list, moving the
    controller back out, and LXC's own way of writing and reading limits.
    """

    controllers = CONTROLLERS
    v2_enabled = ("memory", "cpu", "pids")
    pid_controllers = ("pids", "memory", "cpu", "freezer")
    remove_raises = False

    def _uses_v2(self) -> bool:
        return self.layout.v2 is not None and self.version("memory") == 2

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

    # --- limits ---------------------------------------------------------------------
    def _write_versioned(self, controller: str, v1_file: str, v2_file: str, v1_value: str,
                         v2_value: str) -> None:
        """Write ``v1_value`` to ``v1_file`` or ``v2_value`` to ``v2_file``."""
        if self.version(controller) == 1:
            self._write(controller, v1_file, v1_value)
        else:
            self._write(controller, v2_file, v2_value)

    def set_memory_limit(self, kib: int | None) -> None:
        """Hard limit in KiB (None: unlimited)."""
        if kib is None:
            self._write_versioned("memory", "memory.limit_in_bytes", "memory.max", "-1", "max")
            return
        size = str(kib * 1024)
        self._write_versioned("memory", "memory.limit_in_bytes", "memory.max", size, size)
        if self.version("memory") == 1:
            swap, value = self.path("memory") / "memory.memsw.limit_in_bytes", size
        else:
            swap, value = self.path("memory") / "memory.swap.max", "0"
        if swap.exists():
            try:
                swap.write_text(value)
            except OSError:
                pass

    def set_cpu_quota(self, period_us: int | None, quota_us: int | None) -> None:
        if self.version("cpu") == 1:
            if period_us:
                self._write("cpu", "cpu.cfs_period_us", str(period_us))
            if quota_us is not None:
                self._write("cpu", "cpu.cfs_quota_us", str(quota_us))
            return
        quota = "max" if quota_us is None or quota_us < 0 else str(quota_us)
        self._write("cpu", "cpu.max", f"{quota} {period_us or 100000}")

    def cpu_shares(self) -> int:
        """v1 cpu.shares; v2 cpu.weight turned back into shares (0: unknown)."""
        return super().cpu_shares() or 0

    def cpu_bandwidth(self) -> tuple[int, int]:
        """(period us, quota us; -1 = unlimited); v2 without cpu.max: (100000, -1)."""
        if self.version("cpu") == 2 and len(self._read("cpu", "cpu.max").split()) != 2:
            return 100000, -1
        return super().cpu_bandwidth()

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
            self._write("freezer", "freezer.state", "FROZEN" if frozen else "THAWED")
            want = "FROZEN" if frozen else "THAWED"
            deadline = time.monotonic() + timeout
            while _read_text(path / "freezer.state").strip() != want:
                if time.monotonic() > deadline:
                    raise error(VIR_ERR_OPERATION_FAILED, "Unable to "
                                f"{'freeze' if frozen else 'thaw'} domain",
                                domain=VIR_FROM_CGROUP)
                if frozen:          # v1 may stay FREEZING: ask again
                    self._write("freezer", "freezer.state", "FROZEN")
                time.sleep(0.01)
            return
        self._write("freezer", "cgroup.freeze", "1" if frozen else "0")
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

    def memory_limit_kib(self) -> int | None:
        path = self.path("memory")
        if path is None:
            return None
        name = "memory.limit_in_bytes" if self.version("memory") == 1 else "memory.max"
        text = _read_text(path / name).strip()
        return int(text) // 1024 if text.isdigit() else None


"""One domain's cgroup, under every hierarchy it uses (v1 per controller, or v2).

Files written per version::

    memory hard     v1 memory.limit_in_bytes            v2 memory.max
    memory soft     v1 memory.soft_limit_in_bytes       v2 memory.high
    swap hard       v1 memory.memsw.limit_in_bytes      v2 memory.swap.max (swap part)
    cpu shares      v1 cpu.shares                       v2 cpu.weight
    cpu quota       v1 cpu.cfs_period_us/cfs_quota_us   v2 cpu.max "QUOTA PERIOD"
    blkio weight    v1 blkio.weight (or blkio.bfq.weight) v2 io.weight / io.bfq.weight
"""

from __future__ import annotations

import errno
import time
from pathlib import Path

from pyvirt.cgroups.hierarchy import (
    CONTROLLERS, Layout, layout, parse_flat_keyed, read_text,
)
from pyvirt.cgroups.tuning import Tuning
from pyvirt.errors import (
    VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR,
    VIR_FROM_CGROUP, error,
)

_SAFE = str.maketrans({"/": "_", "\0": "_"})


def domain_group_name(name: str, driver: str = "qemu", key: str = "") -> str:
    """``machine/NAME.pyvirt-qemu`` (a key such as the domain's id keeps two
    domains of one name apart); the name cannot climb out of ``machine/``."""
    safe = name.translate(_SAFE)
    if safe in ("", ".", ".."):
        raise error(VIR_ERR_OPERATION_INVALID, f"invalid domain name '{name}' for a cgroup",
                    domain=VIR_FROM_CGROUP)
    prefix = f"{driver}-{key}-" if key else ""
    return f"machine/{prefix}{safe}.pyvirt-{driver}"


def shares_to_weight(shares: int) -> int:
    """libvirt's v1 shares -> v2 weight mapping (2..262144 -> 1..10000)."""
    return max(1, min(10000, 1 + ((shares - 2) * 9999) // 262142))


def weight_to_shares(weight: int) -> int:
    return 2 + ((weight - 1) * 262142) // 9999


class DomainCgroup:
    """A domain's group: ``relpath`` below each hierarchy root.

    Subclasses (LXC's container group) narrow what the class attributes name.
    """

    #: the controllers whose hierarchies hold a directory of this group
    controllers: tuple[str, ...] = CONTROLLERS
    #: the v2 controllers switched on for the children of each ancestor
    v2_enabled: tuple[str, ...] = ("memory", "cpu", "io", "pids")
    #: where :meth:`pids` looks for cgroup.procs, first found wins
    pid_controllers: tuple[str, ...] = ("pids", "memory", "cpu")
    #: whether :meth:`remove` raises when a directory stays (else it moves on)
    remove_raises: bool = True

    def __init__(self, relpath: str, host: Layout | None = None) -> None:
        self.relpath = relpath
        self.layout = host if host is not None else layout()

    # --- paths ------------------------------------------------------------------
    def path(self, controller: str) -> Path | None:
        found = self.layout.mount_of(controller)
        return None if found is None else found[0] / self.relpath

    def version(self, controller: str) -> int:
        found = self.layout.mount_of(controller)
        return found[1] if found else 0

    def directories(self) -> list[Path]:
        seen: list[Path] = []
        for ctrl in self.controllers:
            path = self.path(ctrl)
            if path is not None and path not in seen:
                seen.append(path)
        return seen

    # --- life ---------------------------------------------------------------------
    def create(self) -> None:
        for path in self.directories():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to create cgroup '{path}': "
                            f"{err.strerror}", domain=VIR_FROM_CGROUP) from err
        if self._uses_v2():
            self._enable_v2_controllers()

    def _uses_v2(self) -> bool:
        """Whether :meth:`create` switches on v2 controllers for the group."""
        return self.layout.v2 is not None

    def _enable_v2_controllers(self) -> None:
        """v2: turn on the controllers we use for the children of each ancestor."""
        wanted = [c for c in self.v2_enabled if c in self.layout.v2_controllers]
        parts = Path(self.relpath).parts
        for depth in range(len(parts)):
            control = self.layout.v2.joinpath(*parts[:depth]) / "cgroup.subtree_control"
            for ctrl in wanted:
                try:
                    control.write_text(f"+{ctrl}")
                except OSError:
                    pass

    def exists(self) -> bool:
        return any(p.exists() for p in self.directories())

    def add_task(self, pid: int) -> None:
        """Place ``pid`` (and the threads it makes afterwards) in the group."""
        for path in self.directories():
            try:
                (path / "cgroup.procs").write_text(str(pid))
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to add task {pid} to cgroup "
                            f"'{path}': {err.strerror}", domain=VIR_FROM_CGROUP) from err

    def pids(self) -> list[int]:
        for ctrl in self.pid_controllers:
            path = self.path(ctrl)
            if path is not None and path.exists():
                return [int(p) for p in read_text(path / "cgroup.procs").split()]
        return []

    #: hierarchies that may hold child groups of this one (per-thread groups:
    #: :mod:`pyvirt.cgroups.threads`), removed with it
    child_controllers: tuple[str, ...] = ("cpu", "cpuacct", "cpuset")

    def remove(self, timeout: float = 2.0) -> None:
        """Remove every directory, child groups first, retrying while the last
        tasks leave (EBUSY)."""
        deadline = time.monotonic() + timeout
        paths = self.directories()
        for ctrl in self.child_controllers:
            path = self.path(ctrl)
            if path is not None and path not in paths:
                paths.append(path)
        for path in paths:
            if path.is_dir():
                children = sorted((p for p in path.rglob("*") if p.is_dir()),
                                  key=lambda p: len(p.parts), reverse=True)
                for child in children:
                    self._rmdir(child, deadline)
            self._rmdir(path, deadline)

    def _rmdir(self, path: Path, deadline: float) -> None:
        while path.exists():
            try:
                path.rmdir()
            except FileNotFoundError:
                break
            except OSError as err:
                if err.errno != errno.EBUSY or time.monotonic() > deadline:
                    if not self.remove_raises:
                        break
                    raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to remove cgroup "
                                f"'{path}': {err.strerror}",
                                domain=VIR_FROM_CGROUP) from err
                time.sleep(0.02)

    # --- writing ------------------------------------------------------------------
    def _write(self, controller: str, name: str, value: str) -> None:
        path = self.path(controller)
        if path is None:
            raise error(VIR_ERR_OPERATION_FAILED, f"The '{controller}' cgroup controller is "
                        "not mounted", domain=VIR_FROM_CGROUP)
        target = path / name
        try:
            target.write_text(value)
        except OSError as err:
            raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to write to '{target}': "
                        f"{err.strerror}", domain=VIR_FROM_CGROUP) from err

    def _read(self, controller: str, name: str) -> str:
        path = self.path(controller)
        return "" if path is None else read_text(path / name).strip()

    def set_memory_hard_limit(self, kib: int | None) -> None:
        if self.version("memory") == 1:
            self._write("memory", "memory.limit_in_bytes",
                        "-1" if kib is None else str(kib * 1024))
        else:
            self._write("memory", "memory.max", "max" if kib is None else str(kib * 1024))

    def set_memory_soft_limit(self, kib: int | None) -> None:
        if self.version("memory") == 1:
            self._write("memory", "memory.soft_limit_in_bytes",
                        "-1" if kib is None else str(kib * 1024))
        else:
            self._write("memory", "memory.high", "max" if kib is None else str(kib * 1024))

    def set_swap_hard_limit(self, kib: int | None, hard_kib: int | None) -> None:
        """libvirt's swap_hard_limit is memory+swap; v2's swap.max is swap alone."""
        path = self.path("memory")
        if path is None:
            return
        if self.version("memory") == 1:
            if (path / "memory.memsw.limit_in_bytes").exists():
                self._write("memory", "memory.memsw.limit_in_bytes",
                            "-1" if kib is None else str(kib * 1024))
        elif (path / "memory.swap.max").exists():
            swap = "max" if kib is None else str(max(0, kib - (hard_kib or 0)) * 1024)
            self._write("memory", "memory.swap.max", swap)

    def set_cpu_shares(self, shares: int) -> None:
        if self.version("cpu") == 1:
            self._write("cpu", "cpu.shares", str(shares))
        else:
            self._write("cpu", "cpu.weight", str(shares_to_weight(shares)))

    def set_cpu_bandwidth(self, period_us: int | None, quota_us: int | None) -> None:
        """Period and quota in µs (quota None or < 0: unlimited)."""
        unlimited = quota_us is None or quota_us < 0
        if self.version("cpu") == 1:
            if period_us:
                self._write("cpu", "cpu.cfs_period_us", str(period_us))
            self._write("cpu", "cpu.cfs_quota_us", "-1" if unlimited else str(quota_us))
            return
        period = period_us or self.cpu_bandwidth()[0] or 100000
        self._write("cpu", "cpu.max", f"{'max' if unlimited else quota_us} {period}")

    def set_blkio_weight(self, weight: int) -> None:
        path = self.path("blkio")
        if path is None:
            raise error(VIR_ERR_OPERATION_FAILED, "The 'blkio' cgroup controller is not "
                        "mounted", domain=VIR_FROM_CGROUP)
        names = (("blkio.weight", "blkio.bfq.weight") if self.version("blkio") == 1
                 else ("io.weight", "io.bfq.weight"))
        for name in names:
            if (path / name).exists():
                value = str(weight) if name.startswith("blkio") or "bfq" in name \
                    else f"default {weight}"
                self._write("blkio", name, value)
                return
        raise error(VIR_ERR_OPERATION_FAILED, "blkio weight is not supported by this host "
                    "(no I/O scheduler with weights)", domain=VIR_FROM_CGROUP)

    def apply(self, tuning: Tuning) -> None:
        """Write every limit the :class:`Tuning` sets (the rest stays as it is)."""
        if tuning.memory_hard_kib is not None:
            self.set_memory_hard_limit(tuning.memory_hard_kib)
        if tuning.memory_soft_kib is not None:
            self.set_memory_soft_limit(tuning.memory_soft_kib)
        if tuning.swap_hard_kib is not None:
            self.set_swap_hard_limit(tuning.swap_hard_kib, tuning.memory_hard_kib)
        if tuning.cpu_shares is not None:
            self.set_cpu_shares(tuning.cpu_shares)
        if tuning.cpu_period_us is not None or tuning.cpu_quota_us is not None:
            self.set_cpu_bandwidth(tuning.cpu_period_us, tuning.cpu_quota_us)
        if tuning.blkio_weight is not None:
            self.set_blkio_weight(tuning.blkio_weight)

    # --- reading back -------------------------------------------------------------
    def _kib(self, text: str) -> int | None:
        if not text.isdigit():
            return None                       # "max", "-1", missing
        kib = int(text) // 1024
        return None if kib >= (1 << 52) else kib

    def memory_hard_limit_kib(self) -> int | None:
        return self._kib(self._read("memory", "memory.limit_in_bytes"
                                    if self.version("memory") == 1 else "memory.max"))

    def memory_soft_limit_kib(self) -> int | None:
        return self._kib(self._read("memory", "memory.soft_limit_in_bytes"
                                    if self.version("memory") == 1 else "memory.high"))

    def cpu_shares(self) -> int | None:
        if self.version("cpu") == 1:
            text = self._read("cpu", "cpu.shares")
            return int(text) if text.isdigit() else None
        text = self._read("cpu", "cpu.weight")
        return weight_to_shares(int(text)) if text.isdigit() else None

    def cpu_bandwidth(self) -> tuple[int, int]:
        """(period µs, quota µs; -1 = unlimited)."""
        if self.version("cpu") == 1:
            period = self._read("cpu", "cpu.cfs_period_us")
            quota = self._read("cpu", "cpu.cfs_quota_us")
            return (int(period) if period.isdigit() else 0,
                    int(quota) if quota.lstrip("-").isdigit() else -1)
        parts = self._read("cpu", "cpu.max").split()
        if len(parts) != 2:
            return 0, -1
        return int(parts[1]), -1 if parts[0] == "max" else int(parts[0])

    def blkio_weight(self) -> int | None:
        for name in ("blkio.weight", "blkio.bfq.weight", "io.bfq.weight", "io.weight"):
            text = self._read("blkio", name).split("\n")[0].split()[-1:] or [""]
            if text[0].isdigit():
                return int(text[0])
        return None

    def memory_usage_kib(self) -> int:
        text = self._read("memory", "memory.usage_in_bytes"
                          if self.version("memory") == 1 else "memory.current")
        return int(text) // 1024 if text.isdigit() else 0

    def cpu_time_ns(self) -> int:
        if self.version("cpuacct") == 1:
            text = self._read("cpuacct", "cpuacct.usage")
            return int(text) if text.isdigit() else 0
        return parse_flat_keyed(self._read("cpu", "cpu.stat")).get("usage_usec", 0) * 1000

    def oom_kills(self) -> int:
        """How many processes the memory limit has killed in this group."""
        name = "memory.oom_control" if self.version("memory") == 1 else "memory.events"
        return parse_flat_keyed(self._read("memory", name)).get("oom_kill", 0)

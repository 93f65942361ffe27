"""Per-thread child groups of a domain's cgroup: ``vcpuN/`` and ``emulator/`` (libvirt's).

Under the domain group (``machine/NAME.pyvirt-qemu``) in the ``cpu``,
``cpuacct`` and ``cpuset`` hierarchies::

    vcpu0/ vcpu1/ ...   one vCPU thread each (QMP query-cpus-fast "thread-id")
                        cputune period/quota, <vcpupin cpuset=…>
    emulator/           every other QEMU thread
                        cputune emulator_period/emulator_quota, <emulatorpin>

The domain group itself keeps ``global_period``/``global_quota`` (and the
shares, memory and blkio limits). Threads move one by one (v1 ``tasks``, v2
``cgroup.threads`` in a threaded subtree). On v1 a new cpuset group starts with
no CPUs, so every level gets its parent's ``cpuset.cpus``/``cpuset.mems`` first.
Pins are also applied with ``sched_setaffinity`` (they hold without cpuset).

:func:`parse_cpuset` / :func:`format_cpuset` / :func:`pins_of` are pure.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Iterable

from pyvirt.cgroups.group import DomainCgroup
from pyvirt.cgroups.hierarchy import read_text
from pyvirt.cgroups.tuning import Tuning
from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_ERR_SYSTEM_ERROR, VIR_FROM_CGROUP, \
    VIR_FROM_DOMAIN, error

THREAD_CONTROLLERS = ("cpu", "cpuacct", "cpuset")
EMULATOR = "emulator"
VCPU_PREFIX = "vcpu"
DEFAULT_PERIOD_US = 100000


# --- pure ---------------------------------------------------------------------------
def parse_cpuset(text: str, max_cpu: int = 4096) -> list[int]:
    """libvirt's cpuset syntax (``0-3,^2,5``) as the sorted CPU numbers."""
    wanted: set[int] = set()
    excluded: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        target = wanted
        if part.startswith("^"):
            target, part = excluded, part[1:]
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high) if high else int(low)
        except ValueError as err:
            raise error(VIR_ERR_INVALID_ARG, f"Failed to parse bitmap '{text}'",
                        domain=VIR_FROM_DOMAIN) from err
        if first < 0 or last < first or last >= max_cpu:
            raise error(VIR_ERR_INVALID_ARG, f"Failed to parse bitmap '{text}'",
                        domain=VIR_FROM_DOMAIN)
        target.update(range(first, last + 1))
    return sorted(wanted - excluded)


def format_cpuset(cpus: Iterable[int]) -> str:
    """CPU numbers as the kernel's list (``0-2,5``)."""
    runs: list[list[int]] = []
    for cpu in sorted(set(cpus)):
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def pins_of(domain: Any) -> tuple[dict[int, str], str | None]:
    """(``{vcpu: cpuset}`` of ``<vcpupin>``, ``<emulatorpin>``'s cpuset) of a definition."""
    root = getattr(domain, "node", domain)
    pins = {}
    for pin in root.iterfind("cputune/vcpupin"):
        if (pin.get("vcpu") or "").isdigit() and pin.get("cpuset"):
            pins[int(pin.get("vcpu"))] = pin.get("cpuset")
    emulator = root.find("cputune/emulatorpin")
    return pins, emulator.get("cpuset") if emulator is not None else None


def vcpu_threads(answer: list[dict], pid: int) -> dict[int, int]:
    """``{vcpu index: thread id}`` from query-cpus-fast, leaving out vCPUs that have
    no thread of their own (single-threaded TCG: every vCPU is QEMU's one thread)."""
    out: dict[int, int] = {}
    seen: set[int] = set()
    for cpu in answer:
        tid, index = cpu.get("thread-id"), cpu.get("cpu-index")
        if not isinstance(tid, int) or not isinstance(index, int) or tid == pid or tid in seen:
            continue
        seen.add(tid)
        out[index] = tid
    return out


def domain_level(tuning: Tuning) -> Tuning:
    """The domain group's share once vCPUs have their own groups: the global pair."""
    return dataclasses.replace(tuning, cpu_period_us=tuning.global_period_us,
                               cpu_quota_us=tuning.global_quota_us)


# --- one child group ---------------------------------------------------------------------
class ThreadCgroup(DomainCgroup):
    """``vcpuN/`` or ``emulator/`` below a domain group: threads, bandwidth, cpuset."""

    controllers = THREAD_CONTROLLERS
    v2_enabled = ("cpu", "cpuset")
    pid_controllers = ("cpu", "cpuacct", "cpuset")

    def create(self) -> None:
        for ctrl in self.controllers:
            path = self.path(ctrl)
            if path is None or path.exists():
                continue
            if ctrl == "cpuset" and self.version(ctrl) == 1:
                self._create_cpuset_v1(path)
                continue
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to create cgroup '{path}': "
                            f"{err.strerror}", domain=VIR_FROM_CGROUP) from err
        if self.layout.v2 is not None and self.path("cpu") is not None \
                and self.version("cpu") == 2:
            try:                    # first: the parent becomes a threaded domain
                (self.path("cpu") / "cgroup.type").write_text("threaded")
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, "Unable to make cgroup "
                            f"'{self.path('cpu')}' threaded: {err.strerror}",
                            domain=VIR_FROM_CGROUP) from err
            self._enable_v2_controllers()

    def _create_cpuset_v1(self, path: Path) -> None:
        """Each missing level gets its parent's CPUs and memory nodes first."""
        root = self.layout.mount_of("cpuset")[0]         # type: ignore[index]
        current = root
        for part in Path(self.relpath).parts:
            parent, current = current, current / part
            if current.exists():
                continue
            try:
                current.mkdir()
                for name in ("cpuset.cpus", "cpuset.mems"):
                    (current / name).write_text(read_text(parent / name).strip() or "0")
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to create cgroup '{current}': "
                            f"{err.strerror}", domain=VIR_FROM_CGROUP) from err

    def add_thread(self, tid: int) -> None:
        """Move one thread (not its whole process) here, in every hierarchy."""
        for ctrl in self.controllers:
            path = self.path(ctrl)
            if path is None or not path.exists():
                continue
            name = "tasks" if self.version(ctrl) == 1 else "cgroup.threads"
            try:
                (path / name).write_text(str(tid))
            except ProcessLookupError:
                return                              # the thread is gone
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, f"Unable to add thread {tid} to cgroup "
                            f"'{path}': {err.strerror}", domain=VIR_FROM_CGROUP) from err

    def threads(self) -> list[int]:
        path = self.path("cpu")
        if path is None:
            return []
        name = "tasks" if self.version("cpu") == 1 else "cgroup.threads"
        return [int(t) for t in read_text(path / name).split()]

    def set_cpus(self, cpus: str) -> None:
        """``cpuset.cpus`` (when the cpuset controller is there)."""
        if self.path("cpuset") is not None:
            self._write("cpuset", "cpuset.cpus", cpus)

    def cpus(self) -> str:
        return self._read("cpuset", "cpuset.cpus")


def vcpu_group(domain_group: DomainCgroup, index: int) -> ThreadCgroup:
    return ThreadCgroup(f"{domain_group.relpath}/{VCPU_PREFIX}{index}", domain_group.layout)


def emulator_group(domain_group: DomainCgroup) -> ThreadCgroup:
    return ThreadCgroup(f"{domain_group.relpath}/{EMULATOR}", domain_group.layout)


def existing_vcpu_groups(domain_group: DomainCgroup) -> dict[int, ThreadCgroup]:
    """The ``vcpuN`` children that exist now (read from the cpu hierarchy)."""
    base = domain_group.path("cpu")
    out: dict[int, ThreadCgroup] = {}
    if base is None or not base.is_dir():
        return out
    for child in base.iterdir():
        suffix = child.name[len(VCPU_PREFIX):]
        if child.is_dir() and child.name.startswith(VCPU_PREFIX) and suffix.isdigit():
            out[int(suffix)] = vcpu_group(domain_group, int(suffix))
    return dict(sorted(out.items()))


def has_thread_groups(domain_group: DomainCgroup) -> bool:
    return emulator_group(domain_group).exists()


# --- placing a process's threads -------------------------------------------------------
def _pin(tid: int, cpus: list[int]) -> None:
    try:
        os.sched_setaffinity(tid, cpus)
    except (ProcessLookupError, OSError):
        pass            # a CPU offline, or the thread gone: the cgroup still holds


def place_threads(domain_group: DomainCgroup, pid: int, vcpus: dict[int, int],
                  tuning: Tuning, domain: Any = None) -> dict[str, ThreadCgroup]:
    """Give each vCPU thread of ``pid`` its ``vcpuN`` group and every other thread
    the ``emulator`` group; apply the per-group bandwidth and pins. Safe to call
    again (after a vCPU hot-plug): threads already placed stay. Returns the
    groups by name."""
    emulator = emulator_group(domain_group)
    emulator.create()
    groups: dict[str, ThreadCgroup] = {EMULATOR: emulator}
    vcpu_tids = set(vcpus.values())
    try:
        all_tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        all_tids = []
    for tid in all_tids:
        if tid not in vcpu_tids:
            emulator.add_thread(tid)
    for index, tid in sorted(vcpus.items()):
        group = vcpu_group(domain_group, index)
        group.create()
        group.add_thread(tid)
        groups[f"{VCPU_PREFIX}{index}"] = group
    for name, group in existing_vcpu_groups(domain_group).items():
        if f"{VCPU_PREFIX}{name}" not in groups and not group.threads():
            group.remove()                          # an unplugged vCPU's group
    apply_thread_tuning(domain_group, tuning, domain, vcpus=vcpus, pid=pid)
    return groups


def has_bandwidth(group: DomainCgroup) -> bool:
    """Whether the group offers CFS bandwidth files (v2: the cpu controller is on)."""
    path = group.path("cpu")
    if path is None:
        return False
    return (path / ("cpu.cfs_quota_us" if group.version("cpu") == 1 else "cpu.max")).exists()


def apply_thread_tuning(domain_group: DomainCgroup, tuning: Tuning, domain: Any = None, *,
                        vcpus: dict[int, int] | None = None, pid: int | None = None) -> None:
    """Bandwidth (and pins, with ``domain``) of the domain group and its children:
    global pair on the domain, period/quota on each vcpuN, emulator pair on emulator."""
    if has_bandwidth(domain_group):            # v1: a child may not exceed its parent
        domain_group.set_cpu_bandwidth(None, None)
    for group in existing_vcpu_groups(domain_group).values():
        if has_bandwidth(group):
            group.set_cpu_bandwidth(tuning.vcpu_period_us or DEFAULT_PERIOD_US,
                                    tuning.vcpu_quota_us)
    emulator = emulator_group(domain_group)
    if emulator.exists() and has_bandwidth(emulator):
        emulator.set_cpu_bandwidth(tuning.emulator_period_us or DEFAULT_PERIOD_US,
                                   tuning.emulator_quota_us)
    if has_bandwidth(domain_group):
        domain_group.set_cpu_bandwidth(tuning.global_period_us or DEFAULT_PERIOD_US,
                                       tuning.global_quota_us)
    if domain is None:
        return
    pins, emulator_pin = pins_of(domain)
    for index, text in pins.items():
        cpus = parse_cpuset(text)
        group = vcpu_group(domain_group, index)
        if group.exists():
            group.set_cpus(format_cpuset(cpus))
        if vcpus and index in vcpus:
            _pin(vcpus[index], cpus)
    if emulator_pin and emulator.exists():
        cpus = parse_cpuset(emulator_pin)
        emulator.set_cpus(format_cpuset(cpus))
        for tid in emulator.threads() if pid else ():
            _pin(tid, cpus)


def thread_bandwidth(domain_group: DomainCgroup) -> dict[str, tuple[int, int]]:
    """Live (period, quota) of ``vcpu`` (vcpu0's group) and ``emulator``, where they exist."""
    out = {}
    vcpu_groups = existing_vcpu_groups(domain_group)
    if vcpu_groups:
        out["vcpu"] = next(iter(vcpu_groups.values())).cpu_bandwidth()
    emulator = emulator_group(domain_group)
    if emulator.exists():
        out["emulator"] = emulator.cpu_bandwidth()
    return out

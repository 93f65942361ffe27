"""What the driver knows about the host's QEMU, probed once per process.

Wraps the groundwork's :mod:`~pyvirt.drivers.qemu.probe` (QMP capabilities and
the real KVM check, both cached on disk by binary): the results are memoized
here per (binary, mtime), so every driver instance of the process shares one
probe. The KVM check needs a kernel to boot; it is ``$PYVIRT_KVM_TEST_KERNEL``
or the host's ``/boot/vmlinuz-$(uname -r)``; without one KVM counts as not
verified (unusable), and the reason says so.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_EMULATOR = "/usr/bin/qemu-system-x86_64"
#: used when probing is impossible (no QEMU): QEMU 7.2's machine aliases
FALLBACK_MACHINES = {"pc": "pc-i440fx-7.2", "q35": "pc-q35-7.2"}


@dataclass(frozen=True)
class HostQemu:
    binary: str
    version: tuple[int, int, int]
    machines: tuple[str, ...]            # names and aliases, for the argv builder
    aliases: dict[str, str]              # alias -> canonical machine name
    kvm_usable: bool
    kvm_reason: str

    @property
    def version_number(self) -> int:
        major, minor, micro = self.version
        return major * 1_000_000 + minor * 1_000 + micro

    def canonical_machine(self, name: str | None) -> str:
        name = name or "pc"
        return self.aliases.get(name, name)

    def caps(self, binary: str | None = None) -> Any:
        from pyvirt.drivers.qemu.command import QemuCaps

        return QemuCaps(binary=binary or self.binary, version=self.version,
                        kvm_usable=self.kvm_usable, machines=self.machines)


_MEMO: dict[tuple[str, int], HostQemu] = {}
_LOCK = threading.Lock()


def find_binary() -> str:
    return shutil.which("qemu-system-x86_64") or DEFAULT_EMULATOR


def kvm_test_kernel() -> str | None:
    for path in (os.environ.get("PYVIRT_KVM_TEST_KERNEL"),
                 f"/boot/vmlinuz-{os.uname().release}"):
        if path and os.path.exists(path):
            return path
    return None


def host_qemu(cache_dir: str, binary: str | None = None) -> HostQemu:
    """The probed facts for ``binary`` (memoized; probing failures give fallbacks)."""
    binary = binary or find_binary()
    try:
        mtime = os.stat(binary).st_mtime_ns
    except OSError:
        mtime = 0
    with _LOCK:
        found = _MEMO.get((binary, mtime))
        if found is None:
            found = _probe(binary, cache_dir)
            _MEMO[(binary, mtime)] = found
        return found


def _probe(binary: str, cache_dir: str) -> HostQemu:
    from pyvirt.drivers.qemu import probe
    from pyvirt.errors import libvirtError

    os.makedirs(cache_dir, exist_ok=True)
    try:
        caps = probe.probe_capabilities(binary, cache_dir)
    except (libvirtError, OSError) as err:
        log.error("cannot probe %s: %s", binary, err)
        return HostQemu(binary, (0, 0, 0), (), dict(FALLBACK_MACHINES), False,
                        f"QEMU could not be probed: {err}")
    if caps.kvm_present:
        verdict = probe.check_kvm(binary, kvm_test_kernel(), cache_dir)
        usable, reason = verdict.usable, verdict.reason
    else:
        usable, reason = False, "QEMU reports no usable /dev/kvm"
    aliases = {m["alias"]: m["name"] for m in caps.machines if m.get("alias")}
    return HostQemu(binary, caps.version, caps.machine_names, aliases, usable, reason)


# --- virConnectGetCapabilities -----------------------------------------------------------
def _node_cells() -> list[Any]:
    """NUMA cells from /sys (one cell from /proc/meminfo when /sys has none)."""
    from pyvirt.conf.capabilities import NumaCell, NumaCPU

    cells = []
    base = "/sys/devices/system/node"
    nodes = sorted((d for d in (os.listdir(base) if os.path.isdir(base) else [])
                    if d.startswith("node") and d[4:].isdigit()), key=lambda d: int(d[4:]))
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for node in nodes or ["node0"]:
        cell_id = int(node[4:])
        memory_kib = _meminfo_kib(f"{base}/{node}/meminfo", f"Node {cell_id} MemTotal:") \
            or _meminfo_kib("/proc/meminfo", "MemTotal:")
        cpu_ids = _cpu_list(f"{base}/{node}/cpulist") or list(range(os.cpu_count() or 1))
        cpus = [NumaCPU(id=c, socket_id=_topology(c, "physical_package_id"),
                        die_id=_topology(c, "die_id"), core_id=_topology(c, "core_id"),
                        siblings=_topology_text(c, "thread_siblings_list")) for c in cpu_ids]
        cells.append(NumaCell(id=cell_id, memory_kib=memory_kib,
                              pages=[(page_kib, memory_kib // page_kib), (2048, 0),
                                     (1048576, 0)],
                              distances=[(cell_id, 10)], cpus=cpus))
    return cells


def _meminfo_kib(path: str, key: str) -> int:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line[len(key):].split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cpu_list(path: str) -> list[int]:
    try:
        text = open(path).read().strip()
    except OSError:
        return []
    out: list[int] = []
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        out += list(range(int(low), int(high or low) + 1))
    return out


def _topology_text(cpu: int, name: str) -> str | None:
    try:
        with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/{name}") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _topology(cpu: int, name: str) -> int | None:
    text = _topology_text(cpu, name)
    return int(text) if text and text.lstrip("-").isdigit() else None


def capabilities_xml(qemu: HostQemu, machines: list[dict[str, Any]]) -> str:
    """The capabilities document: this host, and the x86_64 hvm guest QEMU runs
    (``kvm`` listed only when KVM was verified to work)."""
    from pyvirt.conf.capabilities import (
        Capabilities, CPUTopology, GuestCaps, GuestDomain, GuestFeature, GuestMachine,
        HostCaps, HostCPU, MigrationFeatures, SecModel,
    )

    cells = _node_cells()
    ncpus = sum(len(c.cpus) for c in cells)
    host = HostCaps(
        cpu=HostCPU(arch=os.uname().machine,
                    topology=CPUTopology(sockets=1, dies=1, cores=ncpus, threads=1),
                    pages_kib=[os.sysconf("SC_PAGE_SIZE") // 1024, 2048, 1048576]),
        power_management=[], iommu=False,
        migration=MigrationFeatures(live=True, uri_transports=["tcp", "rdma"]),
        cells=cells,
        secmodels=[SecModel("none"), SecModel("dac", baselabels=[("kvm", "+0:+0"),
                                                                 ("qemu", "+0:+0")])])
    guest_machines: list[Any] = []
    for machine in sorted(machines, key=lambda m: not m.get("is-default")):
        guest_machines.append(GuestMachine(machine["name"], max_cpus=machine.get("cpu-max")))
        if machine.get("alias"):
            guest_machines.append(GuestMachine(machine["alias"], canonical=machine["name"],
                                               max_cpus=machine.get("cpu-max")))
    domains = [GuestDomain("qemu")] + ([GuestDomain("kvm")] if qemu.kvm_usable else [])
    guest = GuestCaps(os_type="hvm", arch="x86_64", wordsize=64, emulator=qemu.binary,
                      machines=guest_machines, domains=domains,
                      features=[GuestFeature("acpi", True, True),
                                GuestFeature("apic", True, False),
                                GuestFeature("cpuselection"), GuestFeature("deviceboot"),
                                GuestFeature("disksnapshot", True, False)])
    return Capabilities(host=host, guests=[guest]).to_xml()


# --- virConnectGetDomainCapabilities --------------------------------------------------------
def domain_capabilities_xml(qemu: HostQemu, probe: Any, emulator: str | None,
                            arch: str | None, machine: str | None,
                            virttype: str | None) -> str:
    """What this driver can run for (emulator, arch, machine, virt type), in libvirt's
    ``<domainCapabilities>`` format, limited to what pyvirt's command line supports.
    ``kvm`` where KVM does not really work is refused with the probe's reason."""
    from pyvirt.drivers.qemu.command import VIDEO_MODELS
    from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG, error

    virttype = virttype or ("kvm" if qemu.kvm_usable else "qemu")
    if virttype not in ("qemu", "kvm"):
        raise error(VIR_ERR_INVALID_ARG, f"unknown virttype: {virttype}")
    if arch not in (None, "x86_64"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f"unable to find any emulator to serve '{arch}' architecture")
    if emulator not in (None, qemu.binary):
        raise error(VIR_ERR_INVALID_ARG, f"emulator '{emulator}' is not supported by this "
                    f"driver (use {qemu.binary})")
    if virttype == "kvm" and not qemu.kvm_usable:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f"KVM is not supported by '{qemu.binary}' on this host: {qemu.kvm_reason}")
    machine = qemu.canonical_machine(machine)
    entry = next((m for m in getattr(probe, "machines", []) if m["name"] == machine), None)
    if probe is not None and entry is None:
        raise error(VIR_ERR_INVALID_ARG, f"the machine '{machine}' is not supported by "
                    f"emulator '{qemu.binary}'")
    max_cpus = (entry or {}).get("cpu-max", 255)

    def enum(name: str, values: list[str], pad: str) -> list[str]:
        if not values:
            return [f"{pad}<enum name='{name}'/>"]
        return ([f"{pad}<enum name='{name}'>"] + [f"{pad}  <value>{v}</value>" for v in values]
                + [f"{pad}</enum>"])

    models = list(getattr(probe, "cpu_models", []))
    out = ["<domainCapabilities>", f"  <path>{qemu.binary}</path>",
           f"  <domain>{virttype}</domain>", f"  <machine>{machine}</machine>",
           "  <arch>x86_64</arch>", f"  <vcpu max='{max_cpus}'/>",
           "  <iothreads supported='no'/>",
           "  <os supported='yes'>", "    <loader supported='no'/>", "  </os>",
           "  <cpu>",
           f"    <mode name='host-passthrough' supported='{'yes' if virttype == 'kvm' else 'no'}'/>",
           "    <mode name='maximum' supported='yes'/>",
           "    <mode name='host-model' supported='yes'/>"]
    if models:
        out.append("    <mode name='custom' supported='yes'>")
        out += [f"      <model usable='unknown'>{m}</model>" for m in models]
        out.append("    </mode>")
    else:
        out.append("    <mode name='custom' supported='no'/>")
    out += ["  </cpu>", "  <devices>", "    <disk supported='yes'>"]
    out += enum("diskDevice", ["disk", "cdrom"], "      ")
    out += enum("bus", ["ide", "scsi", "virtio", "sata"], "      ")
    out += enum("model", ["virtio"], "      ")
    out += ["    </disk>", "    <graphics supported='yes'>"]
    out += enum("type", ["vnc"], "      ")
    out += ["    </graphics>", "    <video supported='yes'>"]
    out += enum("modelType", sorted(VIDEO_MODELS) + ["none"], "      ")
    out += ["    </video>", "    <hostdev supported='no'/>", "    <rng supported='yes'>"]
    out += enum("model", ["virtio"], "      ")
    out += enum("backendModel", ["random", "builtin"], "      ")
    out += ["    </rng>", "    <filesystem supported='no'/>", "    <tpm supported='no'/>",
            "    <redirdev supported='no'/>", "    <channel supported='yes'>"]
    out += enum("type", ["pty", "unix"], "      ")
    out += ["    </channel>", "  </devices>", "  <features>",
            "    <gic supported='no'/>", "    <sev supported='no'/>",
            "    <sgx supported='no'/>", "  </features>", "</domainCapabilities>"]
    return "\n".join(out) + "\n"

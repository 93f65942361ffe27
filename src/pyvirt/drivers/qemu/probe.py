"""What the host's QEMU can do: binary, QMP capabilities, and whether KVM really works.

``find_qemu_binary()`` looks for ``qemu-system-x86_64``. ``probe_capabilities()``
starts it once with ``-machine none`` and asks over QMP (query-version,
query-machines, query-cpu-definitions, query-kvm). ``check_kvm()`` boots a tiny
guest kernel with ``-accel kvm`` and waits briefly for its first console line:
on hosts where ``/dev/kvm`` opens but a guest hangs, the verdict is "KVM
unusable, using TCG" (logged). ``host_caps()`` combines both into the
:class:`~pyvirt.drivers.qemu.command.QemuCaps` that ``build_argv`` needs.

Both results are cached as JSON under a directory the caller gives, keyed by the
binary's path, mtime and size (and, for KVM, the host kernel and the test kernel),
so a changed QEMU is probed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from pyvirt.drivers.qemu.command import QemuCaps
from pyvirt.drivers.qemu.loop import LoopThread
from pyvirt.drivers.qemu.paths import RunPaths
from pyvirt.drivers.qemu.process import QemuProcess
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, error, libvirtError

log = logging.getLogger(__name__)

BINARY_NAMES = ("qemu-system-x86_64",)
SEARCH_DIRS = ("/usr/bin", "/usr/local/bin", "/usr/libexec")
CACHE_VERSION = 1
#: what the guest kernel prints first (earlyprintk on ttyS0): it ran real code
KVM_PROOF = b"Linux version"


@dataclass
class QemuProbe:
    """QEMU's answers over QMP, as cached."""

    binary: str
    version: tuple[int, int, int]
    package: str
    machines: list[dict[str, Any]]          # query-machines entries
    cpu_models: list[str]
    kvm_present: bool                       # query-kvm: /dev/kvm usable by QEMU

    @property
    def machine_names(self) -> tuple[str, ...]:
        names = [m["name"] for m in self.machines]
        names += [m["alias"] for m in self.machines if m.get("alias")]
        return tuple(names)

    @property
    def default_machine(self) -> str | None:
        for m in self.machines:
            if m.get("is-default"):
                return m.get("alias") or m["name"]
        return None


@dataclass
class KvmVerdict:
    usable: bool
    reason: str
    seconds: float = 0.0


@dataclass
class _CacheKey:
    binary: str
    mtime_ns: int
    size: int
    extra: dict[str, Any] = field(default_factory=dict)


def find_qemu_binary(search_path: str | None = None) -> str:
    """The path of qemu-system-x86_64 (PATH first, then the usual directories)."""
    for name in BINARY_NAMES:
        found = shutil.which(name, path=search_path)
        if found:
            return found
        if search_path is None:
            for directory in SEARCH_DIRS:
                candidate = os.path.join(directory, name)
                if os.access(candidate, os.X_OK):
                    return candidate
    raise error(VIR_ERR_INTERNAL_ERROR, "Cannot find QEMU binary qemu-system-x86_64: "
                "No such file or directory", domain=VIR_FROM_QEMU)


# --- the cache ---------------------------------------------------------------------------
def _key(binary: str, **extra: Any) -> _CacheKey:
    st = os.stat(binary)
    return _CacheKey(binary, st.st_mtime_ns, st.st_size, extra)


def _cache_file(cache_dir: str, binary: str, kind: str) -> str:
    digest = hashlib.sha256(binary.encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"{kind}-{digest}.json")


def _cache_read(path: str, key: _CacheKey) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if data.get("version") != CACHE_VERSION or data.get("key") != asdict(key):
        return None
    return data.get("value")


def _cache_write(path: str, key: _CacheKey, value: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"version": CACHE_VERSION, "key": asdict(key), "value": value}, fh, indent=1)
    os.replace(tmp, path)


# --- capabilities over QMP ----------------------------------------------------------------
def _probe_argv(binary: str):
    def build(paths: RunPaths) -> list[str]:
        return [binary, "-S", "-no-user-config", "-nodefaults", "-nographic",
                "-machine", "none,accel=tcg",
                "-chardev", f"socket,id=charmonitor,fd={paths.monitor_fd},server=on,wait=off",
                "-mon", "chardev=charmonitor,id=monitor,mode=control"]
    return build


def _query(binary: str, loop: LoopThread | None, timeout: float) -> QemuProbe:
    with tempfile.TemporaryDirectory(prefix="pyvirt-probe-") as run_dir:
        with QemuProcess("probe", _probe_argv(binary), run_dir, loop=loop,
                         monitor_timeout=timeout) as proc:
            proc.start(paused=True)
            mon = proc.monitor
            assert mon is not None
            version = mon.execute("query-version")
            machines = mon.execute("query-machines")
            cpus = mon.execute("query-cpu-definitions")
            kvm = mon.execute("query-kvm")
            mon.execute("quit")
            proc.wait(timeout)
    return probe_from_replies(binary, version, machines, cpus, kvm)


def probe_from_replies(binary: str, version: dict, machines: list, cpus: list,
                       kvm: dict) -> QemuProbe:
    """A :class:`QemuProbe` from QEMU's replies (pure; tests feed captured replies)."""
    qv = version["qemu"]
    return QemuProbe(
        binary=binary, version=(qv["major"], qv["minor"], qv["micro"]),
        package=version.get("package", ""),
        machines=sorted(({k: m[k] for k in ("name", "alias", "is-default", "cpu-max")
                          if k in m} for m in machines), key=lambda m: m["name"]),
        cpu_models=sorted(c["name"] for c in cpus),
        kvm_present=bool(kvm.get("present")))


def probe_capabilities(binary: str, cache_dir: str, *, loop: LoopThread | None = None,
                       timeout: float = 15.0) -> QemuProbe:
    """QEMU's capabilities, from the cache when the binary has not changed."""
    key = _key(binary)
    path = _cache_file(cache_dir, binary, "caps")
    cached = _cache_read(path, key)
    if cached is not None:
        cached["version"] = tuple(cached["version"])
        return QemuProbe(**cached)
    probe = _query(binary, loop, timeout)
    _cache_write(path, key, asdict(probe))
    return probe


# --- the KVM check ------------------------------------------------------------------------
def _kvm_argv(binary: str, kernel: str, serial: str, accel: str = "kvm"):
    def build(paths: RunPaths) -> list[str]:
        return [binary, "-S", "-no-user-config", "-nodefaults", "-display", "none",
                "-machine", f"pc,accel={accel}", "-m", "128", "-no-reboot",
                "-chardev", f"socket,id=charmonitor,fd={paths.monitor_fd},server=on,wait=off",
                "-mon", "chardev=charmonitor,id=monitor,mode=control",
                "-kernel", kernel, "-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1",
                "-chardev", f"socket,id=serial,path={serial},server=on,wait=off",
                "-serial", "chardev:serial"]
    return build


def _read_until(sock: socket.socket, marker: bytes, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    seen = b""
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return False
        if not chunk:
            return False
        seen = seen[-256:] + chunk
    return True


def _run_kvm_check(binary: str, kernel: str, loop: LoopThread | None,
                   timeout: float, accel: str = "kvm") -> KvmVerdict:
    """Boot ``kernel`` under ``accel`` (tests pass "tcg" to see the positive path)."""
    if accel == "kvm" and not os.path.exists("/dev/kvm"):
        return KvmVerdict(False, "/dev/kvm does not exist")
    if accel == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return KvmVerdict(False, "/dev/kvm is not accessible")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pyvirt-kvm-") as run_dir:
        serial_path = os.path.join(run_dir, "serial.sock")
        with QemuProcess("kvm-check", _kvm_argv(binary, kernel, serial_path, accel), run_dir,
                         loop=loop, monitor_timeout=timeout) as proc:
            try:
                proc.start(paused=True)
            except libvirtError as err:
                why = getattr(err, "log_tail", "") or err.get_error_message()
                return KvmVerdict(False, f"QEMU refused -accel {accel}: {why}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as serial:
                serial.connect(serial_path)
                proc.monitor.execute("cont")  # type: ignore[union-attr]
                ok = _read_until(serial, KVM_PROOF, timeout)
    took = time.monotonic() - started
    if ok:
        return KvmVerdict(True, f"a guest kernel ran under {accel}", took)
    return KvmVerdict(False, f"a guest under {accel} printed nothing within {timeout:g} s "
                             "(the vCPU hangs)", took)


def check_kvm(binary: str, kernel: str | None, cache_dir: str, *,
              loop: LoopThread | None = None, timeout: float = 5.0) -> KvmVerdict:
    """Whether a guest really runs under KVM here (cached per binary, host and kernel)."""
    if kernel is None or not os.path.exists(kernel):
        verdict = KvmVerdict(False, "no test kernel to verify KVM with")
        log.warning("KVM unusable (%s), using TCG", verdict.reason)
        return verdict
    kst = os.stat(kernel)
    key = _key(binary, host_kernel=os.uname().release, kernel=kernel,
               kernel_mtime_ns=kst.st_mtime_ns, dev_kvm=os.path.exists("/dev/kvm"))
    path = _cache_file(cache_dir, binary, "kvm")
    cached = _cache_read(path, key)
    if cached is not None:
        verdict = KvmVerdict(**cached)
    else:
        verdict = _run_kvm_check(binary, kernel, loop, timeout)
        _cache_write(path, key, asdict(verdict))
    if verdict.usable:
        log.info("KVM usable (%s)", verdict.reason)
    else:
        log.warning("KVM unusable (%s), using TCG", verdict.reason)
    return verdict


def host_caps(cache_dir: str, *, binary: str | None = None, kvm_kernel: str | None = None,
              loop: LoopThread | None = None) -> QemuCaps:
    """Probe (or read from the cache) everything ``build_argv`` needs."""
    binary = binary or find_qemu_binary()
    probe = probe_capabilities(binary, cache_dir, loop=loop)
    kvm = check_kvm(binary, kvm_kernel, cache_dir, loop=loop) if probe.kvm_present \
        else KvmVerdict(False, "QEMU reports no KVM")
    return QemuCaps(binary=binary, version=probe.version, kvm_usable=kvm.usable,
                    machines=probe.machine_names)

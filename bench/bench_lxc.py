"""LXC driver beside the QEMU driver: start-to-marker time and memory per guest.

In one run, interleaved rounds of:

* **container** — ``lxc:///embed?root=…``, the busybox test rootfs (var/rootfs,
  64 MiB limit, user namespace): ``create()`` until its init prints
  ``PYVIRT-CT-READY`` in the console log; then the memory it costs: the
  controller's RSS, init's RSS, and the container cgroup's memory usage;
* **QEMU guest** — ``qemu:///embed?root=…``, the tiny test guest (var/guest,
  TCG, 128 MiB): ``create()`` until ``PYVIRT-GUEST-READY`` on its serial file;
  then QEMU's RSS.

Markers are found by polling the console files every 5 ms from a thread started
just before ``create()``, so a marker printed before ``create()`` returns is timed
when it appears (the container's ``create()`` also waits ``settle_s``, 250 ms, to
catch an init that exits at once). Medians are printed, with the ratio
container / QEMU guest.
Run as root: ``.venv/bin/python bench/bench_lxc.py [REPEAT]``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))

import pyvirt  # noqa: E402

ROOTFS = REPO / "var" / "rootfs"
GUEST = REPO / "var" / "guest"

CONTAINER_XML = """<domain type='lxc'>
  <name>benchct</name>
  <memory unit='MiB'>64</memory>
  <os><type>exe</type><init>/sbin/ct-init</init></os>
  <idmap><uid start='0' target='100000' count='65536'/>
    <gid start='0' target='100000' count='65536'/></idmap>
  <devices>
    <filesystem type='mount'><source dir='{rootfs}'/><target dir='/'/></filesystem>
    <console type='pty'/>
  </devices>
</domain>"""

GUEST_XML = """<domain type='qemu'>
  <name>benchvm</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel><initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet</cmdline></os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='{console}'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>"""


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_marker(path: Path, marker: bytes, offset: int, start: float,
                timeout: float = 60.0) -> float:
    """Seconds from ``start`` until ``marker`` appears in ``path`` after ``offset``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                if marker in handle.read():
                    return time.perf_counter() - start
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {marker!r} in {path} within {timeout} s")
        time.sleep(0.005)


class MarkerWatch:
    """Polls for a marker from before ``create()`` is called, in a thread, so a
    marker printed while ``create()`` still runs is timed when it appears."""

    def __init__(self, path: Path, marker: bytes, offset: int) -> None:
        import threading

        self.start = time.perf_counter()
        self.result: list[float] = []
        self.thread = threading.Thread(target=lambda: self.result.append(
            wait_marker(path, marker, offset, self.start)), daemon=True)
        self.thread.start()

    def seconds(self) -> float:
        self.thread.join(70)
        if not self.result:
            raise RuntimeError("marker not seen")
        return self.result[0]


class ContainerSide:
    def __init__(self, work: Path) -> None:
        from pyvirt.drivers.lxc.state import state_for
        from pyvirt.drivers.lxc.state_dir import dirs_for_root

        root = work / "lxc-root"
        self.conn = pyvirt.open(f"lxc:///embed?root={root}")
        self.dom = self.conn.defineXML(CONTAINER_XML.format(rootfs=ROOTFS))
        self.dirs = dirs_for_root(root)
        self.state = state_for(self.dirs)

    def run(self) -> dict[str, float]:
        log = self.dirs.log_path("benchct")
        offset = log.stat().st_size if log.exists() else 0
        watch = MarkerWatch(log, b"PYVIRT-CT-READY", offset)
        self.dom.create()
        out = {"create": time.perf_counter() - watch.start, "marker": watch.seconds()}
        ct = next(iter(self.state.containers.values()))
        out["controller_rss"] = rss_kib(ct.controller_pid)
        out["init_rss"] = rss_kib(ct.init_pid)
        out["cgroup"] = ct.cgroup.memory_usage_kib()
        t1 = time.perf_counter()
        self.dom.destroy()
        out["destroy"] = time.perf_counter() - t1
        return out

    def close(self) -> None:
        self.dom.undefine()
        self.conn.close()


class GuestSide:
    def __init__(self, work: Path) -> None:
        from pyvirt.drivers.qemu.driver_state import state_for
        from pyvirt.drivers.qemu.state_dir import dirs_for_root

        root = work / "qemu-root"
        self.console = work / "guest.console"
        self.conn = pyvirt.open(f"qemu:///embed?root={root}")
        self.dom = self.conn.defineXML(GUEST_XML.format(
            kernel=GUEST / "vmlinuz", initrd=GUEST / "initrd.gz", console=self.console))
        self.state = state_for(dirs_for_root(root))

    def run(self) -> dict[str, float]:
        self.console.unlink(missing_ok=True)
        watch = MarkerWatch(self.console, b"PYVIRT-GUEST-READY", 0)
        self.dom.create()
        out = {"create": time.perf_counter() - watch.start, "marker": watch.seconds()}
        out["qemu_rss"] = rss_kib(next(iter(self.state.runtimes.values())).pid)
        t1 = time.perf_counter()
        self.dom.destroy()
        out["destroy"] = time.perf_counter() - t1
        return out

    def close(self) -> None:
        self.dom.undefine()
        self.conn.close()


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    subprocess.run([str(REPO / "scripts/build-test-rootfs.sh"), str(ROOTFS)], check=True,
                   capture_output=True)
    if not (GUEST / "vmlinuz").exists():
        subprocess.run([str(REPO / "scripts/build-test-guest.sh"), str(GUEST)], check=True)
    if shutil.which("qemu-system-x86_64") is None:
        raise SystemExit("qemu-system-x86_64 is not installed")
    work = Path(tempfile.mkdtemp(prefix="pyvirt-bench-lxc-"))
    os.chmod(work, 0o777)        # the confined QEMU writes its serial file here
    ct_runs: list[dict[str, float]] = []
    vm_runs: list[dict[str, float]] = []
    ct = vm = None
    try:
        ct, vm = ContainerSide(work), GuestSide(work)
        for _ in range(repeat):   # interleaved, so a busy moment hits both alike
            ct_runs.append(ct.run())
            vm_runs.append(vm.run())
    finally:
        for side in (ct, vm):
            if side is not None:
                side.close()
        shutil.rmtree(work, ignore_errors=True)

    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"container: {ROOTFS} (busybox, userns); guest: {GUEST} (TCG, 128 MiB); "
          f"median of {repeat} interleaved rounds; {os.cpu_count()} CPUs")
    for what in ("create", "marker", "destroy"):
        mine, theirs = med(ct_runs, what) * 1000, med(vm_runs, what) * 1000
        label = {"create": "create() return", "marker": "start to marker",
                 "destroy": "destroy()"}[what]
        print(f"{label}: container {mine:.1f} ms, QEMU guest {theirs:.1f} ms, "
              f"ratio {mine / theirs:.3f}x")
    ctrl, init, cgroup = (med(ct_runs, k) for k in ("controller_rss", "init_rss", "cgroup"))
    qemu = med(vm_runs, "qemu_rss")
    print(f"memory: container controller RSS {ctrl / 1024:.1f} MiB + init RSS "
          f"{init / 1024:.1f} MiB = {(ctrl + init) / 1024:.1f} MiB (cgroup usage "
          f"{cgroup / 1024:.1f} MiB); QEMU guest RSS {qemu / 1024:.1f} MiB; "
          f"ratio {(ctrl + init) / qemu:.3f}x")


if __name__ == "__main__":
    main()

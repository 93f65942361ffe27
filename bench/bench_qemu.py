"""QEMU driver: start-to-marker, create() and destroy() of the tiny test guest.

Three ways to run the same guest (var/guest, TCG, 128 MiB, serial console to a file):

* **pyvirt** — ``qemu:///embed?root=…`` in this process: ``create()`` return time,
  time until ``PYVIRT-GUEST-READY`` appears on the console, ``destroy()`` time;
* **bare QEMU** — the very argv pyvirt built, minus the QMP monitor and ``-S``,
  started with ``subprocess``: time until the marker (the floor for the above);
* **libvirt** — Debian's libvirt 9.0 qemu driver in its embedded mode
  (``qemu:///embed?root=…`` through the real libvirt-python under /usr/bin/python3,
  packages ``libvirt-daemon-driver-qemu`` and ``python3-libvirt``), same XML.

The marker is found by polling the console file every 5 ms in all three cases.
Run as root: ``.venv/bin/python bench/bench_qemu.py [REPEAT]``.
"""

from __future__ import annotations

import json
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

MARKER = b"PYVIRT-GUEST-READY"
GUEST = REPO / "var" / "guest"

XML = """<domain type='qemu'>
  <name>bench</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='{console}'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>"""

# Runs under Debian's /usr/bin/python3 with the real binding; prints one JSON line.
LIBVIRT_SIDE = r"""
import json, os, sys, threading, time
import libvirt
root, xml_path, console = sys.argv[1], sys.argv[2], sys.argv[3]
libvirt.registerErrorHandler(lambda *a: None, None)
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
conn = libvirt.open(f"qemu:///embed?root={root}")
dom = conn.defineXML(open(xml_path).read())
def marker():
    try:
        with open(console, "rb") as f:
            return b"PYVIRT-GUEST-READY" in f.read()
    except FileNotFoundError:
        return False
print("ready", flush=True)
for _ in sys.stdin:
    out = {}
    if os.path.exists(console):
        os.unlink(console)
    t0 = time.perf_counter()
    dom.create()
    out["create"] = time.perf_counter() - t0
    deadline = time.monotonic() + 60
    while not marker():
        if time.monotonic() > deadline:
            raise SystemExit("libvirt: no marker within 60 s")
        time.sleep(0.005)
    out["marker"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    dom.destroy()
    out["destroy"] = time.perf_counter() - t1
    print(json.dumps(out), flush=True)
dom.undefine()
conn.close()
"""


def wait_marker(console: Path, start: float, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if MARKER in console.read_bytes():
                return time.perf_counter() - start
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {MARKER!r} on {console} within {timeout} s")
        time.sleep(0.005)


def fresh_disk(path: Path) -> None:
    if path.exists():
        path.unlink()
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                    str(GUEST / "disk.qcow2"), str(path)], check=True)


class PyvirtSide:
    """The guest under pyvirt's embedded driver, one run at a time."""

    def __init__(self, work: Path) -> None:
        self.console, disk = work / "pyvirt.console", work / "pyvirt.qcow2"
        fresh_disk(disk)
        self.root = work / "pyvirt-root"
        self.conn = pyvirt.open(f"qemu:///embed?root={self.root}")
        self.dom = self.conn.defineXML(XML.format(
            kernel=GUEST / "vmlinuz", initrd=GUEST / "initrd.gz", disk=disk,
            console=self.console))
        self.argv: list[str] = []

    def run(self) -> dict[str, float]:
        self.console.unlink(missing_ok=True)
        t0 = time.perf_counter()
        self.dom.create()
        out = {"create": time.perf_counter() - t0, "marker": wait_marker(self.console, t0)}
        if not self.argv:
            self.argv = pyvirt_argv(self.root, "bench")
        t1 = time.perf_counter()
        self.dom.destroy()
        out["destroy"] = time.perf_counter() - t1
        return out

    def close(self) -> None:
        self.dom.undefine()
        self.conn.close()


def pyvirt_argv(root: Path, name: str) -> list[str]:
    """The command line pyvirt started QEMU with (the log's second line)."""
    import shlex
    lines = (root / "log" / "qemu" / f"{name}.log").read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if "starting up pyvirt" in line]
    return shlex.split(lines[starts[-1] + 1])


def bare_argv(argv: list[str]) -> list[str]:
    """pyvirt's argv without the QMP monitor and ``-S`` (nothing to connect, no cont)."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "-S":
            continue
        if arg in ("-chardev", "-mon") and i + 1 < len(argv) and "monitor" in argv[i + 1]:
            skip = True
            continue
        out.append(arg)
    return out


def run_bare(work: Path, argv: list[str]) -> float:
    """One start of QEMU with ``argv`` until the marker (pyvirt's console file and disk)."""
    console = work / "pyvirt.console"
    console.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        return wait_marker(console, t0)
    finally:
        proc.kill()
        proc.wait()


class LibvirtSide:
    """The guest under Debian's libvirt (embedded qemu driver) in a helper process
    that does one run per line it reads."""

    def __init__(self, work: Path) -> None:
        self.problem = ""
        self.proc: subprocess.Popen | None = None
        if not Path("/usr/bin/python3").exists() or subprocess.run(
                ["/usr/bin/python3", "-c", "import libvirt"], capture_output=True).returncode:
            self.problem = "python3-libvirt is not installed"
            return
        console, disk = work / "libvirt.console", work / "libvirt.qcow2"
        fresh_disk(disk)
        xml = work / "libvirt.xml"
        xml.write_text(XML.format(kernel=GUEST / "vmlinuz", initrd=GUEST / "initrd.gz",
                                  disk=disk, console=console))
        root = work / "libvirt-root"
        (root / "etc").mkdir(parents=True, exist_ok=True)
        # embedded libvirt: QEMU's output to a plain file (no virtlogd), QEMU as root
        (root / "etc" / "qemu.conf").write_text('stdio_handler = "file"\nuser = "root"\n'
                                                'group = "root"\ndynamic_ownership = 0\n')
        self.errors = work / "libvirt.stderr"
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-c", LIBVIRT_SIDE, str(root), str(xml), str(console)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors.open("w"),
            text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.problem = self._failure()

    def _failure(self) -> str:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        return self.errors.read_text().strip()[-400:] or "the libvirt helper failed"

    def run(self) -> dict[str, float] | None:
        if self.proc is None:
            return None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer.strip():
            self.problem = self._failure()
            return None
        return json.loads(answer)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def line(what: str, ours: list[float], other: list[float] | None, other_name: str) -> None:
    mine = statistics.median(ours) * 1e3
    if not other:
        print(f"{what}: pyvirt {mine:.1f} ms (median of {len(ours)})")
        return
    theirs = statistics.median(other) * 1e3
    print(f"{what}: pyvirt {mine:.1f} ms, {other_name} {theirs:.1f} ms, "
          f"ratio {mine / theirs:.3f}x (median of {len(ours)})")


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    if not (GUEST / "vmlinuz").exists():
        subprocess.run([str(REPO / "scripts/build-test-guest.sh"), str(GUEST)], check=True)
    if shutil.which("qemu-system-x86_64") is None:
        raise SystemExit("qemu-system-x86_64 is not installed")
    work = Path(tempfile.mkdtemp(prefix="pyvirt-bench-qemu-"))
    ours: dict[str, list[float]] = {"create": [], "marker": [], "destroy": []}
    real: dict[str, list[float]] = {"create": [], "marker": [], "destroy": []}
    bare: list[float] = []
    mine = theirs = None
    try:
        mine, theirs = PyvirtSide(work), LibvirtSide(work)
        # interleaved rounds, so a busy moment of the machine hits all three alike
        for _ in range(repeat):
            for key, value in mine.run().items():
                ours[key].append(value)
            bare.append(run_bare(work, bare_argv(mine.argv)))
            got = theirs.run()
            for key, value in (got or {}).items():
                real[key].append(value)
        print(f"guest: {GUEST} (TCG), {repeat} interleaved rounds; {os.cpu_count()} CPUs")
        line("start to marker vs bare QEMU", ours["marker"], bare, "bare qemu")
        if theirs.problem:
            print(f"libvirt baseline unavailable: {theirs.problem}")
        line("create() return", ours["create"], real["create"], "libvirt")
        line("create to marker", ours["marker"], real["marker"], "libvirt")
        line("destroy()", ours["destroy"], real["destroy"], "libvirt")
    finally:
        for side in (mine, theirs):
            if side is not None:
                side.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

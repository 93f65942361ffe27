"""Crash test: pyvirtd serving the QEMU driver (qemu:///system under a private
root, real QEMU with the tiny TCG guest) is ``kill -9``ed at random moments of a
random sequence of lifecycle operations (define, start, snapshot-create,
snapshot-delete, destroy, undefine over 4 guests) driven by the real
libvirt-python, and restarted. After each restart and at the end: every guest
the model holds is defined exactly once, every running one still runs under
the same QEMU and answers on its monitor (suspend/resume), snapshots are all
there, no temp file is left and every state file parses, and no QEMU runs that
the daemon does not know. An operation the kill interrupted may have happened
or not: the guest must be in one of the two states.

Sizes: ``PYVIRT_CRASH_OPS`` (200), ``PYVIRT_CRASH_KILL_EVERY`` (a kill every ~8
operations), ``PYVIRT_CRASH_SEED`` (random; printed).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from pyvirt.drivers.qemu import state_dir

from . import crash_model as cm
from .pyvirtd_proc import PyvirtdProcess

libvirt = pytest.importorskip("libvirt", reason="the real libvirt-python binding is not "
                                                "installed (pip install libvirt-python)")
QEMU = shutil.which("qemu-system-x86_64")
QEMU_IMG = shutil.which("qemu-img")
REPO = Path(__file__).resolve().parents[2]
GUEST = REPO / "var" / "guest"
NAMES = ("c1", "c2", "c3", "c4")

pytestmark = [
    pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(QEMU_IMG is None, reason="qemu-img is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="qemu:///system needs root (QEMU runs as "
                                                 "the qemu user, files are relabelled)"),
]


@pytest.fixture(scope="module")
def guest() -> Path:
    if not (GUEST / "vmlinuz").exists() or not (GUEST / "initrd.gz").exists():
        subprocess.run([str(REPO / "scripts/build-test-guest.sh"), str(GUEST)],
                       capture_output=True)
    if not (GUEST / "vmlinuz").exists():
        pytest.skip("test guest var/guest/vmlinuz missing (scripts/build-test-guest.sh)")
    return GUEST


def guest_xml(name: str, root: Path) -> str:
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{GUEST / 'vmlinuz'}</kernel>
    <initrd>{GUEST / 'initrd.gz'}</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='{root / "images" / (name + ".qcow2")}'/><target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='{root / (name + ".console")}'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


class Run:
    """The daemon, the client connection, the model and the tallies of one run."""

    def __init__(self, folder: Path, seed: int) -> None:
        self.root = folder / "root"
        (self.root / "images").mkdir(parents=True)
        for name in NAMES:
            subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2",
                            str(self.root / "images" / f"{name}.qcow2"), "16M"], check=True)
        self.dirs = state_dir.dirs_for_root(self.root)
        self.daemon = PyvirtdProcess(folder, {state_dir.SYSTEM_ROOT_ENV: str(self.root)})
        self.uri = f"qemu+unix:///system?socket={self.daemon.socket}"
        self.rng = random.Random(seed)
        self.guests = {name: cm.Guest() for name in NAMES}
        self.conn = None
        self.snap_serial = 0
        self.last = ""
        self.history: list[str] = []
        self.orphans: list[str] = []
        self.kills = self.lost = self.duplicated = self.interrupted = self.orphaned = 0
        self.refused = self.dropped = 0
        self.problems: list[str] = []
        self.op_seconds: dict[str, float] = {}

    # --- daemon and connection -----------------------------------------------------
    def start(self) -> None:
        self.daemon.start()
        deadline = time.monotonic() + 15
        while True:         # the socket file appears a moment before it accepts
            try:
                self.conn = libvirt.open(self.uri)
                return
            except libvirt.libvirtError:
                if time.monotonic() > deadline or not self.daemon.alive():
                    raise
                time.sleep(0.02)

    def kill(self) -> None:
        self.daemon.kill9()
        self.kills += 1
        try:
            self.conn.close()
        except libvirt.libvirtError:
            pass
        self.conn = None

    # --- operations ---------------------------------------------------------------------
    def do(self, op: str, name: str, snapshot: str) -> None:
        conn = self.conn
        if op == "define":
            conn.defineXML(guest_xml(name, self.root))
            return
        dom = conn.lookupByName(name)
        if op == "start":
            dom.create()
        elif op == "destroy":
            dom.destroy()
        elif op == "undefine":
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        elif op == "snapshot-create":
            dom.snapshotCreateXML(f"<domainsnapshot><name>{snapshot}</name></domainsnapshot>")
        elif op == "snapshot-delete":
            dom.snapshotLookupByName(snapshot).delete()

    def step(self, kill: bool) -> None:
        name, op = cm.pick(self.rng, self.guests)
        before = self.guests[name]
        snapshot = ""
        if op == "snapshot-create":
            self.snap_serial += 1
            snapshot = f"s{self.snap_serial}"
        elif op == "snapshot-delete":
            snapshot = self.rng.choice(sorted(before.snapshots))
        planned = cm.after(op, before, snapshot)
        self.last = f"{op} {name} {snapshot}, model {before}, {'with' if kill else 'no'} kill"
        self.history.append(f"{op} {name}{' (kill)' if kill else ''}")
        if not kill:
            began = time.monotonic()
            try:
                self.do(op, name, snapshot)
            except libvirt.libvirtError as err:
                if op != "start" or "Permission denied" not in str(err):
                    raise
                # KNOWN BUG (reported): now and then QEMU, started as the qemu user,
                # finds its console file left owned by root; the start fails cleanly
                self.refused += 1
                self.orphans.append(f"start {name} refused: {str(err).splitlines()[0][:300]}"
                                    f" after {', '.join(self.history[-8:])}")
                return
            self.op_seconds[op] = self.op_seconds.get(op, 0.0) + time.monotonic() - began
            if planned.running and not before.running:
                planned.pid = self.status_pid(name)
            self.guests[name] = planned
            return
        failure: list[BaseException] = []

        def attempt() -> None:
            try:
                self.do(op, name, snapshot)
            except libvirt.libvirtError as err:
                failure.append(err)

        worker = threading.Thread(target=attempt)
        worker.start()
        time.sleep(self.rng.uniform(0.0, 0.6))
        self.kill()
        worker.join(60)
        assert not worker.is_alive(), f"{op} {name} still blocked after the kill"
        if failure:
            self.interrupted += 1
        began = time.monotonic()
        self.start()
        self.op_seconds["restart"] = self.op_seconds.get("restart", 0.0) + time.monotonic() - began
        began = time.monotonic()
        self.reconcile(name, op, before, planned)
        self.check_all(f"after kill {self.kills} ({op} {name})",
                       cut_short_start=name if op == "start" else "")
        self.op_seconds["check"] = self.op_seconds.get("check", 0.0) + time.monotonic() - began

    # --- checks -----------------------------------------------------------------------
    def status_pid(self, name: str) -> int:
        path = self.dirs.status_path(name)
        return state_dir.parse_status(path.read_text(), name).pid if path.exists() else 0

    def observe(self, name: str) -> cm.Observed:
        names = [d.name() for d in self.conn.listAllDomains()]
        if name not in names:
            return cm.Observed(False, False, 0, set())
        dom = self.conn.lookupByName(name)
        running = bool(dom.isActive())
        return cm.Observed(True, running, self.status_pid(name) if running else 0,
                           set(dom.snapshotListNames()))

    def reconcile(self, name: str, op: str, before: cm.Guest, planned: cm.Guest) -> None:
        """The interrupted op happened or not: the guest must be one or the other."""
        seen = self.observe(name)
        if seen.running and self.conn.lookupByName(name).state()[0] == libvirt.VIR_DOMAIN_PAUSED:
            self.conn.lookupByName(name).resume()       # a snapshot job cut short
        if cm.matches(before, seen):
            self.guests[name] = before
        elif cm.matches(planned, seen, new_pid_ok=op == "start"):
            planned.pid = seen.pid if planned.running else 0
            self.guests[name] = planned
        elif (op == "snapshot-delete" and (seen.defined, seen.running) ==
              (planned.defined, planned.running) and seen.snapshots < planned.snapshots):
            # KNOWN BUG (reported): the parent's metadata file went before its
            # children were rewritten, and a child whose parent is missing is dropped
            # when the metadata is loaded again
            self.dropped += len(planned.snapshots - seen.snapshots)
            self.orphans.append(f"{op} {name} cut short: snapshots {sorted(planned.snapshots)}"
                                f" expected, {sorted(seen.snapshots)} loaded")
            self.guests[name] = cm.Guest(seen.defined, seen.running,
                                         seen.pid if seen.running else 0, seen.snapshots)
        else:
            self.lost += 1
            self.problems.append(f"{op} {name} interrupted: before {before}, planned "
                                 f"{planned}, seen {seen}")
            self.guests[name] = cm.Guest(seen.defined, seen.running, seen.pid, seen.snapshots)

    def check_all(self, when: str, cut_short_start: str = "") -> None:
        names = [d.name() for d in self.conn.listAllDomains()]
        if len(names) != len(set(names)):
            self.duplicated += 1
            self.problems.append(f"{when}: domains listed twice: {sorted(names)}")
        expected = sorted(n for n, g in self.guests.items() if g.defined)
        if sorted(set(names)) != expected:
            self.lost += 1
            self.problems.append(f"{when}: defined {sorted(set(names))}, model {expected}")
        for name, model in self.guests.items():
            if not model.defined or name not in names:
                continue
            seen = self.observe(name)
            if not cm.matches(model, seen):
                self.lost += 1
                self.problems.append(f"{when}: {name} model {model}, seen {seen}")
            elif model.running:
                dom = self.conn.lookupByName(name)
                dom.suspend()                            # both go through QMP
                dom.resume()
        leftovers = cm.temp_files(self.root)
        if leftovers:
            self.problems.append(f"{when}: temp files left: {leftovers}")
        bad = cm.unparsable_files(self.dirs)
        if bad:
            self.problems.append(f"{when}: unparsable: {bad}")
        known = {g.pid for g in self.guests.values() if g.running}
        deadline = time.monotonic() + 5          # one destroyed a moment ago may linger
        while (qemus := cm.qemu_pids_under(self.root)) - known and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in sorted(qemus - known):
            if cut_short_start and cm.guest_of(pid) == cut_short_start:
                # KNOWN BUG (reported): a start cut short after the spawn but before
                # the status file leaves a QEMU no restarted daemon knows; killed here
                self.orphaned += 1
                files = [p.name for p in (self.dirs.status_path(cut_short_start),
                                          self.dirs.pid_path(cut_short_start),
                                          self.dirs.monitor_path(cut_short_start))
                         if p.exists()]
                self.orphans.append(f"{when}: QEMU {pid} of {cut_short_start}, run files "
                                    f"left: {files or 'none'}")
                os.kill(pid, signal.SIGKILL)
                qemus.discard(pid)
                deadline = time.monotonic() + 10
                while pid in cm.qemu_pids_under(self.root) and time.monotonic() < deadline:
                    time.sleep(0.05)
        if qemus != known:
            self.duplicated += len(qemus - known)
            self.problems.append(f"{when}: QEMU pids {sorted(qemus)}, guests' {sorted(known)}")

    def cleanup(self) -> None:
        """Stop the daemon and every QEMU under the root, whatever happened."""
        if self.conn is not None:
            try:
                self.conn.close()
            except libvirt.libvirtError:
                pass
        self.daemon.stop()
        for _ in range(3):
            pids = cm.qemu_pids_under(self.root)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 10
            while cm.qemu_pids_under(self.root) and time.monotonic() < deadline:
                time.sleep(0.05)


@pytest.fixture
def traversable_tmp():
    """A folder of our own, world-traversable: QEMU runs as the unprivileged qemu
    user, and pytest's shared /tmp/pytest-of-root (0700) is reset by any other
    pytest run on the machine."""
    folder = Path(tempfile.mkdtemp(prefix="pyvirt-crash."))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_kill9_at_random_points_of_lifecycle_operations(traversable_tmp, guest, capsys) -> None:
    tmp_path = traversable_tmp
    ops = int(os.environ.get("PYVIRT_CRASH_OPS", "200"))
    every = float(os.environ.get("PYVIRT_CRASH_KILL_EVERY", "8"))
    seed = int(os.environ.get("PYVIRT_CRASH_SEED", str(random.randrange(1 << 30))))
    run = Run(tmp_path, seed)
    started = time.monotonic()
    done = 0
    try:
        run.start()
        for done in range(1, ops + 1):
            run.step(kill=run.rng.random() < 1 / every)
        run.check_all("at the end")
        for name, model in run.guests.items():          # destroy works on every survivor
            if model.running:
                run.conn.lookupByName(name).destroy()
        # a reattached QEMU is not the new daemon's child: it may take a moment to go
        deadline = time.monotonic() + 10
        while cm.qemu_pids_under(run.root) and time.monotonic() < deadline:
            time.sleep(0.05)
        if cm.qemu_pids_under(run.root):
            run.problems.append("QEMU left running after destroy")
    except libvirt.libvirtError as err:
        run.problems.append(f"op {done} ({run.last}) failed: {err}")
        run.problems.append("last ops: " + ", ".join(run.history[-40:]))
        run.problems.append("files: " + "; ".join(
            f"{p.relative_to(run.root)} {p.stat().st_uid}:{p.stat().st_gid} "
            f"{p.stat().st_mode & 0o7777:o}" for p in sorted(run.root.rglob("*"))
            if p.is_file() and p.suffix in (".console", ".qcow2")))
        for record in sorted(run.root.rglob("dac.json")):
            run.problems.append(f"{record.relative_to(run.root)}: {record.read_text()}")
    finally:
        run.cleanup()
        line = (f"crash: {done} ops, {run.kills} kills survived, {run.lost} lost, "
                f"{run.duplicated} duplicated; known bugs: {run.orphaned} QEMU orphaned by "
                f"a start cut short, {run.refused} starts refused a root-owned console, "
                f"{run.dropped} child snapshots dropped (seed {seed}, {run.interrupted} ops "
                f"cut short, {time.monotonic() - started:.0f} s)")
        with capsys.disabled():
            print("\n" + line)
            print("  seconds spent: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                  sorted(run.op_seconds.items())))
            for problem in (run.problems + run.orphans)[:20]:
                print("  " + problem)
    assert not run.problems, line
    assert done == ops
    # once known bugs, now fixed: a start cut short is found and killed by the next
    # daemon (status written before the spawn), and a snapshot-delete rewrites the
    # children before the parent's file goes
    assert run.orphaned == 0 and run.dropped == 0, line
    if run.refused:
        pytest.xfail(f"starts refused a root-owned console file (not reproduced since "
                     f"the run got its own folder) ({line})")

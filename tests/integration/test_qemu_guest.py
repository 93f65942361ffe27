"""A real QEMU (TCG) running pyvirt's tiny test guest, driven through process.py.

The guest is built by scripts/build-test-guest.sh when missing (cached under
var/guest). Skipped when qemu-system-x86_64 is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.paths import RunPaths
from pyvirt.drivers.qemu.process import QemuProcess
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, libvirtError

ROOT = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-system-x86_64")

pytestmark = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")


@pytest.fixture(scope="module")
def guest() -> dict[str, str]:
    out = subprocess.run([str(ROOT / "scripts" / "build-test-guest.sh")], check=True,
                         capture_output=True, text=True, timeout=300).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class SerialConsole:
    """Reads the guest's serial port (a unix socket QEMU listens on) in a thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.text = ""
        self._changed = threading.Condition()
        self._sock: socket.socket | None = None

    def attach(self) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(self.path)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._sock is not None
        while data := self._sock.recv(4096):
            with self._changed:
                self.text += data.decode(errors="replace")
                self._changed.notify_all()

    def wait_for(self, marker: str, timeout: float, count: int = 1) -> bool:
        """Wait until ``marker`` has appeared ``count`` times (no polling)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.text.count(marker) >= count, timeout)

    def send(self, line: str) -> None:
        assert self._sock is not None
        self._sock.sendall(line.encode() + b"\n")


def guest_argv(guest: dict[str, str], serial: str):
    def build(paths: RunPaths) -> list[str]:
        return [QEMU, "-name", "guest=tiny", "-S", "-no-user-config", "-nodefaults",
                "-machine", "pc,accel=tcg", "-m", "128", "-display", "none", "-no-shutdown",
                "-chardev", f"socket,id=charmonitor,fd={paths.monitor_fd},server=on,wait=off",
                "-mon", "chardev=charmonitor,id=monitor,mode=control",
                "-kernel", guest["kernel"], "-initrd", guest["initrd"],
                "-append", "console=ttyS0 quiet",
                "-chardev", f"socket,id=charserial0,path={serial},server=on,wait=off",
                "-device", "isa-serial,chardev=charserial0,id=serial0",
                "-blockdev", f"driver=file,filename={guest['disk']},node-name=f0,read-only=on",
                "-blockdev", "driver=qcow2,file=f0,node-name=d0,read-only=on",
                "-device", "virtio-blk-pci,drive=d0,id=virtio-disk0"]
    return build


class EventLog:
    """QMP events as they arrive, with a wait that does not poll."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.data: list[dict] = []
        self._changed = threading.Condition()

    def __call__(self, name: str, data: dict, _stamp: float) -> None:
        with self._changed:
            self.names.append(name)
            self.data.append(data)
            self._changed.notify_all()

    def wait_for(self, name: str, timeout: float, **data: object) -> bool:
        """Wait for event ``name`` whose data holds ``data`` (no polling)."""
        def seen() -> bool:
            return any(n == name and all(d.get(k) == v for k, v in data.items())
                       for n, d in zip(self.names, self.data))
        with self._changed:
            return self._changed.wait_for(seen, timeout)


def test_guest_boots_hotplugs_and_powers_off_cleanly(guest, tmp_path):
    serial = str(tmp_path / "serial.sock")
    events = EventLog()
    t0 = time.monotonic()
    with QemuProcess("tiny", guest_argv(guest, serial), str(tmp_path / "run"),
                     monitor_timeout=10) as proc:
        proc.start(paused=True)
        console = SerialConsole(serial)
        console.attach()           # attach before cont: no console output is lost
        proc.monitor.add_event_callback(events)
        proc.monitor.execute("cont")
        assert proc.monitor.execute("query-status")["status"] == "running"
        assert console.wait_for("PYVIRT-GUEST-READY", 20), console.text[-2000:]
        boot_s = time.monotonic() - t0
        assert "PYVIRT-BLOCK vda 131072" in console.text
        assert console.wait_for("PYVIRT-COUNTER 1", 5)

        # the block list again, on request from the serial shell
        console.send("pyvirt-blk")
        assert console.wait_for("PYVIRT-BLOCK-END", 5, count=2)

        # hot-plug a disk: the guest announces it; unplug: DEVICE_DELETED, then gone
        extra = tmp_path / "extra.img"
        extra.write_bytes(b"\0" * (1 << 20))
        proc.monitor.execute("blockdev-add", {"driver": "file", "filename": str(extra),
                                              "node-name": "extra-file"})
        proc.monitor.execute("blockdev-add", {"driver": "raw", "file": "extra-file",
                                              "node-name": "extra"})
        proc.monitor.execute("device_add", {"driver": "virtio-blk-pci", "drive": "extra",
                                            "id": "virtio-disk1"})
        assert console.wait_for("PYVIRT-HOTPLUG add vdb", 10), console.text[-1000:]
        proc.monitor.execute("device_del", {"id": "virtio-disk1"})
        # QEMU first reports the virtio backend, then the device itself
        assert events.wait_for("DEVICE_DELETED", 10, device="virtio-disk1",
                               path="/machine/peripheral/virtio-disk1")
        assert console.wait_for("PYVIRT-HOTPLUG remove vdb", 5)
        proc.monitor.execute("blockdev-del", {"node-name": "extra"})
        proc.monitor.execute("blockdev-del", {"node-name": "extra-file"})

        # pause and resume: the counter in guest memory goes on where it was
        proc.monitor.execute("stop")
        assert events.wait_for("STOP", 5)
        paused_at = console.text.count("PYVIRT-COUNTER")
        proc.monitor.execute("cont")
        assert events.wait_for("RESUME", 5)
        assert console.wait_for(f"PYVIRT-COUNTER {paused_at + 1}", 5)

        assert proc.shutdown(timeout=10)
        assert proc.returncode == 0
        assert "PYVIRT-POWEROFF" in console.text
    assert "POWERDOWN" in events.names and "SHUTDOWN" in events.names
    assert not os.path.exists(tmp_path / "run" / "monitor.sock")
    print(f"boot to PYVIRT-GUEST-READY: {boot_s:.2f} s")


def test_save_and_restore_keep_the_guest_memory(guest, tmp_path):
    # the counter lives only in guest RAM: after restore it goes on from where it was
    state = tmp_path / "guest.state"
    events = EventLog()
    with QemuProcess("tiny", guest_argv(guest, str(tmp_path / "s1.sock")),
                     str(tmp_path / "run1"), monitor_timeout=10) as first:
        first.start(paused=True)
        console = SerialConsole(str(tmp_path / "s1.sock"))
        console.attach()
        first.monitor.add_event_callback(events)
        first.monitor.execute("cont")
        assert console.wait_for("PYVIRT-COUNTER 2", 20), console.text[-1000:]
        first.monitor.execute("stop")
        saved_at = console.text.count("PYVIRT-COUNTER")
        first.monitor.execute("migrate-set-capabilities",
                              {"capabilities": [{"capability": "events", "state": True}]})
        first.monitor.execute("migrate", {"uri": f"exec:cat > {state}"})
        assert events.wait_for("MIGRATION", 20, status="completed")
    assert state.stat().st_size > 1 << 20

    def restored(paths: RunPaths) -> list[str]:
        return guest_argv(guest, str(tmp_path / "s2.sock"))(paths) + ["-incoming", "defer"]

    incoming = EventLog()
    with QemuProcess("tiny", restored, str(tmp_path / "run2"), monitor_timeout=10) as second:
        second.start(paused=True)
        console2 = SerialConsole(str(tmp_path / "s2.sock"))
        console2.attach()
        second.monitor.add_event_callback(incoming)
        second.monitor.execute("migrate-set-capabilities",
                               {"capabilities": [{"capability": "events", "state": True}]})
        second.monitor.execute("migrate-incoming", {"uri": f"exec:cat {state}"})
        assert incoming.wait_for("MIGRATION", 20, status="completed")
        second.monitor.execute("cont")      # it was saved paused, so it loads paused
        assert console2.wait_for(f"PYVIRT-COUNTER {saved_at + 1}", 10), console2.text[-500:]
        assert "PYVIRT-GUEST-READY" not in console2.text      # no second boot
        assert "PYVIRT-COUNTER 1\r" not in console2.text


def test_destroy_kills_a_running_guest_at_once(guest, tmp_path):
    serial = str(tmp_path / "serial.sock")
    proc = QemuProcess("tiny", guest_argv(guest, serial), str(tmp_path / "run"))
    proc.start()
    exits: list[int] = []
    proc.add_exit_callback(exits.append)
    pid = proc.pid
    code = proc.destroy(grace=5)
    assert code == 0                      # QEMU exits cleanly on SIGTERM
    assert exits == [code]                # seen (pidfd) before destroy() returned
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)                   # reaped: not even a zombie is left


def test_a_qemu_that_exits_at_once_reports_its_error_and_leaves_nothing(tmp_path):
    def bad(paths: RunPaths) -> list[str]:
        return [QEMU, "-S", "-nodefaults", "-display", "none",
                "-chardev", f"socket,id=charmonitor,fd={paths.monitor_fd},server=on,wait=off",
                "-mon", "chardev=charmonitor,id=monitor,mode=control",
                "-no-such-option"]
    proc = QemuProcess("bad", bad, str(tmp_path / "run"), monitor_timeout=10)
    with pytest.raises(libvirtError) as exc:
        proc.start()
    assert exc.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    message = str(exc.value)
    assert message.startswith("internal error: process exited while connecting to monitor: ")
    assert "-no-such-option: invalid option" in message
    assert "command line: " in message and "-no-such-option" in exc.value.argv
    assert proc.returncode == 1 and not proc.running
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)
    assert not os.path.exists(tmp_path / "run" / "monitor.sock")
    assert "-no-such-option" in (tmp_path / "run" / "qemu.log").read_text()


def test_a_missing_binary_is_reported_before_anything_runs(tmp_path):
    proc = QemuProcess("gone", ["/nonexistent/qemu-system-x86_64"], str(tmp_path / "run"))
    with pytest.raises(libvirtError) as exc:
        proc.start()
    assert str(exc.value) == ("internal error: cannot execute binary "
                              "/nonexistent/qemu-system-x86_64: No such file or directory")


def test_the_kvm_check_sees_a_kernel_run_and_gives_a_verdict(guest, tmp_path, caplog):
    from pyvirt.drivers.qemu import probe
    # the positive path, made certain with TCG: the kernel's first line arrives
    ran = probe._run_kvm_check(QEMU, guest["kernel"], None, 10, accel="tcg")
    assert ran.usable and ran.reason == "a guest kernel ran under tcg"
    # the real verdict on this host (cached by the probe, so later runs are instant)
    verdict = probe.check_kvm(QEMU, guest["kernel"], str(ROOT / "var" / "qemu-cache"))
    assert isinstance(verdict.usable, bool) and verdict.reason


# --- every xml2argv golden case is a command line the real QEMU accepts ----------------
XML2ARGV = ROOT / "tests" / "data" / "qemu" / "xml2argv"
NEEDS_HOST_SETUP = {"kvm": "needs a usable KVM"}


def _free_vnc_port() -> int:
    """A VNC port (5900 + display) free on 127.0.0.1 right now."""
    import socket
    for port in range(5910, 6000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free VNC port on 127.0.0.1")


@pytest.mark.parametrize("name", sorted(p.stem for p in XML2ARGV.glob("*.xml")))
def test_golden_command_lines_start_in_the_real_qemu(name, guest, tmp_path):
    import re

    from pyvirt.conf.domain import DomainDef
    from pyvirt.drivers.qemu.command import QemuCaps, build_argv

    if name in NEEDS_HOST_SETUP:
        pytest.skip(NEEDS_HOST_SETUP[name])

    def local(match: re.Match) -> str:
        path = match.group(2)
        if path == "/dev/urandom":
            return match.group(0)
        if path.startswith("/var/guest/"):
            new = guest["kernel"] if path.endswith("vmlinuz") else guest["initrd"]
            return match.group(0).replace(path, new)
        new = str(tmp_path / os.path.basename(path))
        if path.endswith(".qcow2"):
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", new, "1M"], check=True)
        elif path.endswith((".img", ".iso")) or path.startswith("/dev/"):
            with open(new, "wb") as fh:
                fh.truncate(1 << 20)
        return match.group(0).replace(path, new)

    xml = (XML2ARGV / f"{name}.xml").read_text()
    if name == "net":      # taps need a namespace: check the rest with user networking
        xml = re.sub(r"<interface type='(network|bridge)'>", "<interface type='user'>", xml)
        xml = re.sub(r"<source (network|bridge)='[^']*'/>", "", xml)
    xml = xml.replace("type='block'", "type='file'").replace("<source dev=", "<source file=")
    xml = re.sub(r"((?:file|path)='|<kernel>|<initrd>)(/[^'<]+)", local, xml)
    # a fixed VNC port may be taken on a busy host, and a test listens on loopback only
    xml = re.sub(r"port='59\d\d'", f"port='{_free_vnc_port()}'", xml)
    xml = xml.replace("listen='0.0.0.0'", "listen='127.0.0.1'")
    dom = DomainDef.from_xml(xml)
    proc = QemuProcess(name, lambda paths: build_argv(dom, QemuCaps(binary=QEMU), paths),
                       str(tmp_path / "run"), monitor_timeout=10)
    with proc:
        proc.start(paused=True)
        assert proc.monitor.execute("query-status")["status"] == "prelaunch"
    assert not proc.running


def test_fds_handed_to_qemu_arrive(tmp_path):
    # tap fds (paths.tap_fds) and extra fds reach QEMU; -add-fd makes them visible
    with open(tmp_path / "handed", "wb") as fh:
        fd = fh.fileno()

        def build(paths: RunPaths) -> list[str]:
            return [QEMU, "-S", "-nodefaults", "-display", "none", "-machine", "none",
                    "-chardev", f"socket,id=charmonitor,fd={paths.monitor_fd},server=on,wait=off",
                    "-mon", "chardev=charmonitor,id=monitor,mode=control",
                    "-add-fd", f"fd={fd},set=3,opaque=handed"]

        with QemuProcess("fds", build, str(tmp_path / "run"), pass_fds=(fd,)) as proc:
            proc.start(paused=True)
            fdsets = proc.monitor.execute("query-fdsets")
    assert [s["fdset-id"] for s in fdsets] == [3]
    assert fdsets[0]["fds"][0]["opaque"] == "handed"

"""The QEMU driver end to end with real QEMU (TCG) and the tiny test guest.

Covers: define → start → marker on the serial console → graceful shutdown →
shut off (shutdown); destroy seen at once; reboot; suspend/resume; a start that
fails inside QEMU; a disk in use; save/restore and managed save keeping the
guest's counter; reattach from a new process after the embedding one was
killed with two guests running. Every QEMU started here is killed at the end,
even when a test fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
# console_text keeps the name the other qemu test modules import from here
from process_fixture import kill_recorded_qemus, text_of as console_text, wait_for

from pyvirt import uri as urimod
from pyvirt.drivers.qemu import driver as qdriver, state_dir
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_INVALID, libvirtError,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import DomainEvent as E, DomainState as S

REPO = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-system-x86_64")

pytestmark = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed")


# --- the guest -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def guest() -> dict[str, Path]:
    """The tiny test guest, built (or found cached) by scripts/build-test-guest.sh."""
    out = REPO / "var" / "guest"
    build = subprocess.run([str(REPO / "scripts/build-test-guest.sh"), str(out)],
                           capture_output=True, text=True)
    if not (out / "vmlinuz").exists() or not (out / "initrd.gz").exists():
        pytest.skip(f"test guest not available: {build.stderr.strip()[-300:]}")
    return {"kernel": out / "vmlinuz", "initrd": out / "initrd.gz"}


def guest_xml(guest: dict[str, Path], name: str, console: Path, disk: Path | None = None,
              extra_os: str = "", virt: str = "qemu") -> str:
    disk_el = ""
    if disk is not None:
        disk_el = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                   f"<source file='{disk}'/><target dev='vda' bus='virtio'/></disk>")
    return textwrap.dedent(f"""\
        <domain type='{virt}'>
          <name>{name}</name>
          <memory unit='MiB'>128</memory>
          <vcpu>1</vcpu>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>{guest['kernel']}</kernel>
            <initrd>{guest['initrd']}</initrd>
            <cmdline>console=ttyS0 quiet</cmdline>{extra_os}
          </os>
          <features><acpi/></features>
          <devices>
            {disk_el}
            <serial type='file'><source path='{console}'/></serial>
            <memballoon model='none'/>
          </devices>
        </domain>""")


# --- harness ---------------------------------------------------------------------------
class Harness:
    """One embedded driver root, its connection, and what the guests printed."""

    def __init__(self, root: Path, guest: dict[str, Path]) -> None:
        self.root = root
        self.guest = guest
        self.hv = open_hv(root)
        self.events: list[tuple] = []
        self.hv.connect_domain_event_register_any(
            n.EVENT_ID_LIFECYCLE, None, lambda _id, ref, ev, detail: self.events.append(
                (ref.name, ev, detail)))
        self.reboots: list[str] = []
        self.hv.connect_domain_event_register_any(
            n.EVENT_ID_REBOOT, None, lambda _id, ref: self.reboots.append(ref.name))

    def console(self, name: str) -> Path:
        return self.root / f"{name}.console"

    def define(self, name: str, **kw) -> object:
        return self.hv.domain_define_xml_flags(
            guest_xml(self.guest, name, self.console(name), **kw), 0)

    def cleanup(self) -> None:
        drv = self.hv.drv
        for rt in list(drv.runtimes.values()):
            rt.kill(signal.SIGKILL)
            rt.wait_exit(5)
        kill_recorded_qemus(drv.dirs)
        self.hv.connect_close()
        qdriver.forget_state_for_tests(drv.dirs)


def open_hv(root: Path):
    return QemuDriver().open(urimod.parse(f"qemu:///embed?root={root}"), 0, False).hypervisor


def wait_marker(path: Path, marker: str, count: int = 1, timeout: float = 30.0) -> str:
    return wait_for(lambda: console_text(path).count(marker) >= count and console_text(path),
                    timeout, f"{marker} x{count} in {path.name}")


def counters(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"PYVIRT-COUNTER (\d+)", text)]


def pid_gone(pid: int) -> bool:
    start = state_dir.process_start_time(pid)
    if start is None:
        return True
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[-1].split()[0] == "Z"


@pytest.fixture
def h(tmp_path: Path, guest):
    harness = Harness(tmp_path, guest)
    yield harness
    harness.cleanup()


# --- tests -------------------------------------------------------------------------------
def test_define_start_marker_graceful_shutdown(h: Harness) -> None:
    ref = h.define("g1")
    ref = h.hv.domain_create_with_flags(ref, 0)
    assert ref.id > 0
    assert h.hv.domain_get_state(ref) == [S.RUNNING, n.RunningReason.BOOTED]
    assert h.root.joinpath("run/qemu/g1.xml").exists()
    wait_marker(h.console("g1"), "PYVIRT-GUEST-READY")
    info = h.hv.domain_get_info(ref)
    assert info[0] == S.RUNNING and info[1] == 131072 and info[4] > 0
    h.hv.domain_shutdown(ref)
    wait_for(lambda: h.hv.domain_get_state(ref)[0] == S.SHUTOFF, 15, "shut off")
    assert h.hv.domain_get_state(ref) == [S.SHUTOFF, n.ShutoffReason.SHUTDOWN]
    assert "PYVIRT-POWEROFF" in console_text(h.console("g1"))
    assert not h.root.joinpath("run/qemu/g1.xml").exists()
    wait_for(lambda: len(h.events) >= 5, 5, "events")
    # libvirt's order: QEMU's RESUME (the initial cont) is reported before STARTED
    assert h.events == [("g1", E.DEFINED, n.DEFINED_ADDED),
                        ("g1", E.RESUMED, n.RESUMED_UNPAUSED),
                        ("g1", E.STARTED, n.STARTED_BOOTED),
                        ("g1", E.SHUTDOWN, 1), ("g1", E.STOPPED, n.STOPPED_SHUTDOWN)]
    assert h.hv.domain_lookup_by_name("g1").id == -1


def test_destroy_is_seen_at_once_and_transient_goes_away(h: Harness) -> None:
    ref = h.hv.domain_create_xml(guest_xml(h.guest, "t1", h.console("t1")), 0)
    pid = h.hv.drv.runtimes[ref.uuid].pid
    assert not h.hv.domain_is_persistent(ref)
    started = time.monotonic()
    h.hv.domain_destroy(ref)
    assert time.monotonic() - started < 2.0
    assert pid_gone(pid)
    assert h.hv.connect_list_all_domains(0) == []
    assert [e[1:] for e in h.events] == [(E.RESUMED, n.RESUMED_UNPAUSED),
                                         (E.STARTED, n.STARTED_BOOTED),
                                         (E.SHUTDOWN, 2),      # QEMU's SIGTERM shutdown
                                         (E.STOPPED, n.STOPPED_DESTROYED)]
    with pytest.raises(libvirtError):
        h.hv.domain_lookup_by_name("t1")


def test_reboot_boots_the_guest_again(h: Harness) -> None:
    ref = h.hv.domain_create_with_flags(h.define("r1"), 0)
    wait_marker(h.console("r1"), "PYVIRT-GUEST-READY")
    h.hv.domain_reboot(ref, 0)
    wait_marker(h.console("r1"), "PYVIRT-GUEST-READY", count=2)
    assert h.hv.domain_get_state(ref) == [S.RUNNING, n.RunningReason.BOOTED]
    # libvirt's reboot shows no lifecycle event: only reboot events
    assert [e for e in h.events if e[1] != E.DEFINED] == [
        ("r1", E.RESUMED, n.RESUMED_UNPAUSED), ("r1", E.STARTED, n.STARTED_BOOTED)]
    # one reboot event per QMP RESET (the firmware may reset more than once)
    assert h.reboots and set(h.reboots) == {"r1"}
    seen = len(h.reboots)
    h.hv.domain_reset(ref, 0)
    wait_for(lambda: len(h.reboots) > seen, 5, "reset event")
    h.hv.domain_destroy(ref)


def test_start_paused_resume_suspend(h: Harness) -> None:
    ref = h.hv.domain_create_with_flags(h.define("p1"), n.START_PAUSED)
    assert h.hv.domain_get_state(ref) == [S.PAUSED, n.PausedReason.USER]
    h.hv.domain_resume(ref)
    assert h.hv.domain_get_state(ref) == [S.RUNNING, n.RunningReason.UNPAUSED]
    h.hv.domain_suspend(ref)
    assert h.hv.domain_get_state(ref) == [S.PAUSED, n.PausedReason.USER]
    status = state_dir.parse_status(h.root.joinpath("run/qemu/p1.xml").read_text())
    assert (status.state, status.reason) == ("paused", "user")
    h.hv.domain_resume(ref)
    h.hv.domain_destroy(ref)
    assert [e[1:] for e in h.events[1:]] == [
        (E.STARTED, n.STARTED_BOOTED), (E.SUSPENDED, n.SUSPENDED_PAUSED),
        (E.RESUMED, n.RESUMED_UNPAUSED), (E.SUSPENDED, n.SUSPENDED_PAUSED),
        (E.RESUMED, n.RESUMED_UNPAUSED), (E.SHUTDOWN, 2), (E.STOPPED, n.STOPPED_DESTROYED)]


def test_qemu_that_exits_at_once_is_reported_and_cleaned(h: Harness) -> None:
    junk = h.root / "not-a-kernel"
    junk.write_bytes(b"this is not a linux kernel\n" * 10)
    xml = guest_xml(h.guest, "bad", h.console("bad")).replace(str(h.guest["kernel"]), str(junk))
    ref = h.hv.domain_define_xml_flags(xml, 0)
    with pytest.raises(libvirtError) as info:
        h.hv.domain_create_with_flags(ref, 0)
    message = info.value.get_error_message()
    assert info.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert "command line:" in message and QEMU in message and str(junk) in message
    assert h.hv.domain_get_state(ref) == [S.SHUTOFF, n.ShutoffReason.FAILED]
    assert not h.hv.drv.runtimes
    assert sorted(p.name for p in h.root.joinpath("run/qemu").iterdir()) == ["driver.pid"]


def test_disk_in_use_by_another_running_domain(h: Harness) -> None:
    disk = h.root / "shared.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    first = h.hv.domain_create_with_flags(h.define("d1", disk=disk), n.START_PAUSED)
    second = h.define("d2", disk=disk)
    with pytest.raises(libvirtError) as info:
        h.hv.domain_create_with_flags(second, 0)
    assert info.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert str(disk) in info.value.get_error_message()
    assert "'d1'" in info.value.get_error_message()
    h.hv.domain_destroy(first)
    h.hv.domain_create_with_flags(second, n.START_PAUSED)
    h.hv.domain_destroy(second)


def test_save_restore_and_managed_save_keep_the_counter(h: Harness) -> None:
    ref = h.hv.domain_create_with_flags(h.define("s1"), 0)
    console = h.console("s1")
    wait_marker(console, "PYVIRT-COUNTER 2")
    image = h.root / "s1.save"
    h.hv.domain_save(ref, str(image))
    assert h.hv.domain_get_state(ref) == [S.SHUTOFF, n.ShutoffReason.SAVED]
    seen = console_text(console)
    before = max(counters(seen))
    h.hv.domain_restore(str(image))
    assert h.hv.domain_get_state(ref) == [S.RUNNING, n.RunningReason.RESTORED]
    # the restored QEMU reopens the console file: what follows continues the count
    text = wait_for(lambda: counters(console_text(console)) and console_text(console), 20,
                    "counter after restore")
    assert min(counters(text)) == before + 1
    seen += text
    # managed save: start resumes from the image, then the image is gone
    wait_marker(console, f"PYVIRT-COUNTER {before + 2}")
    h.hv.domain_managed_save(ref, 0)
    assert h.hv.domain_has_managed_save_image(ref, 0)
    assert h.hv.domain_get_state(ref) == [S.SHUTOFF, n.ShutoffReason.SAVED]
    before = max(counters(console_text(console)))
    h.hv.domain_create_with_flags(ref, 0)
    assert h.hv.domain_get_state(ref) == [S.RUNNING, n.RunningReason.RESTORED]
    assert not h.hv.domain_has_managed_save_image(ref, 0)
    text = wait_for(lambda: counters(console_text(console)) and console_text(console), 20,
                    "counter after managed save")
    assert min(counters(text)) == before + 1
    seen += text
    assert seen.count("PYVIRT-GUEST-READY") == 1            # never booted again
    h.hv.domain_destroy(ref)
    assert [e[1:] for e in h.events if e[1] in (E.STARTED, E.STOPPED)] == [
        (E.STARTED, n.STARTED_BOOTED), (E.STOPPED, n.STOPPED_SAVED),
        (E.STARTED, n.STARTED_RESTORED), (E.STOPPED, n.STOPPED_SAVED),
        (E.STARTED, n.STARTED_RESTORED), (E.STOPPED, n.STOPPED_DESTROYED)]


CHILD = """
import os, signal, sys
from pyvirt import uri
from pyvirt.drivers.qemu.driver import QemuDriver
hv = QemuDriver().open(uri.parse(sys.argv[1]), 0, False).hypervisor
for name in ("a1", "a2"):
    ref = hv.domain_lookup_by_name(name)
    hv.domain_create_with_flags(ref, 1 if name == "a2" else 0)
print("started", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_reattach_after_the_embedding_process_was_killed(h: Harness) -> None:
    h.define("a1")
    h.define("a2")
    uri = f"qemu:///embed?root={h.root}"
    # one driver per root: this process lets go before the child takes over
    qdriver.forget_state_for_tests(h.hv.drv.dirs)
    child = subprocess.run([sys.executable, "-c", CHILD, uri], capture_output=True, text=True,
                           timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "started" in child.stdout
    h.hv = open_hv(h.root)
    running = {r.name: r for r in h.hv.connect_list_all_domains(n.LIST_DOMAINS_ACTIVE)}
    assert sorted(running) == ["a1", "a2"]
    assert h.hv.domain_get_state(running["a1"])[0] == S.RUNNING
    assert h.hv.domain_get_state(running["a2"]) == [S.PAUSED, n.PausedReason.USER]
    assert {r.id for r in running.values()} == {1, 2}
    h.hv.domain_resume(running["a2"])
    wait_marker(h.console("a2"), "PYVIRT-GUEST-READY")
    pids = [h.hv.drv.runtimes[r.uuid].pid for r in running.values()]
    for ref in running.values():
        h.hv.domain_destroy(ref)
    assert all(pid_gone(pid) for pid in pids)
    assert h.hv.connect_list_all_domains(n.LIST_DOMAINS_ACTIVE) == []
    assert not list(h.root.joinpath("run/qemu").glob("*.xml"))


def test_qemu_killed_from_outside_is_shut_off_crashed(h: Harness) -> None:
    ref = h.hv.domain_create_with_flags(h.define("k1"), n.START_PAUSED)
    pid = h.hv.drv.runtimes[ref.uuid].pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: h.hv.domain_get_state(ref)[0] == S.SHUTOFF, 5, "crash noticed")
    assert h.hv.domain_get_state(ref) == [S.SHUTOFF, n.ShutoffReason.CRASHED]
    assert h.events[-1] == ("k1", E.STOPPED, n.STOPPED_FAILED)
    assert not h.root.joinpath("run/qemu/k1.xml").exists()


def test_autostart_domains_start_with_the_driver(h: Harness) -> None:
    ref = h.define("auto1")
    h.define("manual1")
    h.hv.domain_set_autostart(ref, True)
    qdriver.forget_state_for_tests(h.hv.drv.dirs)
    h.hv = open_hv(h.root)
    active = [r.name for r in h.hv.connect_list_all_domains(n.LIST_DOMAINS_ACTIVE)]
    assert active == ["auto1"]
    h.hv.domain_destroy(h.hv.domain_lookup_by_name("auto1"))


def test_public_api_drives_the_qemu_driver(h: Harness) -> None:
    import pyvirt as libvirt

    qdriver.register()
    conn = libvirt.open(f"qemu:///embed?root={h.root}")
    try:
        assert conn.getType() == "QEMU"
        dom = conn.defineXML(guest_xml(h.guest, "api1", h.console("api1")))
        dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
        assert dom.isActive() and dom.ID() > 0
        assert dom.state() == [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER]
        assert "<domain type='qemu' id=" in dom.XMLDesc(0)
        dom.destroy()
        assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED]
        dom.undefine()
        with pytest.raises(libvirt.libvirtError) as info:
            conn.lookupByName("api1")
        assert info.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
        assert info.value.get_error_domain() == libvirt.VIR_FROM_QEMU
    finally:
        conn.close()


def test_stats_move_while_the_guest_runs(h: Harness) -> None:
    disk = h.root / "stats.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    ref = h.hv.domain_create_with_flags(h.define("st1", disk=disk), 0)
    wait_marker(h.console("st1"), "PYVIRT-GUEST-READY")
    first = h.hv.domain_get_cpu_stats(ref, -1, 1, 0)[0]
    assert first["cpu_time"] == first["user_time"] + first["system_time"] > 0
    rd_req, rd_bytes, _wr_req, _wr_bytes, errs = h.hv.domain_block_stats(ref, "vda")
    assert rd_req > 0 and rd_bytes > 0 and errs == -1
    assert h.hv.domain_block_stats(ref, str(disk))[0] == rd_req
    memory = h.hv.domain_memory_stats(ref, 0, 0)
    assert memory["actual"] == 131072 and memory["rss"] > 0
    wait_for(lambda: h.hv.domain_get_cpu_stats(ref, -1, 1, 0)[0]["cpu_time"]
             > first["cpu_time"], 10, "cpu time to grow")
    [(got, record)] = h.hv.connect_get_all_domain_stats([ref], 0, 0)
    assert got.name == "st1"
    assert record["state.state"] == S.RUNNING and record["cpu.time"] > first["cpu_time"]
    assert record["balloon.maximum"] == 131072 and record["vcpu.current"] == 1
    assert record["vcpu.0.time"] > 0
    assert record["block.count"] == 1 and record["block.0.name"] == "vda"
    assert record["block.0.rd.reqs"] >= rd_req
    h.hv.domain_destroy(ref)
    [(_, record)] = h.hv.connect_get_all_domain_stats([ref], 0, 0)
    assert record["state.state"] == S.SHUTOFF and "cpu.time" not in record


def test_hotplug_a_disk_seen_inside_the_guest_and_a_nic(h: Harness) -> None:
    disk = h.root / "hot.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "8M"], check=True)
    removed: list[str] = []
    h.hv.connect_domain_event_register_any(
        n.EVENT_ID_DEVICE_REMOVED, None, lambda _id, ref, alias: removed.append(alias))
    ref = h.hv.domain_create_with_flags(h.define("hp1"), 0)
    wait_marker(h.console("hp1"), "PYVIRT-GUEST-READY")
    disk_xml = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                f"<source file='{disk}'/><target dev='vdb' bus='virtio'/></disk>")
    h.hv.domain_attach_device_flags(ref, disk_xml, n.AFFECT_LIVE)
    wait_marker(h.console("hp1"), "PYVIRT-HOTPLUG add vda")
    live = h.hv.domain_get_xml_desc(ref, 0)
    assert str(disk) in live and "<alias name='virtio-disk1'/>" in live
    assert "slot='0x02'" in live             # the first free PCI slot, as libvirt picks
    assert str(disk) not in h.hv.domain_get_xml_desc(ref, n.XML_INACTIVE)
    assert h.hv.domain_block_stats(ref, "vdb")[0] > 0
    h.hv.domain_detach_device_flags(ref, disk_xml, n.AFFECT_LIVE)
    wait_marker(h.console("hp1"), "PYVIRT-HOTPLUG remove vda")
    wait_for(lambda: removed == ["virtio-disk1"], 5, "device removed event")
    assert str(disk) not in h.hv.domain_get_xml_desc(ref, 0)
    # the same disk can come back (its block nodes were released)
    h.hv.domain_attach_device_flags(ref, disk_xml, n.AFFECT_LIVE)
    wait_marker(h.console("hp1"), "PYVIRT-HOTPLUG add vda", count=2)
    # a NIC (user networking) comes and goes the same way
    nic = ("<interface type='user'><mac address='52:54:00:aa:bb:01'/>"
           "<model type='virtio'/></interface>")
    h.hv.domain_attach_device_flags(ref, nic, n.AFFECT_LIVE)
    rt = h.hv.drv.runtimes[ref.uuid]

    def nic_on_pci() -> bool:
        return any(d.get("qdev_id") == "net0" for bus in rt.monitor.execute("query-pci")
                   for d in bus["devices"])

    assert nic_on_pci() and "<alias name='net0'/>" in h.hv.domain_get_xml_desc(ref, 0)
    h.hv.domain_detach_device_flags(ref, nic, n.AFFECT_LIVE)
    wait_for(lambda: removed == ["virtio-disk1", "net0"], 10, "nic removed")
    assert not nic_on_pci() and "52:54:00:aa:bb:01" not in h.hv.domain_get_xml_desc(ref, 0)
    h.hv.domain_destroy(ref)


def test_autodestroy_domain_goes_with_its_connection(h: Harness) -> None:
    other = open_hv(h.root)
    ref = other.domain_create_with_flags(h.define("ad1"), n.START_PAUSED | n.START_AUTODESTROY)
    assert h.hv.domain_is_active(ref)
    other.connect_close()
    assert h.hv.domain_get_state(ref) == [S.SHUTOFF, n.ShutoffReason.DESTROYED]


def test_internal_snapshot_create_revert_delete(h: Harness) -> None:
    disk = h.root / "snap.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    ref = h.hv.domain_create_with_flags(h.define("sn1", disk=disk), 0)
    console = h.console("sn1")
    wait_marker(console, "PYVIRT-COUNTER 2")
    snap = h.hv.domain_snapshot_create_xml(
        ref, "<domainsnapshot><name>s1</name></domainsnapshot>", 0)
    at_snapshot = max(counters(console_text(console)))
    assert snap.name == "s1"
    assert h.hv.domain_get_state(ref)[0] == S.RUNNING
    xml = h.hv.domain_snapshot_get_xml_desc(snap, 0)
    assert "<state>running</state>" in xml and "<memory snapshot='internal'/>" in xml
    assert h.root.joinpath("lib/qemu/snapshot/sn1/s1.xml").exists()
    wait_marker(console, f"PYVIRT-COUNTER {at_snapshot + 2}")
    h.hv.domain_revert_to_snapshot(snap, 0)
    assert h.hv.domain_get_state(ref) == [S.RUNNING, n.RunningReason.FROM_SNAPSHOT]
    # the counter restarts from where the snapshot was taken
    wait_for(lambda: counters(console_text(console))[-1] <= at_snapshot + 1
             and counters(console_text(console)).count(at_snapshot + 1) >= 2, 10,
             "counter back at the snapshot")
    child = h.hv.domain_snapshot_create_xml(
        ref, "<domainsnapshot><name>s2</name></domainsnapshot>", 0)
    assert h.hv.domain_snapshot_get_parent(child, 0).name == "s1"
    assert h.hv.domain_snapshot_current(ref, 0).name == "s2"
    assert [s.name for s in h.hv.domain_list_all_snapshots(ref, 0)] == ["s1", "s2"]
    # a new driver instance finds the tree again
    qdriver.forget_state_for_tests(h.hv.drv.dirs)
    h.hv = open_hv(h.root)
    assert [s.name for s in h.hv.domain_list_all_snapshots(ref, 0)] == ["s1", "s2"]
    assert h.hv.domain_snapshot_current(ref, 0).name == "s2"
    h.hv.domain_snapshot_delete(snap, 0)
    assert [s.name for s in h.hv.domain_list_all_snapshots(ref, 0)] == ["s2"]
    assert h.hv.domain_snapshot_list_all_children(child, 0) == []
    with pytest.raises(libvirtError):
        h.hv.domain_snapshot_get_parent(child, 0)
    h.hv.domain_destroy(ref)
    info = subprocess.run(["qemu-img", "snapshot", "-l", str(disk)], capture_output=True,
                          text=True, check=True).stdout
    assert "s2" in info and "s1" not in info


def test_serial_console_stream(h: Harness) -> None:
    import pyvirt as libvirt

    qdriver.register()
    xml = guest_xml(h.guest, "con1", h.console("con1")).replace(
        f"<serial type='file'><source path='{h.console('con1')}'/></serial>",
        "<serial type='pty'/>")
    conn = libvirt.open(f"qemu:///embed?root={h.root}")
    try:
        dom = conn.createXML(xml, 0)
        live = dom.XMLDesc(0)
        assert re.search(r"<console type='pty' tty='/dev/pts/\d+'>", live)
        stream = conn.newStream(0)
        dom.openConsole(None, stream, 0)
        with pytest.raises(libvirt.libvirtError) as info:
            dom.openConsole(None, conn.newStream(0), 0)
        assert "Active console session" in info.value.get_error_message()
        seen = b""
        deadline = time.monotonic() + 30
        while b"PYVIRT-GUEST-READY" not in seen and time.monotonic() < deadline:
            seen += stream.recv(4096)
        assert b"PYVIRT-GUEST-READY" in seen
        stream.send(b"echo pyvirt-$((6*7))\n")
        while b"pyvirt-42" not in seen and time.monotonic() < deadline:
            seen += stream.recv(4096)
        assert b"pyvirt-42" in seen
        # FORCE takes the console over; the old stream is aborted
        taker = conn.newStream(0)
        dom.openConsole(None, taker, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        with pytest.raises(libvirt.libvirtError):
            while True:
                stream.recv(4096)
        dom.destroy()
        while taker.recv(4096):          # the guest's last words, then end of stream
            pass
    finally:
        conn.close()

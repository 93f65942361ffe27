"""The QEMU driver's later pieces with real QEMU (TCG) and the tiny guest:
shutdown through the guest agent, on_crash actions on a pvpanic
GUEST_PANICKED, vCPU hot-plug, the balloon, disk-only external snapshots.
Every QEMU started here is killed at the end, even when a test fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from pyvirt.errors import VIR_ERR_ARGUMENT_UNSUPPORTED, libvirtError
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import DomainEvent as E, DomainState as S, RunningReason
from test_qemu_driver import (  # noqa: F401  (guest is a fixture)
    QEMU, Harness, console_text, guest, wait_for, wait_marker,
)

pytestmark = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed")

SHUTDOWN_GUEST_AGENT = 2

SHUTOFF_SHUTDOWN = 1
XML_INACTIVE = 2
EVENT_ID_BALLOON_CHANGE = 13


def vm_xml(guest: dict, name: str, console: Path, devices: str = "", vcpu: str = "<vcpu>1</vcpu>",
           extra: str = "") -> str:
    return textwrap.dedent(f"""\
        <domain type='qemu'>
          <name>{name}</name>
          <memory unit='MiB'>128</memory>
          {vcpu}
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>{guest['kernel']}</kernel>
            <initrd>{guest['initrd']}</initrd>
            <cmdline>console=ttyS0 quiet</cmdline>
          </os>
          <features><acpi/></features>{extra}
          <devices>
            <serial type='file'><source path='{console}'/></serial>
            {devices}
          </devices>
        </domain>""")


AGENT = ("<channel type='unix'><source mode='bind'/>"
         "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>")
NO_BALLOON = "<memballoon model='none'/>"


@pytest.fixture
def h(guest):
    # a short root: the agent's socket path must stay under 108 bytes
    root = Path(tempfile.mkdtemp(prefix="pv-more-", dir="/tmp"))
    harness = Harness(root, guest)
    yield harness
    harness.cleanup()
    shutil.rmtree(root, ignore_errors=True)


def start(h: Harness, name: str, **kw):
    ref = h.hv.domain_define_xml_flags(vm_xml(h.guest, name, h.console(name), **kw), 0)
    return h.hv.domain_create_with_flags(ref, 0)


def shut_off(h: Harness, ref) -> bool:
    return h.hv.domain_get_state(ref, 0)[0] == S.SHUTOFF


# --- the guest agent ---------------------------------------------------------------------
def test_shutdown_through_the_guest_agent(h: Harness) -> None:
    ref = start(h, "ga", devices=AGENT + NO_BALLOON)
    wait_marker(h.console("ga"), "PYVIRT-AGENT-READY")
    h.hv.domain_shutdown_flags(ref, SHUTDOWN_GUEST_AGENT)
    wait_for(lambda: shut_off(h, ref), 20, "shut off")
    assert h.hv.domain_get_state(ref, 0) == [S.SHUTOFF, SHUTOFF_SHUTDOWN]
    assert "PYVIRT-AGENT-SHUTDOWN" in console_text(h.console("ga"))
    assert "PYVIRT-POWEROFF" not in console_text(h.console("ga"))   # not the ACPI button


def test_agent_mode_without_a_channel_is_refused(h: Harness) -> None:
    ref = start(h, "noga", devices=NO_BALLOON)
    wait_marker(h.console("noga"), "PYVIRT-GUEST-READY")
    with pytest.raises(libvirtError) as err:
        h.hv.domain_shutdown_flags(ref, SHUTDOWN_GUEST_AGENT)
    assert err.value.get_error_code() == VIR_ERR_ARGUMENT_UNSUPPORTED
    assert "QEMU guest agent is not configured" in str(err.value)
    assert h.hv.domain_get_state(ref, 0)[0] == S.RUNNING     # nothing was asked of it
    h.hv.domain_destroy(ref)


# --- vCPU hot-plug -----------------------------------------------------------------------
def test_vcpu_hotplug_seen_inside_the_guest(h: Harness) -> None:
    ref = start(h, "cpus", devices=NO_BALLOON, vcpu="<vcpu current='1'>2</vcpu>")
    wait_marker(h.console("cpus"), "PYVIRT-CPUS-ONLINE 0")
    assert h.hv.domain_get_vcpus_flags(ref, n.AFFECT_LIVE) == 1
    assert h.hv.domain_get_vcpus_flags(ref, n.AFFECT_LIVE | n.VCPU_MAXIMUM) == 2
    with pytest.raises(libvirtError) as err:
        h.hv.domain_set_vcpus_flags(ref, 3, n.AFFECT_LIVE)
    assert "greater than max allowable vcpus for the live domain: 3 > 2" in str(err.value)
    h.hv.domain_set_vcpus_flags(ref, 2, n.AFFECT_LIVE)
    wait_marker(h.console("cpus"), "PYVIRT-CPUS-ONLINE 0-1")
    assert h.hv.domain_get_vcpus_flags(ref, n.AFFECT_LIVE) == 2
    assert h.hv.domain_get_info(ref)[3] == 2
    assert "<vcpu placement='static'>2</vcpu>" in h.hv.domain_get_xml_desc(ref, 0)
    # the config is untouched by a live change
    assert h.hv.domain_get_vcpus_flags(ref, n.AFFECT_CONFIG) == 1
    h.hv.domain_set_vcpus_flags(ref, 2, n.AFFECT_CONFIG)
    assert h.hv.domain_get_vcpus_flags(ref, n.AFFECT_CONFIG) == 2
    with pytest.raises(libvirtError) as err:
        h.hv.domain_set_vcpus_flags(ref, 4, n.VCPU_MAXIMUM)   # current = live
    assert "maximum vcpu count of a live domain can't be modified" in str(err.value)


# --- the balloon -------------------------------------------------------------------------
def test_set_memory_through_the_balloon(h: Harness) -> None:
    changes: list[int] = []
    h.hv.connect_domain_event_register_any(
        EVENT_ID_BALLOON_CHANGE, None, lambda _id, _ref, actual: changes.append(actual))
    ref = start(h, "bal", devices="<memballoon model='virtio'/>")
    wait_marker(h.console("bal"), "PYVIRT-GUEST-READY")
    h.hv.domain_set_memory_flags(ref, 96 * 1024, n.AFFECT_LIVE)
    rt = h.hv.drv.runtimes[h.hv._dom(ref).uuid]
    wait_for(lambda: rt.monitor.execute("query-balloon")["actual"] == 96 << 20, 20,
             "the guest to give the memory back")
    wait_for(lambda: h.hv.domain_get_info(ref)[2] == 96 * 1024, 5, "info() to show it")
    assert h.hv.domain_get_info(ref)[1] == 128 * 1024
    assert dict(h.hv.domain_memory_stats(ref))["actual"] == 96 * 1024
    assert "<currentMemory unit='KiB'>98304</currentMemory>" in h.hv.domain_get_xml_desc(ref, 0)
    wait_for(lambda: changes and changes[-1] == 96 * 1024, 5, "BALLOON_CHANGE events")


# --- on_crash ------------------------------------------------------------------------------
def crash_guest(h: Harness, ref, log: Path) -> None:
    """Type the sysrq crash into the guest's serial shell through its pty. QEMU
    notices a pty opened on its far side within a second (before, input is not
    read), and its output must be drained meanwhile; the shell's prompt must be
    there first (earlier input is dropped)."""
    wait_marker(log, "pyvirt# ")
    live = h.hv.domain_get_xml_desc(ref, 0)
    tty = re.search(r"<serial type='pty'>\s*<source path='([^']+)'", live).group(1)
    fd = os.open(tty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        tries = 0
        while "Trigger a crash" not in console_text(log) and tries < 8:
            drain_until(fd, time.monotonic() + 1.2)
            os.write(fd, b"echo c > /proc/sysrq-trigger\n")
            tries += 1
            drain_until(fd, time.monotonic() + 0.5)
        assert "Trigger a crash" in console_text(log)
    finally:
        os.close(fd)


def drain_until(fd: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.05)
        except OSError:
            time.sleep(0.05)


def test_panic_with_on_crash_restart_boots_again(h: Harness) -> None:
    log = h.console("crash")
    got = []
    h.hv.connect_domain_event_register_any(
        n.EVENT_ID_LIFECYCLE, None, lambda _id, ref, ev, detail: got.append((ev, detail)))
    ref = h.hv.domain_define_xml_flags(vm_xml(
        h.guest, "crash", log, extra="\n  <on_crash>restart</on_crash>",
        devices=NO_BALLOON + "<panic model='isa'/>").replace(
        f"<serial type='file'><source path='{log}'/></serial>",
        f"<serial type='pty'><log file='{log}'/></serial>"), 0)
    ref = h.hv.domain_create_with_flags(ref, 0)
    wait_marker(log, "PYVIRT-GUEST-READY")
    got.clear()
    reboots = len(h.reboots)
    crash_guest(h, ref, log)
    wait_for(lambda: (E.RESUMED, n.RESUMED_UNPAUSED) in got, 20, "the restart")
    assert got == [(E.CRASHED, 0), (E.RESUMED, n.RESUMED_UNPAUSED)]
    assert h.hv.domain_get_state(ref, 0) == [S.RUNNING, RunningReason.CRASHED]
    assert len(h.reboots) > reboots                      # QEMU reset it
    wait_marker(log, "PYVIRT-GUEST-READY", count=2)      # and the guest boots again


# --- disk-only external snapshots -------------------------------------------------------
def test_disk_only_external_snapshot_live_and_offline(h: Harness) -> None:
    base = h.root / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            f"<source file='{base}'/><target dev='vda' bus='virtio'/></disk>")
    ref = start(h, "ext", devices=disk + NO_BALLOON)
    wait_marker(h.console("ext"), "PYVIRT-GUEST-READY")
    snap = h.hv.domain_snapshot_create_xml(
        ref, "<domainsnapshot><name>s1</name></domainsnapshot>", n.SNAPSHOT_CREATE_DISK_ONLY)
    overlay = h.root / "disk.s1"
    assert overlay.exists()
    info = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(overlay)],
                          capture_output=True, text=True, check=True).stdout
    assert str(base) in info
    live = h.hv.domain_get_xml_desc(ref, 0)
    assert f"<source file='{overlay}'" in live
    assert re.search(rf"<backingStore type='file'>\s*<format type='qcow2'/>\s*"
                     rf"<source file='{re.escape(str(base))}'/>", live)
    rt = h.hv.drv.runtimes[h.hv._dom(ref).uuid]
    top = next(b for b in rt.monitor.execute("query-block") if "virtio-disk0" in b["qdev"])
    assert top["inserted"]["file"] == str(overlay)
    assert top["inserted"]["image"]["backing-image"]["filename"] == str(base)
    sxml = h.hv.domain_snapshot_get_xml_desc(snap, 0)
    assert "<state>disk-snapshot</state>" in sxml and "<memory snapshot='no'/>" in sxml
    assert (f"<disk name='vda' snapshot='external' type='file'>\n      <driver type='qcow2'/>"
            f"\n      <source file='{overlay}'/>") in sxml
    assert [s.name for s in h.hv.domain_list_all_snapshots(ref, n.SNAPSHOT_LIST_EXTERNAL)] \
        == ["s1"]
    assert h.hv.domain_list_all_snapshots(ref, n.SNAPSHOT_LIST_INTERNAL) == []
    assert f"<source file='{overlay}'/>" in h.hv.domain_get_xml_desc(ref, XML_INACTIVE)
    # libvirt 9.0: no revert to an external snapshot, deletion only of the metadata
    with pytest.raises(libvirtError, match="revert to external snapshot not supported yet"):
        h.hv.domain_revert_to_snapshot(snap, 0)
    with pytest.raises(libvirtError, match="deletion of 1 external disk snapshots not "
                                           "supported yet"):
        h.hv.domain_snapshot_delete(snap, 0)
    # a second one, shut off: qemu-img makes the overlay on top of the first
    h.hv.domain_destroy(ref)
    snap2 = h.hv.domain_snapshot_create_xml(
        ref, "<domainsnapshot><name>s2</name></domainsnapshot>", n.SNAPSHOT_CREATE_DISK_ONLY)
    assert h.hv.domain_snapshot_get_parent(snap2, 0).name == "s1"
    assert f"<source file='{h.root / 'disk.s2'}'/>" in h.hv.domain_get_xml_desc(ref, 0)
    h.hv.domain_snapshot_delete(snap, n.SNAPSHOT_DELETE_METADATA_ONLY)
    assert [s.name for s in h.hv.domain_list_all_snapshots(ref, 0)] == ["s2"]
    assert overlay.exists()          # metadata only: the files stay
    ref = h.hv.domain_create_with_flags(ref, 0)     # QEMU opens the two-level chain
    rt = h.hv.drv.runtimes[h.hv._dom(ref).uuid]
    top = next(b for b in rt.monitor.execute("query-block") if "virtio-disk0" in b["qdev"])
    assert top["inserted"]["file"] == str(h.root / "disk.s2")
    assert top["inserted"]["image"]["backing-image"]["backing-image"]["filename"] == str(base)
    h.hv.domain_destroy(ref)

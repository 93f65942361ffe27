"""The QEMU driver's guest agent link, vCPU plan, panic device and external
snapshot helpers, without QEMU (a fake agent on a unix socket, stub runtimes)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree

from pyvirt.conf.domain import DomainDef
from pyvirt.conf.snapshot import DomainSnapshotDef
from pyvirt.drivers.qemu import agent, external_snapshot, lifecycle, vcpus
from pyvirt.drivers.qemu.command import QemuCaps, build_argv
from pyvirt.drivers.qemu.paths import RunPaths
from pyvirt.errors import (
    VIR_ERR_AGENT_UNRESPONSIVE, VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_CONFIG_UNSUPPORTED,
    VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_UNSUPPORTED, libvirtError,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import DomainEvent as E, DomainState as S, ShutoffReason

DOMAIN = """<domain type='qemu'><name>x</name><memory unit='MiB'>128</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os>{extra}<devices>{devices}</devices></domain>"""
AGENT_UNIX = ("<channel type='unix'><source mode='bind'{path}/>"
              "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>")


def ddef(devices: str = "", extra: str = "") -> DomainDef:
    return DomainDef.from_xml(DOMAIN.format(devices=devices, extra=extra))


# --- agent ---------------------------------------------------------------------------------
def test_agent_channel_path_default_given_and_absent():
    assert agent.channel_path(ddef(AGENT_UNIX.format(path="")), "/run/d") == \
        "/run/d/org.qemu.guest_agent.0.sock"
    assert agent.channel_path(ddef(AGENT_UNIX.format(path=" path='/s/ga'")), "/run/d") == "/s/ga"
    assert agent.channel_path(ddef(), "/run/d") is None
    other = "<channel type='unix'><target type='virtio' name='org.example'/></channel>"
    assert agent.channel_path(ddef(other), "/run/d") is None


def test_not_configured_is_libvirts_error():
    err = agent.not_configured()
    assert err.get_error_code() == VIR_ERR_ARGUMENT_UNSUPPORTED
    assert str(err) == "argument unsupported: QEMU guest agent is not configured"


def test_parse_replies_skips_garbage_and_keeps_the_partial_line():
    replies, rest = agent.parse_replies(b'\xff{"return": 5}\nnoise\n{"return": {}}\n{"ret')
    assert replies == [{"return": 5}, {"return": {}}]
    assert rest == b'{"ret'


class FakeAgent:
    """A guest agent on a unix socket: answers guest-sync (after a stale reply),
    guest-ping; records guest-shutdown and hangs up (as a guest powering off)."""

    def __init__(self, path: Path, silent: bool = False) -> None:
        self.path, self.silent, self.seen = path, silent, []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            buf = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    msg = json.loads(line)
                    self.seen.append(msg)
                    if self.silent:
                        continue
                    if msg["execute"] == "guest-sync":
                        conn.sendall(b'{"return": 1}\n')     # stale: must be skipped
                        conn.sendall(json.dumps({"return": msg["arguments"]["id"]}).encode()
                                     + b"\n")
                    elif msg["execute"] == "guest-ping":
                        conn.sendall(b'{"return": {}}\n')
                    elif msg["execute"] == "guest-shutdown":
                        return


def test_agent_shutdown_syncs_then_asks(tmp_path):
    fake = FakeAgent(tmp_path / "ga")
    agent.shutdown(str(tmp_path / "ga"), "reboot")
    fake.thread.join(5)
    assert [m["execute"] for m in fake.seen] == ["guest-sync", "guest-shutdown"]
    assert fake.seen[1]["arguments"] == {"mode": "reboot"}


def test_agent_ping(tmp_path):
    fake = FakeAgent(tmp_path / "ga")
    agent.ping(str(tmp_path / "ga"))
    assert [m["execute"] for m in fake.seen] == ["guest-sync", "guest-ping"]


def test_a_silent_agent_is_unresponsive(tmp_path, monkeypatch):
    monkeypatch.setattr(agent, "SYNC_TIMEOUT_S", 0.2)
    FakeAgent(tmp_path / "ga", silent=True)
    with pytest.raises(libvirtError) as err:
        with agent.AgentLink(str(tmp_path / "ga"), timeout=0.2) as link:
            link.sync()
    assert err.value.get_error_code() == VIR_ERR_AGENT_UNRESPONSIVE


def test_no_socket_is_not_connected(tmp_path):
    with pytest.raises(libvirtError) as err:
        agent.ping(str(tmp_path / "nothing"))
    assert "QEMU guest agent is not connected" in str(err.value)


# --- vCPUs ---------------------------------------------------------------------------------
def slot(socket_id: int, plugged: str | None) -> dict:
    out = {"type": "qemu64-x86_64-cpu", "vcpus-count": 1,
           "props": {"socket-id": socket_id, "core-id": 0, "thread-id": 0}}
    if plugged:
        out["qom-path"] = plugged
    return out


def test_plan_plugs_free_slots_lowest_first():
    slots = [slot(2, None), slot(0, "/machine/unattached/device[0]"), slot(1, None)]
    plug, unplug = vcpus.plan(slots, 2)
    assert [s["props"]["socket-id"] for s in plug] == [1] and unplug == []
    assert vcpus.cpu_index(plug[0], slots) == 1


def test_plan_unplugs_only_our_cpus_newest_first():
    slots = [slot(0, "/machine/unattached/device[0]"), slot(1, "/machine/peripheral/vcpu1"),
             slot(2, "/machine/peripheral/vcpu2")]
    assert vcpus.plan(slots, 2) == ([], ["vcpu2"])
    boot_cpus = [slot(0, "/machine/unattached/device[0]"),
                 slot(1, "/machine/unattached/device[1]")]
    with pytest.raises(libvirtError) as err:
        vcpus.plan(boot_cpus, 1)
    assert err.value.get_error_code() == VIR_ERR_OPERATION_UNSUPPORTED


def test_vcpu_request_checks_are_libvirts():
    with pytest.raises(libvirtError, match="must not be zero"):
        vcpus.check_request(0, 0)
    with pytest.raises(libvirtError) as err:
        vcpus.check_request(2, n.VCPU_MAXIMUM | n.AFFECT_LIVE)
    assert err.value.get_error_code() == VIR_ERR_INVALID_ARG
    dom = ddef(extra="<vcpu current='1'>2</vcpu>")
    with pytest.raises(libvirtError, match="for the live domain: 3 > 2"):
        vcpus.check_limit(dom, 3)


def test_vcpu_current_attribute_as_libvirt_writes_it():
    dom = ddef(extra="<vcpu current='1'>2</vcpu>")
    vcpus.set_current(dom, 2)
    assert dom.node.find("vcpu").get("current") is None and vcpus.current_vcpus(dom) == 2
    vcpus.set_maximum(dom, 4)
    assert (vcpus.max_vcpus(dom), vcpus.current_vcpus(dom)) == (4, 2)
    vcpus.set_maximum(dom, 1)
    assert (vcpus.max_vcpus(dom), vcpus.current_vcpus(dom)) == (1, 1)


# --- panic ---------------------------------------------------------------------------------
def argv_of(dom: DomainDef) -> list[str]:
    return build_argv(dom, QemuCaps(), RunPaths.under("/run/x"))


def test_panic_device_on_the_command_line():
    argv = argv_of(ddef("<panic model='isa'><address type='isa' iobase='0x505'/></panic>"))
    assert '{"driver":"pvpanic","ioport":1285}' in argv
    assert '{"driver":"pvpanic"}' in argv_of(ddef("<panic/>"))


@pytest.mark.parametrize("extra, devices, words", [
    ("<on_crash>coredump-destroy</on_crash>", "", "on_crash action 'coredump-destroy'"),
    ("", "<panic model='hyperv'/>", "panic model 'hyperv'"),
])
def test_what_the_panic_support_refuses(extra, devices, words):
    with pytest.raises(libvirtError) as err:
        argv_of(ddef(devices, extra))
    assert err.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert words in str(err.value)


class StubRuntime:
    def __init__(self) -> None:
        self.stop_reason = self.stop_detail = None
        self.finished, self.commands, self.signals = False, [], []
        self.monitor = SimpleNamespace(execute=lambda cmd, args=None: self.commands.append(cmd))

    def kill(self, sig) -> None:
        self.signals.append(sig)


def panic_with(action: str):
    dom_def = ddef(extra=f"<on_crash>{action}</on_crash>")
    dom = SimpleNamespace(uuid=b"u", name="x", live_def=dom_def, state=S.RUNNING, reason=1)
    dom.set_state = lambda state, reason: (setattr(dom, "state", state),
                                           setattr(dom, "reason", reason))
    events = []
    rt = StubRuntime()
    # no registered runtime: save_status writes nothing
    drv = SimpleNamespace(runtimes={}, ref=lambda d: d.name,
                          events=SimpleNamespace(queue=lambda *a: events.append(a[2:])))
    lifecycle._on_panic(drv, dom, rt, {"action": "pause"})
    return dom, rt, events


def test_panic_destroy_stops_with_crashed():
    dom, rt, events = panic_with("destroy")
    assert events == [(E.CRASHED, 0)] and (dom.state, dom.reason) == (S.CRASHED, 1)
    assert rt.stop_reason == ShutoffReason.CRASHED and rt.stop_detail == n.STOPPED_CRASHED
    assert rt.signals


def test_panic_restart_resets_and_runs_again():
    dom, rt, events = panic_with("restart")
    assert rt.commands == ["system_reset", "cont"]
    assert events == [(E.CRASHED, 0), (E.RESUMED, n.RESUMED_UNPAUSED)]
    assert (dom.state, dom.reason) == (S.RUNNING, n.RunningReason.CRASHED)


def test_panic_preserve_leaves_it_crashed():
    dom, rt, events = panic_with("preserve")
    assert rt.commands == [] and rt.signals == [] and dom.state == S.CRASHED


# --- external snapshots --------------------------------------------------------------------
def test_default_overlay_names_are_libvirts():
    assert external_snapshot.default_overlay_path("/v/disk.qcow2", "s1") == "/v/disk.s1"
    assert external_snapshot.default_overlay_path("/v/disk", "s1") == "/v/disk.s1"
    assert external_snapshot.default_overlay_path("/v.d/disk", "s1") == "/v.d/disk.s1"


DISKS = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
         "<source file='/v/a.img'/><target dev='vda' bus='virtio'/></disk>"
         "<disk type='file' device='cdrom'><source file='/v/c.iso'/>"
         "<target dev='hdc' bus='ide'/><readonly/></disk>")


def test_plan_disks_overlays_writable_disks_and_skips_cdroms():
    dom = ddef(DISKS)
    sdef = DomainSnapshotDef.from_xml("<domainsnapshot><name>s</name></domainsnapshot>")
    sdef.normalize(1, domain=dom, state="disk-snapshot", default_disk_mode="external")
    todo = external_snapshot.plan_disks(sdef, dom)
    assert [(d.find("target").get("dev"), s.source_file) for d, s in todo] == \
        [("vda", "/v/a.s")]
    modes = {d.name: d.snapshot for d in sdef.disks}
    assert modes == {"vda": "external", "hdc": "no"}
    assert "<disk name='vda' snapshot='external' type='file'>" in sdef.to_xml()


def test_plan_disks_refuses_internal_in_a_disk_only_snapshot():
    dom = ddef(DISKS)
    sdef = DomainSnapshotDef.from_xml("<domainsnapshot><disks><disk name='vda' "
                                      "snapshot='internal'/></disks></domainsnapshot>")
    sdef.normalize(1, domain=dom, state="disk-snapshot", default_disk_mode="external")
    with pytest.raises(libvirtError) as err:
        external_snapshot.plan_disks(sdef, dom)
    assert err.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED


def test_record_chain_puts_the_old_image_under_the_overlay():
    disk = etree.fromstring(
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='/v/a.img'/><target dev='vda' bus='virtio'/></disk>")
    external_snapshot.record_chain(disk, "/v/a.s1", "/v/a.img", "raw", with_backing=True)
    external_snapshot.record_chain(disk, "/v/a.s2", "/v/a.s1", "qcow2", with_backing=True)
    assert disk.find("driver").get("type") == "qcow2"
    assert disk.find("source").get("file") == "/v/a.s2"
    chain = [(s.find("format").get("type"), s.find("source").get("file"))
             for s in disk.iter("backingStore") if s.find("source") is not None]
    assert chain == [("qcow2", "/v/a.s1"), ("raw", "/v/a.img")]
    assert [c.tag for c in disk] == ["driver", "source", "backingStore", "target"]


def test_refusals_match_libvirt_9_0():
    assert str(external_snapshot.refuse_revert()) == \
        "Operation not supported: revert to external snapshot not supported yet"
    assert str(external_snapshot.refuse_delete(2)) == \
        "unsupported configuration: deletion of 2 external disk snapshots not supported yet"


# --- agent or ACPI: libvirt's choice -------------------------------------------------------
@pytest.mark.parametrize("flags, channel, agent_fails, expect", [
    (0, True, False, "agent"),
    (0, False, False, "acpi"),
    (0, True, True, "acpi"),          # no flag: an agent failure falls back to ACPI
    (1, True, False, "acpi"),         # ACPI_POWER_BTN alone
    (3, True, True, "acpi"),          # both: agent first, then ACPI
    (2, True, True, "error"),         # GUEST_AGENT alone: its failure is the answer
    (2, False, False, "not configured"),
])
def test_shutdown_mode_choice(monkeypatch, flags, channel, agent_fails, expect):
    asked = []

    def fake_shutdown(path, mode):
        asked.append((path, mode))
        if agent_fails:
            raise libvirtError("agent gone")
    monkeypatch.setattr(agent, "shutdown", fake_shutdown)
    live = ddef(AGENT_UNIX.format(path=" path='/s/ga'") if channel else "")
    dom = SimpleNamespace(name="x", live_def=live)
    drv = SimpleNamespace(dirs=SimpleNamespace(run=Path("/run/q")))
    if expect in ("error", "not configured"):
        with pytest.raises(libvirtError) as err:
            lifecycle._through_agent(drv, dom, flags, "powerdown")
        if expect == "not configured":
            assert err.value.get_error_code() == VIR_ERR_ARGUMENT_UNSUPPORTED
        return
    took = lifecycle._through_agent(drv, dom, flags, "powerdown")
    assert took == (expect == "agent")
    if expect == "agent":
        assert asked == [("/s/ga", "powerdown")]

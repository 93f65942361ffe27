"""Reattach on driver start, against a scripted QMP peer and stand-in processes:
alive → active again and controllable; dead → shut off; corrupt → logged, others kept."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pyvirt import uri as urimod
from pyvirt.drivers.qemu import driver as qdriver, state_dir
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import DomainState

UUIDS = {"alive": "0d9e1b0c-0000-4000-8000-000000000001",
         "dead": "0d9e1b0c-0000-4000-8000-000000000002",
         "gone": "0d9e1b0c-0000-4000-8000-000000000003"}


def live_xml(name: str) -> str:
    return (f"<domain type='qemu'><name>{name}</name><uuid>{UUIDS[name]}</uuid>"
            "<memory unit='KiB'>131072</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64'>hvm</type></os><devices/></domain>")


class FakeQmp:
    """A QMP peer that answers the commands reattach and destroy send, nothing else."""

    ANSWERS = {"qmp_capabilities": {}, "query-status": {"status": "paused", "running": False}}

    def __init__(self, path: str) -> None:
        self.path = path
        self.seen: list[str] = []
        self.unexpected: list[str] = []
        self._srv = socket.socket(socket.AF_UNIX)
        self._srv.bind(path)
        self._srv.listen(1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self._srv.accept()
        except OSError:
            return
        with conn:
            send = lambda obj: conn.sendall(json.dumps(obj).encode() + b"\r\n")  # noqa: E731
            send({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0},
                                      "package": ""}, "capabilities": []}})
            decoder, buffer = json.JSONDecoder(), ""
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk.decode()
                while buffer.strip():
                    try:
                        msg, end = decoder.raw_decode(buffer.lstrip())
                    except ValueError:
                        break
                    buffer = buffer.lstrip()[end:]
                    cmd = msg["execute"]
                    self.seen.append(cmd)
                    if cmd not in self.ANSWERS:
                        self.unexpected.append(cmd)
                        reply = {"error": {"class": "CommandNotFound", "desc": cmd}}
                    else:
                        reply = {"return": self.ANSWERS[cmd]}
                    if "id" in msg:
                        reply["id"] = msg["id"]
                    try:
                        send(reply)
                    except OSError:
                        return

    def close(self) -> None:
        self._srv.close()


@pytest.fixture
def stand_in():
    """A live process standing in for QEMU (killed and reaped at the end)."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def write_status(dirs: state_dir.StateDirs, name: str, pid: int, start: int,
                 monitor: str, state: str = "paused", reason: str = "user") -> None:
    state_dir.save_status(dirs, state_dir.StatusRecord(
        name=name, state=state, reason=reason, pid=pid, pid_start=start, monitor=monitor,
        dom_id=7 if name == "alive" else 3, live_xml=live_xml(name)))


def open_hv(root: Path):
    return QemuDriver().open(urimod.parse(f"qemu:///embed?root={root}"), 0, False).hypervisor


def test_reattach_alive_dead_and_corrupt(tmp_path: Path, stand_in, caplog) -> None:
    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    # "dead" is persistent (has a config); "gone" is transient; both processes exited
    state_dir.save_config(dirs, "dead", live_xml("dead"))
    finished = subprocess.Popen(["true"])
    finished.wait()
    write_status(dirs, "dead", finished.pid, 1, str(dirs.monitor_path("dead")))
    write_status(dirs, "gone", finished.pid, 1, str(dirs.monitor_path("gone")))
    dirs.status_path("mangled").write_text("<domstatus state='running'><oops")
    qmp = FakeQmp(str(dirs.monitor_path("alive")))
    write_status(dirs, "alive", stand_in.pid, state_dir.process_start_time(stand_in.pid),
                 qmp.path)
    try:
        with caplog.at_level(logging.ERROR, logger="pyvirt.drivers.qemu.reattach"):
            hv = open_hv(tmp_path)
        assert any("corrupt status file" in r.getMessage() and "mangled.xml" in r.getMessage()
                   for r in caplog.records)
        names = {r.name: r for r in hv.connect_list_all_domains(0)}
        assert sorted(names) == ["alive", "dead"]
        alive = names["alive"]
        assert alive.id == 7
        assert hv.domain_get_state(alive) == [DomainState.PAUSED, n.PausedReason.USER]
        assert hv.domain_get_state(names["dead"])[0] == DomainState.SHUTOFF
        assert not dirs.status_path("dead").exists()
        assert not dirs.status_path("gone").exists()
        assert dirs.status_path("mangled").exists()          # kept for inspection
        assert qmp.seen == ["qmp_capabilities", "query-status"] and not qmp.unexpected
        # the reattached process is under control: destroy ends it at once
        started = time.monotonic()
        hv.domain_destroy(alive)
        assert stand_in.wait(5) is not None
        assert time.monotonic() - started < 5
        assert hv.connect_list_all_domains(n.LIST_DOMAINS_ACTIVE) == []
        assert not dirs.status_path("alive").exists()
        # ids continue after the highest reattached one
        assert hv.drv.domains.next_id() > 7
    finally:
        qmp.close()
        qdriver.forget_state_for_tests(dirs)


def test_reattach_to_a_recycled_pid_is_refused(tmp_path: Path, stand_in) -> None:
    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    state_dir.save_config(dirs, "dead", live_xml("dead"))
    start = state_dir.process_start_time(stand_in.pid)
    write_status(dirs, "dead", stand_in.pid, start + 1, str(dirs.monitor_path("dead")))
    hv = open_hv(tmp_path)
    try:
        ref = hv.domain_lookup_by_name("dead")
        assert hv.domain_get_state(ref)[0] == DomainState.SHUTOFF
        assert stand_in.poll() is None              # a stranger's process is left alone
    finally:
        qdriver.forget_state_for_tests(dirs)


def test_a_guest_that_powered_off_while_nobody_watched_is_shut_down(tmp_path: Path,
                                                                    stand_in) -> None:
    """QEMU reports run state ``shutdown`` (``-no-shutdown`` kept it): on_poweroff
    (destroy) applies at once; the domain ends shut off, reason shutdown."""
    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    state_dir.save_config(dirs, "alive", live_xml("alive"))
    qmp = FakeQmp(str(dirs.monitor_path("alive")))
    qmp.ANSWERS = {**FakeQmp.ANSWERS, "query-status": {"status": "shutdown", "running": False}}
    write_status(dirs, "alive", stand_in.pid, state_dir.process_start_time(stand_in.pid),
                 qmp.path, state="running", reason="booted")
    try:
        hv = open_hv(tmp_path)
        assert stand_in.wait(5) is not None                     # SIGTERM from on_poweroff
        ref = hv.domain_lookup_by_name("alive")
        deadline = time.monotonic() + 5
        while hv.domain_get_state(ref)[0] != DomainState.SHUTOFF and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hv.domain_get_state(ref) == [DomainState.SHUTOFF, n.ShutoffReason.SHUTDOWN]
        assert not dirs.status_path("alive").exists()
    finally:
        qmp.close()
        qdriver.forget_state_for_tests(dirs)


def test_a_start_cut_short_is_found_by_the_monitor_socket_it_holds(tmp_path):
    """A status written before the spawn has pid 0: the QEMU is the process that holds
    the monitor socket bound at the recorded path (its inode in /proc/net/unix)."""
    import socket
    import subprocess

    from pyvirt.drivers.qemu.reattach import _kill, _unconfirmed_qemus

    path = str(tmp_path / "vm.monitor")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    child = subprocess.Popen(["sleep", "60"], pass_fds=(listener.fileno(),))
    try:
        assert _unconfirmed_qemus(path) == [child.pid]       # never ourselves
        assert _unconfirmed_qemus(str(tmp_path / "other.monitor")) == []
        _kill(child.pid)
        assert child.wait(5) == -9
    finally:
        listener.close()
        if child.poll() is None:
            child.kill()
            child.wait()

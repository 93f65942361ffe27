"""The QMP monitor against a scripted fake QMP server."""

from __future__ import annotations

import threading

import pytest
from fake_qmp import FakeQMPServer, Step, event

from pyvirt.drivers.qemu.monitor import Monitor, MonitorState
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, libvirtError


@pytest.fixture
def sock(tmp_path):
    return str(tmp_path / "qmp.sock")


def test_execute_returns_the_reply_and_sends_the_arguments(sock):
    server = FakeQMPServer(sock, [
        Step("query-status", {"status": "paused", "running": False}),
        Step("cont", args={}),
        Step("device_del", args={"id": "disk1"}),
    ])
    mon = Monitor.open(sock, "vm1", timeout=5)
    assert mon.state is MonitorState.READY
    assert mon.greeting["QMP"]["version"]["qemu"]["major"] == 7
    assert mon.execute("query-status") == {"status": "paused", "running": False}
    assert mon.execute("cont") == {}
    mon.execute("device_del", {"id": "disk1"})
    mon.close()
    server.join()
    assert server.unexpected == []
    assert [m["execute"] for m in server.received] == [
        "qmp_capabilities", "query-status", "cont", "device_del"]


def test_a_rejected_command_is_libvirts_internal_error_with_qemus_text(sock):
    server = FakeQMPServer(sock, [
        Step("device_del", error=("DeviceNotFound", "Device 'nope' not found")),
    ])
    mon = Monitor.open(sock, "vm1", timeout=5)
    with pytest.raises(libvirtError) as exc:
        mon.execute("device_del", {"id": "nope"})
    assert exc.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert exc.value.get_error_domain() == VIR_FROM_QEMU
    assert str(exc.value) == ("internal error: unable to execute QEMU command "
                              "'device_del': Device 'nope' not found")
    assert exc.value.qmp_class == "DeviceNotFound"
    mon.close()
    server.join()
    assert server.unexpected == []


def test_events_reach_the_callbacks_that_asked_for_them(sock):
    server = FakeQMPServer(sock, [
        Step("stop", events=[event("STOP")]),
        Step("cont", events=[event("RESUME")]),
        Step("device_del", events=[event("DEVICE_DELETED", {"device": "disk1",
                                                              "path": "/machine/peripheral/disk1"})]),
        Step("query-status", {"status": "running"}),
    ])
    seen_all: list[tuple] = []
    seen_deleted: list[tuple] = []
    mon = Monitor.open(sock, "vm1", timeout=5)
    mon.add_event_callback(lambda n, d, t: seen_all.append((n, d, t)))
    sub = mon.add_event_callback(lambda n, d, t: seen_deleted.append((n, d)), "DEVICE_DELETED")
    mon.execute("stop")
    mon.execute("cont")
    mon.execute("device_del", {"id": "disk1"})
    mon.execute("query-status")      # the events above were read before this reply
    mon.remove_event_callback(sub)
    assert [e[0] for e in seen_all] == ["STOP", "RESUME", "DEVICE_DELETED"]
    assert seen_all[0][2] == pytest.approx(1700000000.25)
    assert seen_deleted == [("DEVICE_DELETED", {"device": "disk1",
                                                "path": "/machine/peripheral/disk1"})]
    mon.close()
    server.join()
    assert server.unexpected == []


def test_shutdown_then_hangup_is_an_expected_end_of_file(sock):
    server = FakeQMPServer(sock, [
        Step("system_powerdown", events=[event("POWERDOWN"),
                                         event("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})],
             hangup=True),
    ])
    events: list[str] = []
    ended = threading.Event()
    causes: list = []
    mon = Monitor.open(sock, "vm1", timeout=5)
    mon.add_event_callback(lambda n, d, t: events.append(n), ["SHUTDOWN", "POWERDOWN"])
    mon.add_eof_callback(lambda cause: (causes.append(cause), ended.set()))
    mon.execute("system_powerdown")
    assert ended.wait(5)
    assert events == ["POWERDOWN", "SHUTDOWN"]
    assert causes == [None]
    assert mon.state is MonitorState.CLOSED
    with pytest.raises(libvirtError) as exc:
        mon.execute("query-status")
    assert exc.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert str(exc.value) == "internal error: End of file from qemu monitor (vm='vm1')"
    mon.close()   # closing a closed monitor is a no-op
    assert server.unexpected == []


def test_quit_is_answered_even_when_qemu_hangs_up_first(sock):
    server = FakeQMPServer(sock, [Step("quit", no_reply=True, hangup=True)])
    causes: list = []
    ended = threading.Event()
    mon = Monitor.open(sock, "vm1", timeout=5)
    mon.add_eof_callback(lambda cause: (causes.append(cause), ended.set()))
    assert mon.execute("quit") == {}
    assert ended.wait(5)
    assert causes == [None]
    assert server.unexpected == []


def test_an_unexpected_hangup_reports_its_cause_and_fails_the_pending_command(sock):
    server = FakeQMPServer(sock, [Step("query-status", no_reply=True, hangup=True)])
    causes: list = []
    ended = threading.Event()
    mon = Monitor.open(sock, "vm1", timeout=5)
    mon.add_eof_callback(lambda cause: (causes.append(cause), ended.set()))
    with pytest.raises(libvirtError) as exc:
        mon.execute("query-status")
    assert "End of file from qemu monitor" in str(exc.value)
    assert ended.wait(5)
    assert isinstance(causes[0], BaseException)
    assert server.unexpected == []


def test_connecting_to_a_missing_socket_names_it(sock):
    with pytest.raises(libvirtError) as exc:
        Monitor.open(sock, "vm1", timeout=2)
    assert exc.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert f"failed to connect to monitor socket {sock}" in str(exc.value)


def test_the_fake_server_fails_an_unexpected_command(sock):
    server = FakeQMPServer(sock, [Step("cont")])
    mon = Monitor.open(sock, "vm1", timeout=5)
    with pytest.raises(libvirtError):
        mon.execute("stop")
    mon.close()
    server.join()
    assert [m["execute"] for m in server.unexpected] == ["stop"]


def test_close_racing_a_hangup_disconnects_once(tmp_path):
    # QEMU going away while we close (destroy): the EOF watcher and close() both
    # want to disconnect; exactly one does, and neither raises.
    for n in range(20):
        sock = str(tmp_path / f"qmp{n}.sock")
        server = FakeQMPServer(sock, [Step("stop", no_reply=True, hangup=True)])
        causes: list = []
        mon = Monitor.open(sock, "vm1", timeout=5)
        mon.add_eof_callback(causes.append)
        with pytest.raises(libvirtError):
            mon.execute("stop")
        mon.close()
        assert mon.state is MonitorState.CLOSED
        assert len(causes) == 1
        server.join()


def test_a_descriptor_is_passed_with_getfd(sock, tmp_path):
    """``pass_fd`` sends the fd by SCM_RIGHTS, then ``getfd`` names it (a save's file)."""
    import os

    server = FakeQMPServer(sock, [Step("getfd", args={"fdname": "migrate"})])
    mon = Monitor.open(sock, "vm1", timeout=5)
    target = tmp_path / "image"
    target.write_bytes(b"")
    fd = os.open(target, os.O_WRONLY)
    try:
        mon.pass_fd("migrate", fd)
    finally:
        os.close(fd)
    mon.close()
    server.join()
    assert server.unexpected == []
    assert len(server.fds) == 1
    assert os.fstat(server.fds[0]).st_ino == target.stat().st_ino
    os.close(server.fds[0])

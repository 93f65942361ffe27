"""QemuProcess against a stand-in QEMU (fake_qemu.py): the launch template and stop paths."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.paths import RunPaths
from pyvirt.drivers.qemu.process import QemuProcess, read_log_tail
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_INVALID, libvirtError

FAKE = str(Path(__file__).with_name("fake_qemu.py"))


def fake(mode: str, *extra: str):
    def build(paths: RunPaths) -> list[str]:
        return [sys.executable, FAKE, mode, str(paths.monitor_fd), *extra]
    return build


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_start_runs_the_template_and_shutdown_sees_the_exit(tmp_path):
    proc = QemuProcess("vm1", fake("ok"), str(tmp_path / "run"), monitor_timeout=10)
    events: list[str] = []
    proc.start()
    proc.monitor.add_event_callback(lambda n, d, t: events.append(n), ["POWERDOWN", "SHUTDOWN"])
    assert proc.running
    assert proc.monitor.execute("query-status")["status"] == "running"
    log = (tmp_path / "run" / "qemu.log").read_text()
    assert "starting up pyvirt (domain vm1)" in log and FAKE in log
    assert proc.shutdown(timeout=10)
    assert proc.returncode == 0 and not proc.running
    assert events == ["POWERDOWN", "SHUTDOWN"]
    assert gone(proc.pid)
    assert not (tmp_path / "run" / "monitor.sock").exists()


def test_shutdown_under_no_shutdown_quits_qemu_after_the_guest_is_off(tmp_path):
    proc = QemuProcess("vm1", fake("stays", "-no-shutdown"), str(tmp_path / "run"))
    proc.start()
    assert proc.shutdown(timeout=10)
    assert proc.returncode == 0 and gone(proc.pid)


def test_shutdown_reports_a_guest_that_ignores_the_button(tmp_path):
    proc = QemuProcess("vm1", fake("deaf"), str(tmp_path / "run"))
    proc.start()
    assert proc.shutdown(timeout=0.3) is False
    assert proc.running                  # still there: the caller decides to destroy
    proc.destroy(grace=5)
    assert gone(proc.pid)


def test_start_paused_stays_paused(tmp_path):
    with QemuProcess("vm1", fake("ok"), str(tmp_path / "run")) as proc:
        proc.start(paused=True)
        assert proc.monitor.execute("query-status")["status"] == "prelaunch"
    assert gone(proc.pid)


def test_a_process_that_dies_at_once_reports_its_words_and_command_line(tmp_path):
    proc = QemuProcess("vm1", fake("die"), str(tmp_path / "run"), monitor_timeout=10)
    with pytest.raises(libvirtError) as exc:
        proc.start()
    err = exc.value
    assert err.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert str(err).startswith("internal error: process exited while connecting to monitor: "
                               "qemu-system-x86_64: -device bogus: 'bogus' is not a valid "
                               "device model name\ncommand line: ")
    assert err.argv[:3] == [sys.executable, FAKE, "die"]
    assert proc.returncode == 1 and gone(proc.pid)
    assert not (tmp_path / "run" / "monitor.sock").exists()


def test_a_silent_monitor_times_out_and_the_process_is_killed(tmp_path):
    proc = QemuProcess("vm1", fake("mute"), str(tmp_path / "run"), monitor_timeout=0.5)
    with pytest.raises(libvirtError) as exc:
        proc.start()
    assert "no QMP greeting within 0.5 s" in str(exc.value)
    assert gone(proc.pid) and not proc.running


def test_destroy_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path):
    proc = QemuProcess("vm1", fake("stubborn"), str(tmp_path / "run"))
    proc.start()
    exited = threading.Event()
    proc.add_exit_callback(lambda code: exited.set())
    assert proc.destroy(grace=0.3) == -9
    assert exited.is_set() and gone(proc.pid)


def test_shutdown_of_a_stopped_process_is_refused(tmp_path):
    proc = QemuProcess("vm1", fake("ok"), str(tmp_path / "run"))
    proc.start()
    proc.destroy(grace=5)
    with pytest.raises(libvirtError) as exc:
        proc.shutdown()
    assert exc.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    with pytest.raises(libvirtError):
        proc.start()             # not reusable


def test_an_exit_callback_added_after_the_exit_runs_at_once(tmp_path):
    proc = QemuProcess("vm1", fake("ok"), str(tmp_path / "run"))
    proc.start()
    proc.destroy()
    codes: list[int] = []
    proc.add_exit_callback(codes.append)
    assert codes == [proc.returncode]


def test_read_log_tail_keeps_the_last_bytes_after_an_offset(tmp_path):
    log = tmp_path / "qemu.log"
    log.write_text("header\n" + "x" * 100 + "\nlast words\n")
    assert read_log_tail(str(log), offset=7, limit=11) == "last words"
    assert read_log_tail(str(log), offset=len("header\n"), limit=10_000).startswith("xxx")
    assert read_log_tail(str(tmp_path / "missing")) == ""


def test_a_failing_preexec_step_is_reported_and_nothing_is_left(tmp_path):
    proc = QemuProcess("vm1", fake("ok"), str(tmp_path / "run"), monitor_timeout=10)

    def refuse() -> None:
        raise OSError(1, "mount namespace: Operation not permitted")
    proc.preexec = refuse
    with pytest.raises(libvirtError) as exc:
        proc.start()
    assert exc.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert "cannot set up the QEMU process" in exc.value.get_error_message()
    assert not proc.running
    assert not (tmp_path / "run" / "monitor.sock").exists()

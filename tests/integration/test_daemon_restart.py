"""Restarting pyvirtd while guests run loses none.

pyvirtd serves ``qemu:///system`` (state under a test root) as a process of its
own; two tiny TCG guests run. The daemon is stopped with SIGTERM — the QEMUs
keep running (same pids, same start times) — and started again: the real
``virsh`` lists both with the same ids, UUIDs and states (one paused), the
console still reaches the guest's shell, and a graceful shutdown is carried
out and noticed (shut off, reason shutdown, QEMU gone, status file removed).
Then the same after ``kill -9`` of the daemon, the shutdown made through the
real libvirt-python, which receives its lifecycle events (shutdown, stopped).

While no daemon runs, a guest that powers off is found shut off (shutdown) by
the next one, as libvirt finishes it; a QEMU killed meanwhile shows shut off
(crashed), libvirt's reason for a lost ``-no-shutdown`` QEMU, and a transient
domain with it is gone; a start that never ended is killed (shut off, daemon).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirt.constants import (
    VIR_DOMAIN_EVENT_SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN_GUEST, VIR_DOMAIN_EVENT_STOPPED,
    VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
)
from pyvirt.drivers.qemu import state_dir
from sshd_fixture import (
    ConsoleUnderPty, QemuSystemDaemon, guest_xml, process_alive, tiny_guest, wait_for,
)

pytestmark = [
    pytest.mark.realvirsh,
    pytest.mark.skipif(shutil.which("virsh") is None,
                       reason="real virsh (libvirt-clients) not installed"),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                       reason="qemu-system-x86_64 is not installed"),
]

UUIDS = {"g1": "9e570001-0000-4000-8000-00000000aa01",
         "g2": "9e570002-0000-4000-8000-00000000aa02",
         "g3": "9e570003-0000-4000-8000-00000000aa03",
         "g4": "9e570004-0000-4000-8000-00000000aa04"}


@pytest.fixture
def daemon(tmp_path):
    guest = tiny_guest()
    if guest is None:
        pytest.skip("the tiny test guest is not available (scripts/build-test-guest.sh)")
    served = QemuSystemDaemon(tmp_path)
    for name, uuid in UUIDS.items():
        (tmp_path / f"{name}.xml").write_text(guest_xml(guest, name, uuid))
    try:
        served.start()
        yield served
    finally:
        served.cleanup()


def listing(daemon: QemuSystemDaemon) -> dict[str, tuple[str, str]]:
    """``virsh list --all`` as name -> (id, state)."""
    done = daemon.virsh("list", "--all")
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^ (\S+) +(\S+) +(.+?)\s*$", done.stdout, re.M)
    return {name: (dom_id, state) for dom_id, name, state in rows[1:]}


def talk(daemon: QemuSystemDaemon, name: str, tag: str) -> None:
    """The guest's shell answers a line typed into ``virsh console``; Ctrl-] exits 0."""
    console = ConsoleUnderPty(daemon.uri, name)
    try:
        console.expect(b"Escape character is ^] (Ctrl + ])\r\n", 30)
        console.ask(f"echo {tag}-$((40+2))", f"{tag}-42", timeout=90)
        assert console.detach() == 0
    finally:
        console.close()


def running_qemus(daemon: QemuSystemDaemon) -> dict[str, tuple[int, int]]:
    """Domain name -> (QEMU pid, its start time) from the status files."""
    records, corrupt = state_dir.load_statuses(daemon.dirs)
    assert not corrupt
    return {rec.name: (rec.pid, rec.pid_start) for rec in records}


def shut_down(daemon: QemuSystemDaemon, name: str, qemu: tuple[int, int]) -> None:
    """A graceful shutdown through virsh, carried out and noticed."""
    done = daemon.virsh("shutdown", name)
    assert (done.returncode, done.stdout) == (0, f"Domain '{name}' is being shutdown\n\n")
    wait_for(lambda: daemon.virsh("domstate", name).stdout == "shut off\n\n", 60,
             f"{name} to shut off")
    assert daemon.virsh("domstate", name, "--reason").stdout == "shut off (shutdown)\n\n"
    wait_for(lambda: not process_alive(*qemu), 30, f"{name}'s QEMU to exit")
    assert not daemon.dirs.status_path(name).exists()


#: the real libvirt-python client: watch lifecycle events, shut the guest down,
#: print the events up to STOPPED (one JSON list)
EVENT_CLIENT = """
import json, sys, threading, libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()
conn = libvirt.open(sys.argv[1])
dom = conn.lookupByName(sys.argv[2])
seen, stopped = [], threading.Event()
def on_event(_conn, _dom, event, detail, _opaque):
    seen.append([event, detail])
    if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
        stopped.set()
conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_event, None)
dom.shutdown()
stopped.wait(90)
print(json.dumps(seen))
"""


def shut_down_watching_events(daemon: QemuSystemDaemon, name: str) -> list[list[int]]:
    """Shut ``name`` down through the real libvirt-python; the lifecycle events it got."""
    if importlib.util.find_spec("libvirt") is None:
        pytest.skip("needs the real libvirt-python 9.0 binding (pip libvirt-python==9.0.0)")
    done = subprocess.run([sys.executable, "-c", EVENT_CLIENT, daemon.uri, name],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_guests_survive_sigterm_and_kill_of_pyvirtd(daemon):
    started = daemon.virsh("define g1.xml; define g2.xml; start g1; start g2")
    assert (started.returncode, started.stderr) == (0, ""), started.stderr
    before = listing(daemon)
    assert {name: state for name, (_, state) in before.items()} == {"g1": "running",
                                                                    "g2": "running"}
    ids = {name: dom_id for name, (dom_id, _) in before.items()}
    talk(daemon, "g1", "before")
    talk(daemon, "g2", "before")
    qemus = running_qemus(daemon)
    assert set(qemus) == {"g1", "g2"}

    assert daemon.virsh("suspend", "g2").returncode == 0

    # SIGTERM: the daemon exits 0, the guests keep running (g2 paused)
    assert daemon.stop(signal.SIGTERM) == 0
    assert all(process_alive(pid, start) for pid, start in qemus.values())
    daemon.start()
    assert listing(daemon) == {"g1": (ids["g1"], "running"), "g2": (ids["g2"], "paused")}
    for name in ("g1", "g2"):
        assert daemon.virsh("domuuid", name).stdout == f"{UUIDS[name]}\n\n"
    assert daemon.virsh("domstate", "g1", "--reason").stdout == "running (booted)\n\n"
    assert daemon.virsh("domstate", "g2", "--reason").stdout == "paused (user)\n\n"
    assert daemon.virsh("resume g2; domstate g2 --reason").stdout == \
        "Domain 'g2' resumed\n\nrunning (unpaused)\n\n"
    assert running_qemus(daemon) == qemus
    talk(daemon, "g1", "after-term")
    shut_down(daemon, "g1", qemus["g1"])
    assert listing(daemon) == {"g1": ("-", "shut off"), "g2": (ids["g2"], "running")}

    # kill -9: the same
    assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    assert process_alive(*qemus["g2"])
    daemon.start()
    assert listing(daemon) == {"g1": ("-", "shut off"), "g2": (ids["g2"], "running")}
    assert daemon.virsh("domuuid", "g2").stdout == f"{UUIDS['g2']}\n\n"
    talk(daemon, "g2", "after-kill")
    # the real libvirt-python hears the reattached guest's shutdown as events
    events = shut_down_watching_events(daemon, "g2")
    assert events == [[VIR_DOMAIN_EVENT_SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN_GUEST],
                      [VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN]]
    assert daemon.virsh("domstate", "g2", "--reason").stdout == "shut off (shutdown)\n\n"
    wait_for(lambda: not process_alive(*qemus["g2"]), 30, "g2's QEMU to exit")
    # ids go on after the highest one the daemon found running
    assert daemon.virsh("start", "g1").returncode == 0
    assert int(daemon.virsh("domid", "g1").stdout) > max(int(i) for i in ids.values())
    assert daemon.virsh("destroy", "g1").returncode == 0
    assert listing(daemon) == {"g1": ("-", "shut off"), "g2": ("-", "shut off")}


def qmp(path: Path, command: str) -> dict:
    """One QMP command straight to QEMU's monitor socket (free while no daemon runs)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        reader = sock.makefile("r")
        json.loads(reader.readline())                        # the greeting
        answers = []
        for name in ("qmp_capabilities", command):
            sock.sendall(json.dumps({"execute": name}).encode() + b"\n")
            while True:
                message = json.loads(reader.readline())
                if "return" in message or "error" in message:
                    answers.append(message)
                    break
        return answers[-1]


def test_what_happens_while_no_daemon_runs_is_found_by_the_next(daemon):
    """g1 powers off, g3's QEMU and transient g4's are killed, and g2 is left as a
    start that never ended (its status file says paused, starting up)."""
    started = daemon.virsh("define g1.xml; define g2.xml; define g3.xml; start g1; "
                           "start g2 --paused; start g3 --paused; create g4.xml --paused")
    assert (started.returncode, started.stderr) == (0, ""), started.stderr
    talk(daemon, "g1", "up")                 # booted: its ACPI handler is listening
    qemus = running_qemus(daemon)
    assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    for name in ("g3", "g4"):
        os.kill(qemus[name][0], signal.SIGKILL)
        wait_for(lambda: not process_alive(*qemus[name]), 30, f"{name}'s QEMU to die")
    g2_status = daemon.dirs.status_path("g2")
    text = g2_status.read_text()
    assert " reason='user'" in text
    g2_status.write_text(text.replace(" reason='user'", " reason='starting up'", 1))
    # g1's guest powers off; QEMU stays, stopped (-no-shutdown)
    assert qmp(daemon.dirs.monitor_path("g1"), "system_powerdown") == {"return": {}}
    wait_for(lambda: qmp(daemon.dirs.monitor_path("g1"), "query-status")["return"]["status"]
             == "shutdown", 60, "g1's guest to power off")
    assert process_alive(*qemus["g1"])
    daemon.start()
    wait_for(lambda: daemon.virsh("domstate", "g1").stdout == "shut off\n\n", 30,
             "g1 to be finished as shut off")
    assert listing(daemon) == {"g1": ("-", "shut off"), "g2": ("-", "shut off"),
                               "g3": ("-", "shut off")}
    reasons = daemon.virsh("domstate g1 --reason; domstate g2 --reason; domstate g3 --reason")
    assert reasons.stdout == ("shut off (shutdown)\n\nshut off (daemon)\n\n"
                              "shut off (crashed)\n\n")
    gone = daemon.virsh("domstate", "g4")
    assert (gone.returncode, gone.stderr) == (1, "error: failed to get domain 'g4'\n")
    for name in ("g1", "g2"):
        wait_for(lambda: not process_alive(*qemus[name]), 30, f"{name}'s QEMU to exit")
    assert running_qemus(daemon) == {}

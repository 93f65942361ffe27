"""The real ``virsh console`` reaches a real QEMU guest's serial console through
pyvirtd (``qemu+unix:///system?socket=…``, the QEMU driver in system mode
under a test root).

virsh runs under a pty (its controlling terminal): the guest's boot marker
arrives, a line typed into the guest's shell is answered, Ctrl-] detaches and
virsh exits 0 with the guest still running; a second console is refused while
one is open, and ``--force`` takes the console over.
"""

from __future__ import annotations

import shutil

import pytest

from sshd_fixture import ConsoleUnderPty, QemuSystemDaemon, guest_xml, tiny_guest

pytestmark = [
    pytest.mark.realvirsh,
    pytest.mark.skipif(shutil.which("virsh") is None,
                       reason="real virsh (libvirt-clients) not installed"),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                       reason="qemu-system-x86_64 is not installed"),
]

UUID = "c0501e00-4a5b-4c6d-8e7f-8091a2b3c4d5"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    guest = tiny_guest()
    if guest is None:
        pytest.skip("the tiny test guest is not available (scripts/build-test-guest.sh)")
    folder = tmp_path_factory.mktemp("console")
    served = QemuSystemDaemon(folder)
    (folder / "cons.xml").write_text(guest_xml(guest, "cons", UUID))
    try:
        served.start()
        defined = served.virsh("define cons.xml")
        assert defined.returncode == 0, defined.stderr
        yield served
    finally:
        served.cleanup()


def test_real_virsh_console_reaches_the_guest(daemon):
    started = daemon.virsh("start cons")
    assert (started.returncode, started.stderr) == (0, ""), started.stderr
    console = ConsoleUnderPty(daemon.uri, "cons")
    try:
        console.expect(b"Connected to domain 'cons'\r\n", 30)
        console.expect(b"Escape character is ^] (Ctrl + ])\r\n", 10)
        console.expect(b"PYVIRT-GUEST-READY", 90)
        console.ask("echo pyvirt-$((6*7))", "pyvirt-42")
        assert console.detach() == 0
    finally:
        console.close()
    assert daemon.virsh("domstate", "cons").stdout == "running\n\n"


def test_a_second_console_is_refused_and_force_takes_over(daemon):
    if daemon.virsh("domstate", "cons").stdout != "running\n\n":
        assert daemon.virsh("start", "cons").returncode == 0
    first = ConsoleUnderPty(daemon.uri, "cons")
    second = forced = None
    try:
        first.expect(b"Escape character is ^] (Ctrl + ])\r\n", 30)
        first.ask("echo first-$((40+2))", "first-42")
        second = ConsoleUnderPty(daemon.uri, "cons")
        refused = second.expect(b"for this domain", 30)
        # virsh announces the console before it opens it, then reports the refusal
        assert refused.startswith(b"Connected to domain 'cons'\r\n")
        assert refused.endswith(
            b"error: operation failed: Active console session exists for this domain")
        assert second.proc.wait(30) == 1
        forced = ConsoleUnderPty(daemon.uri, "cons", "--force")
        forced.expect(b"Escape character is ^] (Ctrl + ])\r\n", 30)
        forced.ask("echo forced-$((40+2))", "forced-42")
        # taken over: the first virsh's stream is aborted; as with libvirtd, it
        # hears of a stream I/O failure and exits 1
        assert first.proc.wait(30) == 1
        first.expect(b"error: stream had I/O failure\r\n", 10)
        assert forced.detach() == 0
    finally:
        for console in (first, second, forced):
            if console is not None:
                console.close()
    stopped = daemon.virsh("destroy", "cons")
    assert stopped.stdout == "Domain 'cons' destroyed\n\n"

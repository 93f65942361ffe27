"""The real virsh over ``qemu+ssh://root@ADDR:PORT/system`` prints what it prints
over the daemon's unix socket.

pyvirtd serves the QEMU driver in system mode (state under a test root, the
``PYVIRT_QEMU_TEST_SYSTEM_ROOT`` hook) on a unix socket; Debian's sshd in a
network namespace sees that socket directory at ``/run/libvirt``, so real
virsh's ``qemu+ssh://…/system`` reaches the same daemon through Debian's
``virt-ssh-helper``. The foundation command set runs against a tiny real TCG
guest: host facts, define, the listings and views of a shut-off and a running
domain, config memory/vCPUs, autostart, internal snapshots, start, suspend,
resume, an ACPI shutdown, reset, save/restore, managed save, destroy, undefine.
Each step runs over SSH, then (after an undo that brings the state back, for a
step that changes it) over ``qemu+unix:///system?socket=…``: stdout, stderr and
the exit status must be identical (masked: the URI ``uri`` prints, each
client's own, and dominfo's CPU time, which moves); key fields (state names and
reasons, names, UUIDs, ids) are asserted on top. Then ``pyvirt-ssh-helper``
is installed as the SSH host's ``virt-ssh-helper`` (read-write and read-only),
and ``virsh console`` reaches a guest's shell over SSH.
"""

from __future__ import annotations

import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from sshd_fixture import (
    ConsoleUnderPty, QemuSystemDaemon, guest_xml, missing_ssh_tools, run_virsh, sshd_serving, tiny_guest,
    wait_for,
)

pytestmark = [
    pytest.mark.realvirsh,
    pytest.mark.skipif(missing_ssh_tools() is not None, reason=missing_ssh_tools() or ""),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                       reason="qemu-system-x86_64 is not installed"),
]

UUID = "5eb0a1c2-3d4e-4f60-8172-93a4b5c6d7e8"
_CPU_TIME = re.compile(r"^(CPU time:\s+).*$", re.M)
#: virsh commands that change nothing (a line made of them runs over both at once)
_READS = {"version", "hostname", "nodeinfo", "capabilities", "uri", "list", "dominfo",
          "domstate", "domuuid", "domname", "domid", "dumpxml", "domblklist", "domiflist",
          "vcpucount", "snapshot-list", "snapshot-current", "schedinfo", "memtune",
          "domstats"}


def _only_reads(line: str) -> bool:
    return all(part.split()[0] in _READS for part in line.split(";"))


@dataclass
class Step:
    """One virsh command line, run over SSH and then over the unix socket.

    ``undo`` (run over the unix socket between the two) brings back the state
    the line started from; a step without one leaves the state as it found it."""

    line: str
    undo: str | None = None
    #: (exit status, stdout, stderr) over the unix socket, once run
    result: tuple[int, str, str] | None = None


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    guest = tiny_guest()
    if guest is None:
        pytest.skip("the tiny test guest is not available (scripts/build-test-guest.sh)")
    folder = tmp_path_factory.mktemp("qemu-ssh")
    daemon = QemuSystemDaemon(folder)
    try:
        daemon.start()
        with sshd_serving(folder, folder, multiplex=True) as host:
            yield daemon, host, guest
    finally:
        daemon.cleanup()


def test_foundation_commands_over_qemu_ssh_match_the_unix_socket(served):
    daemon, host, guest = served
    folder = daemon.folder
    ssh_uri, unix_uri = host.uri("qemu", "/system"), daemon.uri
    disk = folder / "vm.qcow2"
    shutil.copy(guest["disk"], disk)
    console = folder / "vm.console"
    (folder / "vm.xml").write_text(guest_xml(
        guest, "vm", UUID, serial=f"<serial type='file'><source path='{console}'/></serial>",
        disk=disk, vcpus="<vcpu current='1'>2</vcpu>"))

    def state() -> str:
        return daemon.virsh("domstate", "vm").stdout.strip()

    def booted() -> None:
        wait_for(lambda: "PYVIRT-GUEST-READY" in _read(console), 60, "the guest's marker")

    def shut_off() -> None:
        wait_for(lambda: state() == "shut off", 60, "the guest to power off")

    def fresh_console() -> None:
        console.unlink(missing_ok=True)

    mismatches: list[str] = []

    def run(step: Step) -> None:
        if _only_reads(step.line):          # the same state either way: both at once
            with ThreadPoolExecutor(2) as pool:
                ssh_run = pool.submit(run_virsh, ssh_uri, step.line, cwd=folder,
                                      env=host.env(), timeout=120)
                over_unix = run_virsh(unix_uri, step.line, cwd=folder, timeout=120)
                over_ssh = ssh_run.result()
        else:
            over_ssh = run_virsh(ssh_uri, step.line, cwd=folder, env=host.env(), timeout=120)
            if step.undo is not None:
                undone = daemon.virsh(step.undo)
                assert undone.returncode == 0, (step.undo, undone.stderr)
            over_unix = run_virsh(unix_uri, step.line, cwd=folder, timeout=120)
        # what may differ: the URI (each client prints its own), the CPU time (it moves)
        got = [(r.returncode, _CPU_TIME.sub(r"\1<t>", r.stdout.replace(uri, "<uri>")),
                r.stderr) for r, uri in ((over_ssh, ssh_uri), (over_unix, unix_uri))]
        if got[0] != got[1]:
            mismatches.append(f"{step.line!r}:\n  ssh:  {got[0]!r}\n  unix: {got[1]!r}")
        step.result = got[1]

    def start_booting() -> None:
        fresh_console()
        assert daemon.virsh("start", "vm").returncode == 0

    host_facts = Step("version; hostname; nodeinfo; capabilities; uri; list --all; "
                      "dominfo vm")
    define = Step("define vm.xml", undo="undefine vm")
    shut_off_views = Step(
        f"list --all; list --all --name; list --all --uuid; dominfo vm; "
        f"domstate vm --reason; domuuid vm; domname {UUID}; domid vm; dumpxml vm; "
        f"dumpxml vm --inactive; domblklist vm; domblklist vm --details; domiflist vm")
    snap_views = Step("snapshot-list vm; snapshot-list vm --tree; snapshot-list vm --name; "
                      "snapshot-list vm --parent; snapshot-current vm --name")
    snap_delete = Step("snapshot-delete vm s2", undo="snapshot-create-as vm s2")
    start = Step("start vm", undo="destroy vm")
    running_views = Step("list; list --all; dominfo vm; domstate vm --reason; domid vm; "
                         f"domname {UUID}; dumpxml vm; domblklist vm; domiflist vm; "
                         "schedinfo vm; memtune vm; domstats vm --state")
    start_again = Step("start vm")
    paused = Step("domstate vm --reason; list")
    resumed = Step("domstate vm --reason")
    shutdown = Step("shutdown vm")
    after_shutdown = Step("list --all; domid vm; domstate vm --reason; destroy vm")
    image = folder / "vm.save"
    saved, restored = Step("domstate vm --reason"), Step("domstate vm --reason")
    managed, from_managed = Step("dominfo vm; list --all --managed-save"), \
        Step("domstate vm --reason")
    destroyed = Step("domstate vm --reason")
    undefine, empty = Step("undefine vm", undo="define vm.xml"), Step("list --all")
    steps = [
        host_facts, define, shut_off_views,
        # resources in the config (live ones need a running domain / a balloon)
        Step("setmem vm 120M --config; dominfo vm", undo="setmem vm 128M --config"),
        Step("setvcpus vm 2 --config; vcpucount vm", undo="setvcpus vm 1 --config"),
        Step("setvcpus vm 1 --live; setmem vm 100M --live"),
        Step("autostart vm; list --all --autostart", undo="autostart vm --disable"),
        Step("autostart vm --disable; dominfo vm"),
        # internal snapshots of the shut-off domain (qemu-img on its qcow2 disk)
        Step("snapshot-create-as vm s1 first", undo="snapshot-delete vm s1"),
        Step("snapshot-create-as vm s2", undo="snapshot-delete vm s2"),
        snap_views,
        Step("snapshot-revert vm s1; snapshot-current vm --name"),
        snap_delete,
        Step("snapshot-delete vm s1; snapshot-list vm",
             undo="snapshot-create-as vm s1 first"),
        # running
        start, running_views, start_again,
        Step("suspend vm", undo="resume vm"), paused,
        Step("resume vm", undo="suspend vm"), resumed,
        # a graceful shutdown through the guest's ACPI handler (see _shutdown_twice)
        shutdown, after_shutdown,
        Step("start vm", undo="destroy vm"), Step("reset vm"),
        # save/restore and managed save (QEMU's migration stream through the daemon)
        Step(f"save vm {image}", undo=f"restore {image}"), saved,
        Step(f"restore {image}", undo=f"save vm {image}"), restored,
        Step("managedsave vm", undo="start vm"), managed,
        Step("start vm", undo="managedsave vm"), from_managed,
        Step("destroy vm", undo="start vm"), destroyed,
        undefine, empty,
    ]
    for step in steps:
        if step is shutdown:
            step.result = _shutdown_twice(ssh_uri, unix_uri, folder, host, start_booting,
                                          booted, shut_off, mismatches)
        else:
            run(step)

    assert not mismatches, "\n".join(mismatches)
    # key fields, on top of the identical outputs (the URI is each client's own)
    facts = host_facts.result[1]
    assert "Running hypervisor: QEMU " in facts and "CPU model:" in facts
    assert "<capabilities>" in facts and "\n<uri>\n" in facts
    assert host_facts.result[2] == "error: failed to get domain 'vm'\n"
    assert define.result == (0, "Domain 'vm' defined from vm.xml\n\n", "")
    views = shut_off_views.result[1]
    assert re.search(r"^ -    vm     shut off$", views, re.M)
    assert f"\n{UUID}\n\n" in views and "shut off (unknown)\n" in views
    assert "\nvm\n\n" in views and "\n-\n\n" in views
    assert re.search(r"^ vda +.*vm\.qcow2$", views, re.M)
    assert "snapshot-create-as" not in snap_views.result[2]
    assert "\ns1\ns2\n\n" in snap_views.result[1]
    assert snap_delete.result == (0, "Domain snapshot s2 deleted\n\n", "")
    assert start.result == (0, "Domain 'vm' started\n\n", "")
    views = running_views.result[1]
    dom_id = int(re.search(r"^Id: +(\d+)$", views, re.M).group(1))
    assert re.search(rf"^ {dom_id} +vm +running$", views, re.M)
    assert f"<domain type='qemu' id='{dom_id}'>" in views and f"<uuid>{UUID}</uuid>" in views
    assert "running (booted)\n" in views
    assert start_again.result == (1, "\n", "error: Domain is already active\n")
    assert paused.result[1].startswith("paused (user)\n")
    assert re.search(r"^ \d+ +vm +paused$", paused.result[1], re.M)
    assert resumed.result[1] == "running (unpaused)\n\n"
    assert "shut off (shutdown)\n" in after_shutdown.result[1]
    assert saved.result[1] == "shut off (saved)\n\n"
    assert restored.result[1] == "running (restored)\n\n"
    assert re.search(r"^Managed save: +yes$", managed.result[1], re.M)
    assert re.search(r"^ - +vm +saved$", managed.result[1], re.M)
    assert from_managed.result[1] == "running (restored)\n\n"
    assert destroyed.result[1] == "shut off (destroyed)\n\n"
    assert undefine.result == (0, "Domain 'vm' has been undefined\n\n", "")
    assert empty.result[1].splitlines()[2:] == [""]


def _shutdown_twice(ssh_uri, unix_uri, folder, host, start_booting, booted, shut_off,
                    mismatches) -> tuple[int, str, str]:
    """``shutdown`` over SSH, then (booted again) over the unix socket; the guest
    powers off through ACPI each time and the domain shows shut off (shutdown)."""
    booted()
    over_ssh = run_virsh(ssh_uri, "shutdown vm", cwd=folder, env=host.env(), timeout=120)
    shut_off()
    reason_ssh = run_virsh(unix_uri, "domstate vm --reason").stdout
    start_booting()
    booted()
    over_unix = run_virsh(unix_uri, "shutdown vm", cwd=folder, timeout=120)
    shut_off()
    reason_unix = run_virsh(unix_uri, "domstate vm --reason").stdout
    got = [(r.returncode, r.stdout, r.stderr) for r in (over_ssh, over_unix)]
    if got[0] != got[1]:
        mismatches.append(f"'shutdown vm':\n  ssh:  {got[0]!r}\n  unix: {got[1]!r}")
    assert got[1] == (0, "Domain 'vm' is being shutdown\n\n", "")
    assert reason_ssh == reason_unix == "shut off (shutdown)\n\n"
    return got[1]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def test_pyvirt_ssh_helper_as_the_remote_helper(served):
    """pyvirt's own relay installed as virt-ssh-helper on the SSH host: real virsh
    over ``qemu+ssh://`` reaches the same daemon through it."""
    daemon, _, _ = served
    if not shutil.which("virt-ssh-helper"):
        pytest.skip("needs /usr/bin/virt-ssh-helper (libvirt-clients) to bind over")
    helper = daemon.folder / "pyvirt-ssh-helper"
    calls = daemon.folder / "helper.calls"
    helper.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n"
                      f"exec {sys.executable} -m pyvirt.daemon.ssh_helper \"$@\"\n")
    helper.chmod(0o755)
    (daemon.folder / "h.xml").write_text(
        "<domain type='qemu'><name>h</name><uuid>" + UUID[:-1] + "9</uuid>"
        "<memory unit='MiB'>128</memory><os><type arch='x86_64'>hvm</type></os></domain>")
    line = "define h.xml; list --all; domstate h --reason; undefine h; list --all"
    denied = "list --all; define h.xml"
    with sshd_serving(daemon.folder, daemon.folder, helper=helper) as host:
        ssh_uri = host.uri("qemu", "/system")
        over_ssh = run_virsh(ssh_uri, line, cwd=daemon.folder, env=host.env(), timeout=120)
        # read-only: the helper is run with -r and takes the read-only socket
        ro_ssh = run_virsh(ssh_uri, denied, cwd=daemon.folder, env=host.env(),
                           readonly=True)
    over_unix = run_virsh(daemon.uri, line, cwd=daemon.folder)
    ro_unix = run_virsh(daemon.uri, denied, cwd=daemon.folder, readonly=True)
    assert over_ssh.returncode == 0, over_ssh.stderr
    for ssh_run, unix_run in ((over_ssh, over_unix), (ro_ssh, ro_unix)):
        assert (ssh_run.returncode, ssh_run.stdout, ssh_run.stderr) == \
            (unix_run.returncode, unix_run.stdout, unix_run.stderr)
    assert over_ssh.stdout.startswith("Domain 'h' defined from h.xml\n")
    assert re.search(r"^ - +h +shut off$", over_ssh.stdout, re.M)
    assert ro_ssh.returncode == 1
    # both went through pyvirt's helper, the read-only one with -r
    assert calls.read_text().splitlines() == ["qemu:///system", "-r qemu:///system"]
    assert "read only access prevents virDomainDefineXML" in ro_ssh.stderr


def test_real_virsh_console_over_qemu_ssh(served):
    """``virsh console`` over SSH: the console stream crosses ssh and the helper."""
    daemon, host, guest = served
    (daemon.folder / "c.xml").write_text(guest_xml(guest, "c", UUID[:-1] + "c"))
    started = daemon.virsh("create c.xml")
    assert started.returncode == 0, started.stderr
    console = ConsoleUnderPty(host.uri("qemu", "/system"), "c", env=host.env())
    try:
        console.expect(b"Connected to domain 'c'\r\n", 60)
        console.expect(b"PYVIRT-GUEST-READY", 90)
        console.ask("echo over-ssh-$((40+2))", "over-ssh-42")
        assert console.detach() == 0
    finally:
        console.close()
        stopped = daemon.virsh("destroy", "c")
    assert stopped.stdout == "Domain 'c' destroyed\n\n"

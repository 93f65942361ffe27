"""One pyvirtd serves ``qemu:///system`` and ``lxc:///`` (both kept under a tmp dir
through the drivers' test hooks); one script on the REAL libvirt-python 9.0
binding manages a QEMU guest and a container side by side through it, with the
lifecycle events of both delivered to its event loop. Then the real virsh and
pyvirsh show the same shapes for both URIs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "drivers" / "lxc"))

from lxc_helpers import ROOTFS, can_run_containers, container_xml, wait_for  # noqa: E402
from process_fixture import stop_process  # noqa: E402

QEMU = shutil.which("qemu-system-x86_64")
VIRSH = shutil.which("virsh")

NEEDS_ROOT = pytest.mark.skipif(can_run_containers() is not None,
                                reason="needs root, namespaces, busybox")
NEEDS_QEMU = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")


def test_qemu_system_root_test_hook_moves_the_driver_and_its_peers(tmp_path, monkeypatch):
    from pyvirt.drivers.qemu import state_dir

    monkeypatch.delenv(state_dir.SYSTEM_ROOT_ENV, raising=False)
    assert state_dir.dirs_for_uri("/system", None).config == Path("/etc/pyvirt/qemu")
    monkeypatch.setenv(state_dir.SYSTEM_ROOT_ENV, str(tmp_path))
    assert state_dir.dirs_for_uri("/system", None) == state_dir.dirs_for_root(tmp_path)
    assert state_dir.peer_dirs_for_uri("/system", None, "network") == (
        tmp_path / "etc" / "network", tmp_path / "run" / "network")
    assert state_dir.dirs_for_uri("/session", None).config != tmp_path / "etc" / "qemu"

#: the client: real libvirt-python only (no pyvirt import); prints one JSON document
CLIENT = r"""
import json, sys, threading, time
import libvirt
socket_path, qemu_xml, ct_xml = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
assert libvirt.__file__ and "pyvirt" not in libvirt.__file__
libvirt.virEventRegisterDefaultImpl()
def run_event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=run_event_loop, daemon=True).start()
events, lock = [], threading.Lock()
def on_lifecycle(conn, dom, event, detail, kind):
    with lock:
        events.append([kind, dom.name(), event, detail])
def wait_event(kind, name, event, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with lock:
            if [kind, name, event] in [e[:3] for e in events]:
                return
        time.sleep(0.02)
    raise SystemExit(f"no event {event} for {kind}/{name}: {events}")
out = {"binding": libvirt.getVersion()}
conns = {"qemu": libvirt.open(f"qemu+unix:///system?socket={socket_path}"),
         "lxc": libvirt.open(f"lxc+unix:///?socket={socket_path}")}
for kind, conn in conns.items():
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, kind)
    out[kind] = {"type": conn.getType(), "uri": conn.getURI()}
doms = {"qemu": conns["qemu"].defineXML(qemu_xml), "lxc": conns["lxc"].defineXML(ct_xml)}
for kind, dom in doms.items():
    dom.create()
for kind, dom in doms.items():
    wait_event(kind, dom.name(), libvirt.VIR_DOMAIN_EVENT_STARTED)
    conn = conns[kind]
    out[kind].update(
        listed=[d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)],
        info=dom.info(), state=dom.state(), os_type=dom.OSType(), id=dom.ID(),
        xml_type=dom.XMLDesc(0).split("'")[1],
        stats={k: v for k, v in conn.domainListGetStats(
            [dom], libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
            | libvirt.VIR_DOMAIN_STATS_BALLOON)[0][1].items()})
for kind, dom in doms.items():
    dom.destroy()
for kind, dom in doms.items():
    wait_event(kind, dom.name(), libvirt.VIR_DOMAIN_EVENT_STOPPED)
    out[kind]["after_destroy"] = dom.state()
    dom.undefine()
    wait_event(kind, dom.name(), libvirt.VIR_DOMAIN_EVENT_UNDEFINED)
    out[kind]["listed_after"] = [d.name() for d in conns[kind].listAllDomains(0)]
with lock:
    out["events"] = list(events)
for conn in conns.values():
    conn.close()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def images() -> dict[str, Path]:
    subprocess.run([str(REPO / "scripts" / "build-test-rootfs.sh"), str(ROOTFS)], check=True,
                   capture_output=True)
    subprocess.run([str(REPO / "scripts" / "build-test-guest.sh")], capture_output=True,
                   timeout=300)
    guest = REPO / "var" / "guest"
    if not (guest / "vmlinuz").exists() or not (guest / "initrd.gz").exists():
        pytest.skip("test guest not available")
    return {"rootfs": ROOTFS, "kernel": guest / "vmlinuz", "initrd": guest / "initrd.gz"}


def guest_xml(name: str, images: dict[str, Path], console: Path) -> str:
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{images['kernel']}</kernel><initrd>{images['initrd']}</initrd>
    <cmdline>console=ttyS0 quiet</cmdline></os>
  <features><acpi/></features>
  <devices>
    <serial type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>"""


@pytest.fixture
def pyvirtd(tmp_path):
    """One pyvirtd on a unix socket; qemu:///system and lxc:/// both under tmp_path."""
    from pyvirt.drivers.lxc.state_dir import SYSTEM_ROOT_ENV as LXC_ROOT
    from pyvirt.drivers.qemu.state_dir import SYSTEM_ROOT_ENV as QEMU_ROOT

    run = tmp_path / "sock"
    run.mkdir()
    config = tmp_path / "pyvirtd.conf"
    config.write_text(f'unix_sock_dir = "{run}"\n')
    env = dict(os.environ, **{LXC_ROOT: str(tmp_path / "lxc"), QEMU_ROOT: str(tmp_path / "qemu")})
    proc = subprocess.Popen([sys.executable, "-m", "pyvirt.daemon.main", "-f", str(config)],
                            env=env, stderr=subprocess.PIPE, text=True)
    socket_path = run / "libvirt-sock"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        return socket_path.exists()

    try:
        wait_for(ready, timeout=20, what="pyvirtd's socket")
        yield socket_path
    finally:
        stop_process(proc, grace=10)


@NEEDS_ROOT
@NEEDS_QEMU
def test_one_real_libvirt_python_script_manages_a_guest_and_a_container(pyvirtd, images,
                                                                         tmp_path):
    pytest.importorskip("libvirt", reason="real libvirt-python not installed")
    gxml, cxml = tmp_path / "guest.xml", tmp_path / "ct.xml"
    gxml.write_text(guest_xml("vm1", images, tmp_path / "vm1.console"))
    cxml.write_text(container_xml("ct1", images["rootfs"]))
    run = subprocess.run([sys.executable, "-c", CLIENT, str(pyvirtd), str(gxml), str(cxml)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["binding"] == 9000000
    assert out["qemu"]["type"] == "QEMU" and out["lxc"]["type"] == "LXC"
    for kind, name, os_type in (("qemu", "vm1", "hvm"), ("lxc", "ct1", "exe")):
        side = out[kind]
        assert side["listed"] == [name]
        assert side["os_type"] == os_type and side["xml_type"] == kind
        assert side["state"] == [1, 1]                       # running, booted
        assert side["info"][0] == 1 and side["info"][1] > 0 and side["id"] > 0
        assert side["stats"]["state.state"] == 1
        assert "cpu.time" in side["stats"] and "balloon.maximum" in side["stats"]
        assert side["after_destroy"] == [5, 2]                # shut off, destroyed
        assert side["listed_after"] == []
        seen = [(e[2], e[3]) for e in out["events"] if e[0] == kind and e[1] == name]
        assert seen == EXPECTED_EVENTS[kind], (kind, seen)
    # the qemu and lxc state really lived under the tmp roots
    assert not (tmp_path / "qemu" / "run" / "qemu" / "vm1.xml").exists()
    assert (tmp_path / "qemu" / "etc" / "qemu").is_dir()
    assert (tmp_path / "lxc" / "etc" / "lxc").is_dir()


#: (event, detail) as each driver reports them, in libvirt's order: QEMU like
#: libvirt's qemu driver (resumed before started; SIGTERM seen as a host shutdown)
EXPECTED_EVENTS = {
    "qemu": [(0, 0), (4, 0), (2, 0), (6, 2), (5, 1), (1, 0)],
    "lxc": [(0, 0), (2, 0), (5, 1), (1, 0)],  # defined, started (booted), stopped
}                                             # (destroyed), undefined


def _shape(text: str) -> list[str]:
    """The field names of a virsh key/value listing."""
    return [line.split(":", 1)[0] for line in text.splitlines() if ":" in line]


SHELLS = {
    "virsh": pytest.param([VIRSH or "virsh"], marks=[
        pytest.mark.realvirsh,
        pytest.mark.skipif(VIRSH is None, reason="real virsh (libvirt-clients) not installed")]),
    "pyvirsh": pytest.param([sys.executable, "-m", "pyvirt.cli.main"]),
}


@NEEDS_ROOT
@NEEDS_QEMU
@pytest.mark.parametrize("shell", SHELLS.values(), ids=SHELLS.keys())
def test_virsh_and_pyvirsh_give_the_same_shapes_for_qemu_and_lxc(shell, pyvirtd, images,
                                                                 tmp_path):
    uris = {"qemu": f"qemu+unix:///system?socket={pyvirtd}",
            "lxc": f"lxc+unix:///?socket={pyvirtd}"}
    names = {"qemu": "vm2", "lxc": "ct2"}

    def virsh(kind: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*shell, "-c", uris[kind], *args], capture_output=True,
                              text=True, timeout=60)

    (tmp_path / "qemu.xml").write_text(guest_xml("vm2", images, tmp_path / "vm2.console"))
    (tmp_path / "lxc.xml").write_text(container_xml("ct2", images["rootfs"]))
    out: dict[str, dict[str, str]] = {"qemu": {}, "lxc": {}}
    try:
        for kind, name in names.items():
            assert virsh(kind, "define", str(tmp_path / f"{kind}.xml")).returncode == 0
            started = virsh(kind, "start", name)
            assert started.returncode == 0, started.stderr
            assert started.stdout.strip() == f"Domain '{name}' started"
        for kind, name in names.items():
            out[kind]["list"] = virsh(kind, "list").stdout
            out[kind]["dominfo"] = virsh(kind, "dominfo", name).stdout
            out[kind]["domstats"] = virsh(kind, "domstats", "--state", "--cpu-total",
                                          name).stdout
        for kind, name in names.items():
            listed = out[kind]["list"].splitlines()
            assert listed[0].split() == ["Id", "Name", "State"]
            assert re.match(rf"^ \d+\s+{name}\s+running$", listed[2]), listed
            assert "State:          running" in out[kind]["dominfo"]
            assert f"Name:           {name}" in out[kind]["dominfo"]
            assert "state.state=1" in out[kind]["domstats"]
            assert "cpu.time=" in out[kind]["domstats"]
        # virsh's word (and pyvirsh's) when the driver has no managed save
        assert "Managed save:   unknown" in out["lxc"]["dominfo"]
        qemu_shape, lxc_shape = (_shape(out[kind]["dominfo"]) for kind in ("qemu", "lxc"))
        assert qemu_shape[:len(lxc_shape)] == lxc_shape     # QEMU adds its security model
        assert set(qemu_shape) - set(lxc_shape) <= {"Security model", "Security DOI",
                                                    "Security label"}
        assert "OS Type:        hvm" in out["qemu"]["dominfo"]
        assert "OS Type:        exe" in out["lxc"]["dominfo"]
        assert ([line.split("=")[0] for line in out["qemu"]["domstats"].splitlines()[1:]]
                == [line.split("=")[0] for line in out["lxc"]["domstats"].splitlines()[1:]])
        # the container stops on `shutdown` (SIGTERM to its init); both stop on `destroy`
        assert virsh("lxc", "shutdown", "ct2").returncode == 0
        wait_for(lambda: "shut off" in virsh("lxc", "domstate", "ct2").stdout, timeout=20,
                 what="the container shut down")
        destroyed = virsh("qemu", "destroy", "vm2")
        assert destroyed.returncode == 0 and "Domain 'vm2' destroyed" in destroyed.stdout
        for kind, name in names.items():
            again = virsh(kind, "destroy", name)
            assert again.returncode == 1
            assert "Requested operation is not valid: domain is not running" in again.stderr
            assert "shut off" in virsh(kind, "domstate", name).stdout
    finally:
        for kind, name in names.items():
            virsh(kind, "destroy", name)
            virsh(kind, "undefine", name)

"""The LXC driver end to end: pyvirsh against lxc:///embed, and container NICs on a
bridge and on a pyvirt NAT network (DHCP lease, NAT to an uplink), all inside
network namespaces these tests create. Nothing may be left behind: no process,
no cgroup, no veth, no mount, no status file.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "drivers" / "lxc"))

from lxc_helpers import (  # noqa: E402
    REPO as _REPO, ROOTFS, ConsoleReader, can_run_containers, container_xml, leftovers, wait_for,
)
from process_fixture import stop_process  # noqa: E402
from pyvirt.network.netns import Netns, netns_supported, run_in_new_netns, veth_into  # noqa: E402

pytestmark = pytest.mark.skipif(can_run_containers() is not None or not netns_supported(),
                                reason="needs root, user and network namespaces, busybox")



@pytest.fixture(scope="module")
def rootfs() -> Path:
    subprocess.run([str(_REPO / "scripts" / "build-test-rootfs.sh"), str(ROOTFS)], check=True,
                   capture_output=True)
    return ROOTFS

#: pyvirsh with the LXC driver registered (until pyvirt.api._registry lists it)
PYVIRSH = ("import sys; from pyvirt.drivers.lxc import register; register(); "
           "from pyvirt.cli.main import main; sys.exit(main())")


def pyvirsh(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PYVIRSH, "-c", f"lxc:///embed?root={root}",
                           *args], capture_output=True, text=True, timeout=60)


def test_pyvirsh_lifecycle_across_processes(rootfs, tmp_path):
    """Each pyvirsh is a new process: every command after `start` reattaches."""
    from pyvirt.drivers.lxc.cgroup import ContainerCgroup
    from pyvirt.drivers.lxc.state_dir import dirs_for_root, parse_status

    root = tmp_path / "lxc"
    xml = tmp_path / "ct.xml"
    xml.write_text(container_xml("ctsh", rootfs))
    assert pyvirsh(root, "define", str(xml)).returncode == 0
    started = pyvirsh(root, "start", "ctsh")
    assert started.returncode == 0, started.stderr
    assert "Domain 'ctsh' started" in started.stdout
    try:
        listed = pyvirsh(root, "list")
        assert " ctsh " in listed.stdout and "running" in listed.stdout
        info = pyvirsh(root, "dominfo", "ctsh")
        assert "OS Type:        exe" in info.stdout
        assert "State:          running" in info.stdout
        stats = pyvirsh(root, "domstats", "ctsh")
        assert "state.state=1" in stats.stdout and "cpu.time=" in stats.stdout
        status = parse_status(dirs_for_root(root).status_path("ctsh").read_text())
        init_pid = status.init_pid
        cgroup_dirs = ContainerCgroup(status.cgroup).directories()
        assert cgroup_dirs and all(p.exists() for p in cgroup_dirs)
        assert pyvirsh(root, "shutdown", "ctsh").returncode == 0
        wait_for(lambda: "shut off" in pyvirsh(root, "domstate", "ctsh").stdout,
                 timeout=15, what="shutdown seen by a new pyvirsh")
        assert pyvirsh(root, "start", "ctsh").returncode == 0
        destroyed = pyvirsh(root, "destroy", "ctsh")
        assert destroyed.returncode == 0 and "Domain 'ctsh' destroyed" in destroyed.stdout
        again = pyvirsh(root, "destroy", "ctsh")
        assert again.returncode == 1 and "domain is not running" in again.stderr
        assert leftovers(dirs_for_root(root), "ctsh", init_pid, cgroup_dirs) == []
    finally:
        pyvirsh(root, "destroy", "ctsh")
        pyvirsh(root, "undefine", "ctsh")


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a tty")
def test_pyvirsh_console_on_a_tty(rootfs, tmp_path):
    root = tmp_path / "lxc"
    xml = tmp_path / "ct.xml"
    xml.write_text(container_xml("ctcon", rootfs))
    assert pyvirsh(root, "define", str(xml)).returncode == 0
    assert pyvirsh(root, "start", "ctcon").returncode == 0
    try:
        command = " ".join([sys.executable, "-c", repr(PYVIRSH), "-c",
                            f"lxc:///embed?root={root}", "console", "ctcon"])
        proc = subprocess.Popen(["script", "-qc", command, "/dev/null"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        output = b""
        try:
            import select as _select

            def read_until(needle: bytes, seconds: float = 1.5) -> None:
                nonlocal output
                deadline = time.monotonic() + seconds
                while needle not in output and time.monotonic() < deadline:
                    if _select.select([proc.stdout], [], [], 0.2)[0]:
                        output += os.read(proc.stdout.fileno(), 65536)

            read_until(b"Escape character", 20)
            for _ in range(10):                  # until the client has its tty in raw mode
                proc.stdin.write(b"echo TTY-$((20+1))\n")
                proc.stdin.flush()
                read_until(b"TTY-21")
                if b"TTY-21" in output:
                    break
            proc.stdin.write(b"\x1d")            # ^] leaves the console
            proc.stdin.flush()
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert b"Escape character is ^]" in output
        assert b"TTY-21" in output
        assert proc.returncode == 0
    finally:
        pyvirsh(root, "destroy", "ctcon")
        pyvirsh(root, "undefine", "ctcon")


def _bridge_scenario(rootfs: str, root: str) -> dict:
    import pyvirt
    from pyvirt.drivers.lxc import register
    from pyvirt.drivers.lxc.state import state_for
    from pyvirt.drivers.lxc.state_dir import dirs_for_root

    register()
    subprocess.run(["ip", "link", "add", "brct0", "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", "10.77.0.1/24", "dev", "brct0"], check=True)
    subprocess.run(["ip", "link", "set", "brct0", "up"], check=True)
    conn = pyvirt.open(f"lxc:///embed?root={root}")
    nic = ("<interface type='bridge'><mac address='52:54:00:12:34:56'/>"
           "<source bridge='brct0'/></interface>")
    dom = conn.defineXML(container_xml("ctnet", Path(rootfs), extra_devices=nic))
    dom.create()
    out: dict = {}
    drv = state_for(dirs_for_root(root))
    ct = next(iter(drv.containers.values()))
    out["veths"] = list(ct.veths)
    out["ports"] = subprocess.run(["ip", "-o", "link", "show", "master", "brct0"],
                                  capture_output=True, text=True).stdout
    console = ConsoleReader(conn, dom)
    try:
        console.run("ip addr add 10.77.0.2/24 dev eth0; cat /sys/class/net/eth0/address; "
                    "echo MAC-DONE-$((1+1))", "MAC-DONE-2")
        console.run("ping -c 1 -W 3 10.77.0.1 >/dev/null && echo PING-$((1))OK || "
                    "echo PING-$((1))BAD", "PING-1", timeout=10)
    finally:
        console.close()
    out["console"] = console.text
    out["xml"] = dom.XMLDesc()
    out["ifstats"] = dom.interfaceStats(out["veths"][0])
    dom.destroy()
    out["after"] = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    conn.close()
    return out


def test_veth_on_a_bridge_with_the_mac_from_the_xml(rootfs, tmp_path):
    out = run_in_new_netns(_bridge_scenario, str(rootfs), str(tmp_path / "lxc"), timeout=60)
    veth = out["veths"][0]
    assert veth in out["ports"]
    assert "52:54:00:12:34:56" in out["console"]
    assert "PING-1OK" in out["console"]
    assert f"<target dev='{veth}'/>" in out["xml"] and "<guest dev='eth0'/>" in out["xml"]
    assert out["ifstats"][0] > 0 and out["ifstats"][4] > 0      # rx and tx bytes
    assert veth not in out["after"]


NAT_XML = """<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge stp='off'/>
  <domain name='ct.test' localOnly='yes'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.150.2' end='192.168.150.254'/>
      <host mac='52:54:00:00:15:01' name='ctdhcp' ip='192.168.150.10'/></dhcp>
  </ip>
</network>"""


def _nat_scenario(rootfs: str, root: str) -> dict:
    import pyvirt
    from pyvirt.drivers.lxc import register
    from pyvirt.drivers.network import close_state, open_network

    register()
    uplink = Netns()
    out: dict = {}
    try:
        veth_into(uplink, "uplct0", "uplct1")
        subprocess.run(["ip", "addr", "add", "10.99.0.1/24", "dev", "uplct0"], check=True)
        subprocess.run(["ip", "link", "set", "uplct0", "up"], check=True)
        uplink.run("ip", "addr", "add", "10.99.0.2/24", "dev", "uplct1")
        net = open_network(Path(root) / "etc" / "network", Path(root) / "run" / "network", False)
        ref = net.network_define_xml_flags(NAT_XML, 0)
        net.network_create(ref)
        conn = pyvirt.open(f"lxc:///embed?root={root}")
        nic = ("<interface type='network'><mac address='52:54:00:00:15:01'/>"
               "<source network='default'/></interface>")
        dom = conn.defineXML(container_xml("ctdhcp", Path(rootfs), extra_devices=nic))
        dom.create()
        console = ConsoleReader(conn, dom)
        try:
            console.run("udhcpc -i eth0 -n -q -t 10 -T 1 -s /etc/udhcpc/default.script "
                        ">/dev/null 2>&1; echo DHCP-RC=$? IP=$(ip -o -4 addr show eth0 | "
                        "awk '{print $4}')", " IP=", timeout=25)
            console.run("ping -c 1 -W 3 10.99.0.2 >/dev/null && echo UPLINK-$((1))OK || "
                        "echo UPLINK-$((1))BAD", "UPLINK-1", timeout=10)
        finally:
            console.close()
        out["console"] = console.text
        out["leases"] = net.network_get_dhcp_leases(ref, None, 0)
        dom.destroy()
        out["after"] = subprocess.run(["ip", "-o", "link"], capture_output=True,
                                      text=True).stdout
        net.network_destroy(ref)
        conn.close()
        close_state(Path(root) / "etc" / "network", Path(root) / "run" / "network")
    finally:
        uplink.close()
    return out


def test_dhcp_lease_on_a_nat_network_and_the_uplink_is_reached(rootfs, tmp_path):
    out = run_in_new_netns(_nat_scenario, str(rootfs), str(tmp_path / "lxc"), timeout=90)
    assert "DHCP-RC=0 IP=192.168.150.10/24" in out["console"], out["console"][-500:]
    assert "UPLINK-1OK" in out["console"], out["console"][-500:]
    assert any(lease.get("ipaddr") == "192.168.150.10" for lease in out["leases"])
    assert "vethct" not in out["after"]


VIRSH = shutil.which("virsh")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pyvirtd(tmp_path):
    """pyvirtd on TCP with the LXC driver registered; lxc:/// kept under tmp_path."""
    from pyvirt.drivers.lxc.state_dir import SYSTEM_ROOT_ENV

    port = _free_port()
    config = tmp_path / "pyvirtd.conf"
    config.write_text(f'listen_tcp = 1\nlisten_tls = 0\nlisten_addr = "127.0.0.1"\n'
                      f'tcp_port = "{port}"\nauth_tcp = "none"\nunix_sock_dir = "{tmp_path}"\n')
    code = ("import sys; from pyvirt.drivers.lxc import register; register(); "
            f"sys.argv = ['pyvirtd', '--listen', '-f', {str(config)!r}]; "
            "from pyvirt.daemon.main import main; sys.exit(main())")
    env = dict(os.environ, **{SYSTEM_ROOT_ENV: str(tmp_path / "lxc")})
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE,
                            text=True)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(ready, timeout=20, what="pyvirtd listening")
        yield f"lxc+tcp://127.0.0.1:{port}/", tmp_path / "lxc"
    finally:
        stop_process(proc, grace=10)


@pytest.mark.realvirsh
@pytest.mark.skipif(VIRSH is None, reason="real virsh (libvirt-clients) not installed")
def test_real_virsh_and_real_binding_console_through_pyvirtd(pyvirtd, rootfs, tmp_path):
    from pyvirt.drivers.lxc.state_dir import dirs_for_root, parse_status

    uri, lxc_root = pyvirtd
    xml = tmp_path / "ct.xml"
    xml.write_text(container_xml("ctv", rootfs))

    def virsh(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([VIRSH, "-c", uri, *args], capture_output=True, text=True,
                              timeout=30)

    assert virsh("define", str(xml)).returncode == 0
    started = virsh("start", "ctv")
    assert started.returncode == 0, started.stderr
    try:
        info = virsh("dominfo", "ctv").stdout
        assert "OS Type:        exe" in info and "State:          running" in info
        assert "state.state=1" in virsh("domstats", "ctv").stdout
        assert "Running hypervisor: LXC" in virsh("version").stdout
        assert "<os_type>exe</os_type>" in virsh("capabilities").stdout
        real = pytest.importorskip("libvirt", reason="real libvirt-python 9.0 not installed")
        remote = real.open(uri)
        try:
            dom = remote.lookupByName("ctv")
            stream = remote.newStream(0)
            dom.openConsole(None, stream, 0)
            received: list[bytes] = []

            def read() -> None:
                try:
                    while True:
                        data = stream.recv(4096)
                        if not data or isinstance(data, int):
                            return
                        received.append(data)
                except real.libvirtError:
                    return

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            stream.send(b"echo OVER-THE-WIRE-$((6*7))\n")
            wait_for(lambda: b"OVER-THE-WIRE-42" in b"".join(received), timeout=10,
                     what=f"the console echo over the wire (got {b''.join(received)!r})")
            try:
                stream.abort()
            except real.libvirtError:      # the reader's recv already saw the abort
                pass
        finally:
            remote.close()
        init_pid = parse_status(dirs_for_root(lxc_root).status_path("ctv").read_text()).init_pid
        assert virsh("shutdown", "ctv").returncode == 0
        wait_for(lambda: "shut off (shutdown)" in virsh("domstate", "--reason", "ctv").stdout,
                 timeout=15, what="shutdown through real virsh")
        assert leftovers(dirs_for_root(lxc_root), "ctv", init_pid, []) == []
    finally:
        virsh("destroy", "ctv")
        virsh("undefine", "ctv")

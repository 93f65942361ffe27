"""Real clients against pyvirtd: Debian's virsh 9.0 and python3-libvirt 9.0.

Each output is compared with what the same real client prints against
libvirt's own in-process ``test:///default`` driver. Lines that differ by
nature (a freshly generated UUID, a clock-based CPU time, the URI) are masked.
Like libvirtd, pyvirtd drops the shared test:///default state when its last
connection closes, so a held connection keeps state between virsh runs.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from process_fixture import stop_process

VIRSH = shutil.which("virsh")
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = [pytest.mark.realvirsh,
              pytest.mark.skipif(VIRSH is None,
                                 reason="real virsh (libvirt-clients) not installed")]

DOM_XML = """<domain type='test'>
  <name>beta</name>
  <memory>1048576</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>
"""

_MASKS = [re.compile(r"^(UUID:\s+).*$", re.M), re.compile(r"^(CPU time:\s+).*$", re.M)]


def mask(text: str) -> str:
    for pattern in _MASKS:
        text = pattern.sub(r"\1<masked>", text)
    return text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Pyvirtd:
    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.port = free_port()
        config = tmp_path / "pyvirtd.conf"
        config.write_text(f'listen_tcp = 1\nlisten_tls = 0\nlisten_addr = "127.0.0.1"\n'
                          f'tcp_port = "{self.port}"\nauth_tcp = "none"\n'
                          f'unix_sock_dir = "{tmp_path}"\n')
        self.proc = subprocess.Popen([sys.executable, "-m", "pyvirt.daemon.main", "--listen",
                                      "-f", str(config)], stderr=subprocess.PIPE, text=True)
        self.socket = str(tmp_path / "libvirt-sock")
        for _ in range(200):
            if os.path.exists(self.socket) and self._unix_ready() and self._tcp_ready():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read())
            time.sleep(0.05)

    def _unix_ready(self) -> bool:
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            probe.close()

    def _tcp_ready(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    @property
    def tcp_uri(self) -> str:
        return f"test+tcp://127.0.0.1:{self.port}/default"

    @property
    def unix_uri(self) -> str:
        return f"test+unix:///default?socket={self.socket}"

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(scope="module")
def pyvirtd(tmp_path_factory):
    daemon = Pyvirtd(tmp_path_factory.mktemp("pyvirtd"))
    yield daemon
    daemon.stop()


def virsh(uri: str, *command: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([VIRSH, "-c", uri, *command], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def same_as_local(pyvirtd, *command: str, uri: str | None = None) -> None:
    remote = virsh(uri or pyvirtd.tcp_uri, *command)
    local = virsh("test:///default", *command)
    assert (remote.returncode, mask(remote.stdout), remote.stderr) == (
        local.returncode, mask(local.stdout), local.stderr)


@pytest.mark.parametrize("command", [
    "list --all", "dominfo test", "dumpxml test", "version", "nodeinfo", "capabilities",
    "net-list --all", "pool-list --all", "vol-list default-pool", "domstats",
    "net-dumpxml default", "pool-info default-pool", "net-info default", "domstate test --reason",
    "dommemstat test", "cpu-stats test", "snapshot-list test", "dumpxml nope", "freecell",
    "list --name --state-running", "vcpuinfo test", "vcpupin test", "schedinfo test",
    "domtime test", "domhostname test", "domfsinfo test", "domifaddr test", "domblkerror test",
    "domblkinfo test vda", "domcontrol test", "nodecpumap", "desc test", "domiflist test",
    "net-dhcp-leases default", "pool-dumpxml default-pool", "maxvcpus", "hostname",
])
def test_read_commands_print_what_local_virsh_prints(pyvirtd, command):
    same_as_local(pyvirtd, *command.split())


def test_over_the_unix_socket(pyvirtd):
    same_as_local(pyvirtd, "list", "--all", uri=pyvirtd.unix_uri)


def test_define_start_destroy_sequence(pyvirtd, tmp_path):
    (tmp_path / "dom.xml").write_text(DOM_XML)
    script = ("define dom.xml; start beta; list --all; dominfo beta; destroy beta; "
              "destroy beta; undefine beta; list --all")
    remote = virsh(pyvirtd.tcp_uri, script, cwd=tmp_path)
    local = virsh("test:///default", script, cwd=tmp_path)
    assert "Domain 'beta' started" in remote.stdout
    assert "error: Requested operation is not valid: domain is not running" in remote.stderr
    assert (remote.returncode, mask(remote.stdout), remote.stderr) == (
        local.returncode, mask(local.stdout), local.stderr)


def test_state_lives_while_a_connection_is_held(pyvirtd, tmp_path):
    (tmp_path / "dom.xml").write_text(DOM_XML)
    holder = virsh_holder(pyvirtd)
    try:
        assert virsh(pyvirtd.tcp_uri, "define", "dom.xml", cwd=tmp_path).returncode == 0
        assert virsh(pyvirtd.tcp_uri, "start", "beta").stdout.strip() == "Domain 'beta' started"
        listed = virsh(pyvirtd.tcp_uri, "list", "--name").stdout.split()
        assert listed == ["test", "beta"]
        assert virsh(pyvirtd.tcp_uri, "destroy", "beta").returncode == 0
        assert virsh(pyvirtd.tcp_uri, "undefine", "beta").returncode == 0
    finally:
        holder.kill()
        holder.wait()


def virsh_holder(pyvirtd) -> subprocess.Popen:
    """A client that keeps test:///default open (as an open virsh would)."""
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys; from pyvirt.remote.client import RemoteClient;"
                               f"c = RemoteClient.unix({pyvirtd.socket!r}); c.open();"
                               "print('ready', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    return holder


def test_event_loop_receives_lifecycle_events(pyvirtd, tmp_path):
    (tmp_path / "dom.xml").write_text(DOM_XML)
    watcher = subprocess.Popen([VIRSH, "-c", pyvirtd.tcp_uri, "event", "--all", "--loop",
                                "--timeout", "2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        # A definition outlives the defining virsh only once the watcher holds
        # test:///default open (libvirtd's rule too): then it is listening.
        for _ in range(200):
            virsh(pyvirtd.tcp_uri, "define", "dom.xml", cwd=tmp_path)
            if "beta" in virsh(pyvirtd.tcp_uri, "list", "--all", "--name").stdout.split():
                break
            time.sleep(0.05)
        assert virsh(pyvirtd.tcp_uri, "start", "beta").returncode == 0
        assert virsh(pyvirtd.tcp_uri, "destroy", "beta").returncode == 0
        assert virsh(pyvirtd.tcp_uri, "undefine", "beta").returncode == 0
        out, _ = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert "event 'lifecycle' for domain 'beta': Started Booted" in out
    assert "event 'lifecycle' for domain 'beta': Stopped Destroyed" in out
    assert "event 'lifecycle' for domain 'beta': Undefined Removed" in out
    assert "event loop timed out" in out


@pytest.mark.parametrize("family, action", [
    ("net", "net-destroy default; net-start default"),
    ("pool", "pool-destroy default-pool; pool-start default-pool"),
])
def test_network_and_pool_events(pyvirtd, family, action):
    watcher = subprocess.Popen([VIRSH, "-c", pyvirtd.tcp_uri, f"{family}-event", "--event",
                                "lifecycle", "--loop", "--timeout", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the watcher holds the state open once a destroyed object stays destroyed
        name = "default" if family == "net" else "default-pool"
        for _ in range(200):
            virsh(pyvirtd.tcp_uri, f"{family}-destroy", name)
            info = virsh(pyvirtd.tcp_uri, f"{family}-info", name).stdout
            if re.search(r"Active:\s+no|State:\s+inactive", info):
                break
            time.sleep(0.05)
        assert virsh(pyvirtd.tcp_uri, f"{family}-start", name).returncode == 0
        assert virsh(pyvirtd.tcp_uri, f"{family}-destroy", name).returncode == 0
        assert virsh(pyvirtd.tcp_uri, f"{family}-start", name).returncode == 0
        out, _ = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    kind = "network" if family == "net" else "storage pool"
    assert f"event 'lifecycle' for {kind} {name}: Started" in out
    assert f"event 'lifecycle' for {kind} {name}: Stopped" in out


def test_read_only_socket_denies_start(pyvirtd):
    uri = f"test+unix:///default?socket={pyvirtd.socket}-ro"
    result = virsh(uri, "destroy", "test")
    assert result.returncode == 1
    assert "read only access prevents virDomainDestroy" in result.stderr
    assert virsh(uri, "list", "--all").returncode == 0


BINDING_SCRIPT = r"""
import sys, threading, time
import libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()
c = libvirt.open(sys.argv[1])
got = []
cid = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                               lambda conn, dom, ev, det, op: got.append((dom.name(), ev, det)),
                               None)
print(c.getType(), c.getVersion(), c.isAlive())
print(sorted(d.name() for d in c.listAllDomains()))
d = c.defineXML(sys.stdin.read())
print(d.name(), d.ID(), d.isActive(), d.isPersistent())
d.create()
print(d.ID() > 0, d.info()[0], d.state())
print(d.XMLDesc(0).count("<name>beta</name>"))
d.destroy()
try:
    d.destroy()
except libvirt.libvirtError as e:
    print("err", e.get_error_code(), e.get_error_domain(), e)
d.undefine()
for _ in range(100):
    if len(got) >= 4:
        break
    time.sleep(0.05)
print(got)
c.domainEventDeregisterAny(cid)
n = c.networkLookupByName("default")
print(n.name(), n.isActive(), n.bridgeName())
p = c.storagePoolLookupByName("default-pool")
print(p.info(), [v.name() for v in p.listAllVolumes()])
t = c.lookupByName("test")
s = t.snapshotCreateXML("<domainsnapshot><name>s9</name></domainsnapshot>")
print(s.getName(), [x.getName() for x in t.listAllSnapshots()])
s.delete()
c.close()
"""


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="no system python3")
def test_real_libvirt_python_over_unix_socket(pyvirtd):
    def run(uri: str) -> subprocess.CompletedProcess:
        return subprocess.run([SYSTEM_PYTHON, "-c", BINDING_SCRIPT, uri], input=DOM_XML,
                              capture_output=True, text=True, timeout=60)
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("python3-libvirt not installed")
    remote, local = run(pyvirtd.unix_uri), run("test:///default")
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout
    assert "[('beta', 0, 0), ('beta', 2, 0), ('beta', 5, 1), ('beta', 1, 0)]" in remote.stdout


# --- byte-for-byte against the real libvirtd --------------------------------------------
LIBVIRTD = shutil.which("libvirtd")
SETPRIV = shutil.which("setpriv")


@pytest.fixture(scope="module")
def real_libvirtd(tmp_path_factory):
    """Debian's libvirtd in session mode as 'nobody' (needs no system config)."""
    if LIBVIRTD is None or SETPRIV is None or os.geteuid() != 0:
        pytest.skip("needs root, libvirtd and setpriv")
    # not under pytest's tmp dir: that one is root-only and 'nobody' must reach it
    base = pathlib.Path(tempfile.mkdtemp(prefix="pyvirt-libvirtd-"))
    for sub in ("run", "home"):
        (base / sub).mkdir(mode=0o700)
        os.chown(base / sub, 65534, 65534)
    os.chown(base, 65534, 65534)
    env = dict(os.environ, HOME=str(base / "home"), XDG_RUNTIME_DIR=str(base / "run"),
               XDG_CONFIG_HOME=str(base / "home" / ".config"))
    proc = subprocess.Popen([SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups",
                             LIBVIRTD], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    sock = base / "run" / "libvirt" / "libvirt-sock"
    try:
        for _ in range(300):
            if sock.exists():
                try:
                    from pyvirt.remote.client import RemoteClient
                    RemoteClient.unix(str(sock), timeout=2).close()
                    break
                except Exception:                   # noqa: BLE001 - not listening yet
                    pass
            if proc.poll() is not None:
                pytest.skip("libvirtd did not start")
            time.sleep(0.05)
        else:
            pytest.skip("libvirtd socket never appeared")
        yield str(sock)
    finally:
        stop_process(proc)
        shutil.rmtree(base, ignore_errors=True)


def _replies(socket_path: str) -> list:
    """Raw reply bodies (or error tuples) for calls whose answers do not depend on time."""
    from pyvirt.remote.client import RemoteClient
    from pyvirt.remote.protocol import TABLE
    by_name = {p.name: p for p in TABLE.procedures.values()}
    client = RemoteClient.unix(socket_path, timeout=10)
    out: list = []

    def call(name, /, **args):
        proc = by_name[name]
        try:
            out.append((name, client.call_raw(proc.number, proc.args.encode(args)
                                              if proc.args else b"")))
        except Exception as err:                        # noqa: BLE001 - compared below
            out.append((name, getattr(err, "err", repr(err))[:3]))

    call("CONNECT_GET_TYPE")                            # before open
    call("AUTH_LIST")
    for feature in range(1, 17):
        if feature != 8:                                # fd passing: not served
            call("CONNECT_SUPPORTS_FEATURE", feature=feature)
    call("CONNECT_OPEN", name="test:///default", flags=0)
    # (a second CONNECT_OPEN: both answer "connection already open", but libvirtd 9.0
    # then also drops the first connection; pyvirtd keeps it)
    dom = client.call("DOMAIN_LOOKUP_BY_NAME", name="test")
    pool = client.call("STORAGE_POOL_LOOKUP_BY_NAME", name="default-pool")
    net = client.call("NETWORK_LOOKUP_BY_NAME", name="default")
    call("NODE_GET_INFO")
    call("NODE_GET_SECURITY_MODEL")
    call("DOMAIN_GET_SECURITY_LABEL", dom=dom)
    call("CONNECT_LIST_ALL_DOMAINS", need_results=1, flags=0)
    call("CONNECT_LIST_ALL_DOMAINS", need_results=0, flags=0)
    call("CONNECT_LIST_ALL_NETWORKS", need_results=1, flags=0)
    call("CONNECT_LIST_ALL_STORAGE_POOLS", need_results=1, flags=0)
    call("STORAGE_POOL_LIST_ALL_VOLUMES", pool=pool, need_results=1, flags=0)
    call("STORAGE_POOL_GET_INFO", pool=pool)
    call("NETWORK_GET_BRIDGE_NAME", net=net)
    call("DOMAIN_GET_STATE", dom=dom, flags=0)
    call("CONNECT_GET_ALL_DOMAIN_STATS", doms=[], stats=1, flags=0)
    call("DOMAIN_GET_CPU_STATS", dom=dom, nparams=0, start_cpu=-1, ncpus=1, flags=0)
    call("NODE_GET_CPU_MAP", need_map=1, need_online=1, flags=0)
    call("DOMAIN_GET_CONTROL_INFO", dom=dom, flags=0)
    call("DOMAIN_GET_DISK_ERRORS", dom=dom, maxerrors=4, flags=0)
    call("DOMAIN_GET_VCPU_PIN_INFO", dom=dom, ncpumaps=2, maplen=1, flags=0)
    call("DOMAIN_GET_FSINFO", dom=dom, flags=0)
    call("DOMAIN_INTERFACE_ADDRESSES", dom=dom, source=0, flags=0)
    call("NODE_GET_CELLS_FREE_MEMORY", startCell=0, maxcells=4)
    call("DOMAIN_LOOKUP_BY_NAME", name="nope")
    call("DOMAIN_LOOKUP_BY_UUID", uuid=bytes(16))
    call("DOMAIN_CREATE", dom=dom)
    call("DOMAIN_DEFINE_XML", xml="<domain")
    call("DOMAIN_BLOCK_STATS_FLAGS", dom=dom, path="vda", nparams=0, flags=0)
    call("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=77)
    call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=99, dom=None)
    call("CONNECT_NETWORK_EVENT_REGISTER_ANY", eventID=1, net=None)
    call("CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY", eventID=2, pool=None)
    call("DOMAIN_SET_SCHEDULER_PARAMETERS", dom=dom, params=[])
    call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=0, dom=None)
    call("CONNECT_NETWORK_EVENT_REGISTER_ANY", eventID=0, net=None)
    call("DOMAIN_SUSPEND", dom=dom)
    call("DOMAIN_RESUME", dom=dom)
    call("NETWORK_DESTROY", net=net)
    call("NETWORK_CREATE", net=net)
    while len(client.events) < 4:                       # all four arrive, in order
        client.wait_event_into()
    out.append(("events", list(client.events)))
    vol = client.call("STORAGE_VOL_CREATE_XML", pool=pool, flags=0,
                      xml="<volume><name>v.img</name><capacity>1024</capacity></volume>")
    call("STORAGE_VOL_GET_INFO", vol=vol)
    call("STORAGE_VOL_GET_PATH", vol=vol)
    call("STORAGE_VOL_DOWNLOAD", vol=vol, offset=0, length=0, flags=0)
    call("STORAGE_VOL_UPLOAD", vol=vol, offset=0, length=0, flags=0)
    call("DOMAIN_OPEN_CONSOLE", dom=dom, dev_name=None, flags=0)
    call("STORAGE_VOL_DELETE", vol=vol, flags=0)
    out.append(("unknown procedure", _raw_error(client, 4242)))
    out.append(("unknown program", _raw_error(client, 3, prog=0x11223344)))
    # a client that opens read-only (VIR_CONNECT_RO) on the read-write socket
    readonly = RemoteClient.unix(socket_path, timeout=10)
    readonly.call("CONNECT_OPEN", name="test:///default", flags=1)
    for name, args in [("DOMAIN_SUSPEND", dict(dom=dom)), ("NETWORK_DESTROY", dict(net=net)),
                       ("DOMAIN_GET_XML_DESC", dict(dom=dom, flags=1)),
                       ("STORAGE_POOL_REFRESH", dict(pool=pool, flags=0)),
                       ("DOMAIN_SNAPSHOT_CREATE_XML", dict(dom=dom, xml_desc="<domainsnapshot/>",
                                                           flags=0)),
                       ("CONNECT_GET_DOMAIN_CAPABILITIES", dict(emulatorbin=None, arch=None,
                                                                machine=None, virttype=None,
                                                                flags=0)),
                       ("DOMAIN_SET_SCHEDULER_PARAMETERS", dict(dom=dom, params=[])),
                       ("CONNECT_LIST_ALL_DOMAINS", dict(need_results=1, flags=0))]:
        proc = by_name[name]
        out.append((f"ro {name}", _raw_error(readonly, proc.number, proc.args.encode(args))))
    readonly.close()
    call("CONNECT_CLOSE")
    client.close()
    return out


def _raw_error(client, number, body=b"", **kwargs):
    try:
        return client.call_raw(number, body, **kwargs)
    except Exception as err:                            # noqa: BLE001 - compared
        return getattr(err, "err", repr(err))[:3]


def test_replies_are_byte_for_byte_libvirtds(pyvirtd, real_libvirtd):
    ours, theirs = _replies(pyvirtd.socket), _replies(real_libvirtd)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    for (name, mine), (_, real) in zip(ours, theirs):
        assert mine == real, name

"""QEMU guests confined by the driver, checked from the kernel's side (real TCG guests).

Each embedded root names its QEMU identity in ``ROOT/etc/qemu.conf`` (numeric
ids that exist nowhere else on the host). Checked: the QEMU process runs as that
uid/gid with ``NoNewPrivs: 1`` and ``Seccomp: 2``, inherits no descriptor it was
not meant to have, sits in a cgroup whose memory limit is the domain's
``<memtune><hard_limit>`` (and follows ``setMemoryParameters``); its disk is its
own (``0600``) while it runs, the backing file only readable through an ACL, the
``0700`` directories on the way passable by it alone; the guest boots to its
marker and powers off gracefully, and then owners, modes, ACLs and the cgroup
are back as they were. Two roots with two users: guest B's identity cannot open
guest A's disk, and the other way round.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from lxml import etree
from process_fixture import kill_recorded_qemus, text_of, wait_for

import pyvirt as libvirt
from pyvirt.cgroups import DomainCgroup, domain_group_name
from pyvirt.drivers.qemu import driver as qdriver, state_dir
from pyvirt.security import acl, state as sec_state
from pyvirt.security.labeller import DacLabeller

REPO = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-system-x86_64")
UID_A, UID_B = 61101, 61102
HARD_KIB = 262144                                  # 256 MiB

pytestmark = [
    pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="confinement needs root"),
]


@pytest.fixture(scope="module")
def guest() -> dict[str, Path]:
    out = REPO / "var" / "guest"
    subprocess.run([str(REPO / "scripts/build-test-guest.sh"), str(out)], capture_output=True)
    if not (out / "vmlinuz").exists() or not (out / "initrd.gz").exists():
        pytest.skip("test guest not available")
    return {"kernel": out / "vmlinuz", "initrd": out / "initrd.gz"}


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


AGENT = ("<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>"
         "</channel>")


def domain_xml(guest: dict[str, Path], name: str, disk: Path, console: Path,
               extra_devices: str = "") -> str:
    return textwrap.dedent(f"""\
        <domain type='qemu'>
          <name>{name}</name>
          <memory unit='MiB'>128</memory>
          <memtune><hard_limit unit='KiB'>{HARD_KIB}</hard_limit></memtune>
          <vcpu>1</vcpu>
          <cputune><shares>512</shares></cputune>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>{guest['kernel']}</kernel>
            <initrd>{guest['initrd']}</initrd>
            <cmdline>console=ttyS0 quiet</cmdline>
          </os>
          <features><acpi/></features>
          <devices>
            <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
              <source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
            <serial type='file'><source path='{console}'/></serial>{extra_devices}
            <memballoon model='none'/>
          </devices>
        </domain>""")


class Root:
    """One embedded driver root whose QEMUs run as ``uid``."""

    def __init__(self, base: Path, uid: int) -> None:
        self.path = base
        (base / "etc").mkdir(parents=True)
        (base / "etc" / "qemu.conf").write_text(
            f'# the guests of this root\nuser = "+{uid}"\ngroup = "+{uid}"\n')
        self.conn = libvirt.open(f"qemu:///embed?root={base}")

    def close(self) -> None:
        """Kill what a failed test left running and give its files back."""
        dirs = state_dir.dirs_for_root(self.path)
        records = kill_recorded_qemus(dirs)
        for rec in records:                          # their cgroups go too
            wait_for(lambda: state_dir.process_start_time(rec.pid) is None or
                     Path(f"/proc/{rec.pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
                     == "Z", what="QEMU to die")
            uuid = etree.fromstring(rec.live_xml.encode()).findtext("uuid")
            group = DomainCgroup(domain_group_name(rec.name, "qemu", uuid[:8]))
            try:
                group.remove(timeout=5.0)
            except libvirt.libvirtError:
                pass
        try:
            self.conn.close()
        except libvirt.libvirtError:
            pass
        qdriver.forget_state_for_tests(dirs)
        security = str(dirs.lib / "security")
        keys = {k for entry in sec_state.load(security)["files"].values() for k in entry["users"]}
        for key in keys:
            DacLabeller(security).restore(key)


@pytest.fixture
def tmp_path():
    """A private 0700 directory outside pytest's shared tree: a pytest session that
    starts meanwhile chmods /tmp/pytest-of-USER, which resets the ACL mask there
    and would take back the guest's search entry."""
    path = Path(tempfile.mkdtemp(prefix="pyvirt-isolation-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def roots(tmp_path: Path):
    made: list[Root] = []

    def make(name: str, uid: int) -> Root:
        made.append(Root(tmp_path / name, uid))
        return made[-1]
    yield make
    for root in made:
        root.close()


def status_of(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def qemu_pid(root: Root, name: str) -> int:
    dirs = state_dir.dirs_for_root(root.path)
    return next(rec.pid for rec in state_dir.load_statuses(dirs)[0] if rec.name == name)


def cgroup_file(pid: int, controller: str, v1_name: str, v2_name: str) -> str:
    """A file of the domain cgroup ``pid`` is in, found through /proc/PID/cgroup
    (QEMU's main thread sits in the domain's ``emulator/`` child, as in libvirt)."""
    mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        path = path.removesuffix("/emulator")
        if controller in controllers.split(","):
            mount = next(m[1] for m in mounts if m[2] == "cgroup" and
                         controller in m[3].split(","))
            return Path(mount + path, v1_name).read_text().strip()
    path = next(line for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
                if line.startswith("0::")).split(":", 2)[2]
    mount = next(m[1] for m in mounts if m[2] == "cgroup2")
    return Path(mount + path, v2_name).read_text().strip()


def memory_limit_of(pid: int) -> int:
    return int(cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max"))


def open_as(uid: int, path: Path, mode: str = "rb") -> str:
    """Try to open ``path`` as ``uid`` (a fresh process): 'ok' or the error's name."""
    code = (f"import os\nos.setgroups([]); os.setgid({uid}); os.setuid({uid})\n"
            f"try:\n    open({str(path)!r}, {mode!r}).close(); print('ok')\n"
            f"except OSError as e:\n    print(type(e).__name__)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_guest_runs_confined_and_everything_comes_back(roots, tmp_path: Path, guest) -> None:
    tmp_path.chmod(0o700)
    root = roots("a", UID_A)
    base, disk = tmp_path / "base.qcow2", root.path / "a.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(base), "16M")
    base.chmod(0o600)
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(disk))
    disk.chmod(0o644)
    console = root.path / "a.console"
    sentinel = os.open(tmp_path / "secret", os.O_RDWR | os.O_CREAT, 0o600)
    os.set_inheritable(sentinel, True)               # must still not reach QEMU
    dom = root.conn.defineXML(domain_xml(guest, "a", disk, console))
    try:
        dom.create()
    finally:
        os.close(sentinel)
    wait_for(lambda: "PYVIRT-GUEST-READY" in text_of(console), what="the guest's marker")
    pid = qemu_pid(root, "a")

    status = status_of(pid)
    assert status["Uid"].split() == [str(UID_A)] * 4
    assert status["Gid"].split() == [str(UID_A)] * 4
    assert status["Groups"].split() == [str(UID_A)]
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"
    links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert str(tmp_path / "secret") not in links
    files = {link for link in links if link.startswith("/")}
    allowed = {str(disk), str(base), str(console), "/dev/null",
               str(state_dir.dirs_for_root(root.path).log_path("a"))}
    assert files <= allowed | {f for f in files if f.startswith(("/dev/", "/memfd:"))}, files
    assert memory_limit_of(pid) == HARD_KIB * 1024

    st = disk.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (UID_A, UID_A, 0o600)
    st = base.stat()                     # group bits show the ACL mask (r--)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o640)
    assert (acl.USER, acl.READ, UID_A) in acl.read(str(base))
    assert (acl.USER, acl.SEARCH, UID_A) in acl.read(str(tmp_path))
    assert open_as(UID_A, disk, "r+b") == "ok" and open_as(UID_A, base) == "ok"
    assert open_as(UID_A, base, "r+b") == "PermissionError"

    assert root.conn.getSecurityModel() == ["dac", "0"]
    assert dom.securityLabel() == [f"+{UID_A}:+{UID_A}", True]
    assert (f"<seclabel type='dynamic' model='dac' relabel='yes'>\n    "
            f"<label>+{UID_A}:+{UID_A}</label>\n    <imagelabel>+{UID_A}:+{UID_A}"
            f"</imagelabel>\n  </seclabel>") in dom.XMLDesc()
    assert dom.memoryParameters()["hard_limit"] == HARD_KIB
    assert dom.schedulerType() == ("posix", 9)
    assert dom.schedulerParameters()["cpu_shares"] == 512
    assert cgroup_file(pid, "cpu", "cpu.shares", "cpu.weight") in ("512", "20")
    dom.setSchedulerParametersFlags({"cpu_shares": 1024}, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert cgroup_file(pid, "cpu", "cpu.shares", "cpu.weight") in ("1024", "39")
    assert dom.schedulerParameters()["cpu_shares"] == 1024
    dom.setMemoryParameters({"hard_limit": 2 * HARD_KIB}, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert memory_limit_of(pid) == 2 * HARD_KIB * 1024
    assert "<hard_limit unit='KiB'>524288</hard_limit>" in dom.XMLDesc()
    assert f"<hard_limit unit='KiB'>{HARD_KIB}</hard_limit>" in dom.XMLDesc(
        libvirt.VIR_DOMAIN_XML_INACTIVE)

    hot = root.path / "hot.qcow2"                    # a hot-plugged disk is the guest's too
    qemu_img("create", "-q", "-f", "qcow2", str(hot), "8M")
    dom.attachDeviceFlags(f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                          f"<source file='{hot}'/><target dev='vdb' bus='virtio'/></disk>",
                          libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert (hot.stat().st_uid, stat.S_IMODE(hot.stat().st_mode)) == (UID_A, 0o600)

    dom.shutdown()
    wait_for(lambda: dom.info()[0] == libvirt.VIR_DOMAIN_SHUTOFF, what="a graceful power-off")
    assert (hot.stat().st_uid, stat.S_IMODE(hot.stat().st_mode)) == (0, 0o644)
    assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    st = disk.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644)
    assert all(entry[2] != UID_A for entry in acl.read(str(base)))
    assert all(entry[2] != UID_A for entry in acl.read(str(tmp_path)))
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    assert open_as(UID_A, disk) == "PermissionError"
    assert not list(Path("/sys/fs/cgroup").glob("*/machine/a.pyvirt-qemu*")) and \
        not list(Path("/sys/fs/cgroup").glob("machine/a.pyvirt-qemu*"))
    assert dom.securityLabel() == ["", False]


def test_two_users_cannot_open_each_others_disks(roots, tmp_path: Path, guest) -> None:
    doms, disks = {}, {}
    for name, uid in (("ga", UID_A), ("gb", UID_B)):
        root = roots(name, uid)
        disks[name] = root.path / f"{name}.qcow2"
        qemu_img("create", "-q", "-f", "qcow2", str(disks[name]), "16M")
        doms[name] = root.conn.createXML(     # with a guest agent socket QEMU makes
            domain_xml(guest, name, disks[name], root.path / f"{name}.console", AGENT), 0)
        run_dir = root.path / "run" / "qemu" / f"domain-{name}"
        sock = run_dir / "org.qemu.guest_agent.0.sock"
        assert (run_dir.stat().st_uid, sock.stat().st_uid) == (uid, uid)
    assert doms["ga"].securityLabel()[0] == f"+{UID_A}:+{UID_A}"
    assert doms["gb"].securityLabel()[0] == f"+{UID_B}:+{UID_B}"
    assert disks["ga"].stat().st_uid == UID_A and disks["gb"].stat().st_uid == UID_B
    # each identity opens its own disk, never the other's (read or write)
    assert open_as(UID_A, disks["ga"], "r+b") == "ok"
    assert open_as(UID_B, disks["gb"], "r+b") == "ok"
    assert open_as(UID_B, disks["ga"]) == "PermissionError"
    assert open_as(UID_A, disks["gb"], "r+b") == "PermissionError"
    for dom in doms.values():
        dom.destroy()
    assert disks["ga"].stat().st_uid == 0 and disks["gb"].stat().st_uid == 0
    assert not (tmp_path / "ga" / "run" / "qemu" / "domain-ga").exists()


def _gone_or_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:                 # gone between two looks
        return True


def test_a_failed_start_and_a_guest_found_dead_give_their_files_back(roots, tmp_path: Path,
                                                                     guest) -> None:
    root = roots("c", UID_A)
    broken = root.path / "broken.qcow2"
    broken.write_bytes(b"not a qcow2 image" * 64)             # QEMU refuses it
    broken.chmod(0o640)
    dom = root.conn.defineXML(domain_xml(guest, "broken", broken, root.path / "b.console"))
    with pytest.raises(libvirt.libvirtError):
        dom.create()
    st = broken.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o640)
    assert all(entry[2] != UID_A for entry in acl.read(str(tmp_path)))

    disk = root.path / "d.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(disk), "16M")
    dom = root.conn.createXML(domain_xml(guest, "d", disk, root.path / "d.console"),
                              libvirt.VIR_DOMAIN_START_PAUSED)
    assert disk.stat().st_uid == UID_A
    pid = qemu_pid(root, "d")
    # the managing process goes away; its QEMU dies while nobody watches
    root.conn.close()
    qdriver.forget_state_for_tests(state_dir.dirs_for_root(root.path))
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _gone_or_zombie(pid), what="QEMU to die")
    root.conn = libvirt.open(f"qemu:///embed?root={root.path}")   # reattach finds it dead
    assert [d.name() for d in root.conn.listAllDomains()] == ["broken"]   # d was transient
    st = disk.stat()
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert all(entry[2] != UID_A for entry in acl.read(str(tmp_path)))


def cgroup_dir_of(pid: int, controller: str) -> Path:
    """The v1 directory of the cgroup thread/process ``pid`` is in."""
    mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            mount = next(m[1] for m in mounts if m[2] == "cgroup" and
                         controller in m[3].split(","))
            return Path(mount + path)
    raise AssertionError(f"no v1 {controller} hierarchy")


@pytest.mark.skipif(not Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").exists(),
                    reason="needs the v1 cpu controller (cpu.cfs_quota_us)")
def test_each_vcpu_thread_has_its_own_cgroup(roots, tmp_path: Path, guest) -> None:
    tmp_path.chmod(0o700)
    root = roots("v", UID_A)
    disk = root.path / "v.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(disk), "16M")
    xml = domain_xml(guest, "v", disk, root.path / "v.console").replace(
        "<vcpu>1</vcpu>", "<vcpu current='2'>3</vcpu>").replace(
        "<cputune><shares>512</shares></cputune>",
        "<cputune><shares>512</shares><vcpupin vcpu='1' cpuset='0'/>"
        "<emulatorpin cpuset='1'/><period>50000</period><quota>20000</quota>"
        "<global_period>100000</global_period><global_quota>150000</global_quota>"
        "<emulator_period>40000</emulator_period><emulator_quota>30000</emulator_quota>"
        "</cputune>")
    dom = root.conn.createXML(xml, 0)
    pid = qemu_pid(root, "v")
    domain_dir = cgroup_dir_of(pid, "cpu").parent          # .../emulator -> the domain
    assert cgroup_dir_of(pid, "cpu").name == "emulator"
    cpus = root.conn.lookupByName("v")
    tids = {}
    for index in (0, 1):
        group = domain_dir / f"vcpu{index}"
        assert (group / "cpu.cfs_period_us").read_text().strip() == "50000"
        assert (group / "cpu.cfs_quota_us").read_text().strip() == "20000"
        tids[index] = (group / "tasks").read_text().split()
    assert (domain_dir / "emulator" / "cpu.cfs_period_us").read_text().strip() == "40000"
    assert (domain_dir / "emulator" / "cpu.cfs_quota_us").read_text().strip() == "30000"
    assert (domain_dir / "cpu.cfs_quota_us").read_text().strip() == "150000"
    emulator_tids = (domain_dir / "emulator" / "tasks").read_text().split()
    assert str(pid) in emulator_tids
    threads = set(os.listdir(f"/proc/{pid}/task"))
    assert set(emulator_tids) | set(tids[0]) | set(tids[1]) == threads
    if tids[0] and tids[1]:                 # multi-threaded TCG: one thread per vCPU
        assert len(tids[0]) == len(tids[1]) == 1 and tids[0] != tids[1]
        assert os.sched_getaffinity(int(tids[1][0])) == {0}
        cpuset_dir = cgroup_dir_of(int(tids[1][0]), "cpuset")
        assert cpuset_dir.name == "vcpu1" and (cpuset_dir / "cpuset.cpus").read_text(
        ).strip() == "0"
    assert cgroup_dir_of(pid, "cpuset").name == "emulator"
    params = cpus.schedulerParameters()
    assert (params["vcpu_period"], params["vcpu_quota"]) == (50000, 20000)
    assert (params["emulator_period"], params["emulator_quota"]) == (40000, 30000)
    assert (params["global_period"], params["global_quota"]) == (100000, 150000)
    dom.setSchedulerParametersFlags({"vcpu_quota": 25000}, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert (domain_dir / "vcpu1" / "cpu.cfs_quota_us").read_text().strip() == "25000"
    assert (domain_dir / "cpu.cfs_quota_us").read_text().strip() == "150000"
    assert not (domain_dir / "vcpu2").exists()
    dom.setVcpusFlags(3, libvirt.VIR_DOMAIN_AFFECT_LIVE)       # a hot-plugged vCPU's thread
    plugged = (domain_dir / "vcpu2" / "tasks").read_text().split()
    assert len(plugged) == 1 and plugged[0] not in emulator_tids
    assert (domain_dir / "vcpu2" / "cpu.cfs_quota_us").read_text().strip() == "25000"
    dom.destroy()
    assert not domain_dir.exists()
    assert not list(Path("/sys/fs/cgroup/cpuset/machine").glob(f"*{domain_dir.name}*"))

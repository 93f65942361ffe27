"""cgroup v1 and v2 files, on fake hierarchies made of plain files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.drivers.lxc.cgroup import ContainerCgroup, Layout, group_name, parse_flat_keyed, parse_mounts
from pyvirt.errors import libvirtError

MOUNTS_HYBRID = """\
tmpfs /sys/fs/cgroup tmpfs rw 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""
MOUNTS_V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n"


def test_parse_hybrid_mounts_prefers_v1():
    lay = parse_mounts(MOUNTS_HYBRID, lambda root: "hugetlb")
    assert lay.mount_of("memory") == (Path("/sys/fs/cgroup/memory"), 1)
    assert lay.mount_of("cpuacct") == (Path("/sys/fs/cgroup/cpuacct"), 1)
    assert lay.v2 == Path("/sys/fs/cgroup/unified")
    assert lay.mount_of("pids") is None          # neither v1 nor offered by v2


def test_parse_pure_v2_mounts():
    lay = parse_mounts(MOUNTS_V2, lambda root: "cpuset cpu io memory pids")
    assert lay.mount_of("memory") == (Path("/sys/fs/cgroup"), 2)
    assert lay.mount_of("cpuacct") == (Path("/sys/fs/cgroup"), 2)
    assert lay.mount_of("freezer") == (Path("/sys/fs/cgroup"), 2)


def test_group_name():
    assert group_name("ct1") == "machine/ct1.pyvirt-lxc"
    assert group_name("ct1", "abcd1234") == "machine/lxc-abcd1234-ct1.pyvirt-lxc"


@pytest.fixture
def v1(tmp_path):
    lay = Layout(v1={c: tmp_path / c for c in ("cpu", "cpuacct", "memory", "freezer",
                                                "devices")})
    cg = ContainerCgroup("machine/ct.pyvirt-lxc", lay)
    cg.create()
    return cg


@pytest.fixture
def v2(tmp_path):
    root = tmp_path / "unified"
    root.mkdir()
    lay = Layout(v2=root, v2_controllers=frozenset({"cpu", "memory", "pids"}))
    cg = ContainerCgroup("machine/ct.pyvirt-lxc", lay)
    cg.create()
    return cg


def test_v1_limits_written_in_v1_files(v1):
    mem = v1.path("memory")
    assert mem.is_dir() and v1.version("memory") == 1
    v1.set_memory_limit(32768)
    assert (mem / "memory.limit_in_bytes").read_text() == str(32 * 1024 * 1024)
    v1.set_cpu_shares(512)
    assert (v1.path("cpu") / "cpu.shares").read_text() == "512"
    v1.set_cpu_quota(100000, 50000)
    assert (v1.path("cpu") / "cpu.cfs_period_us").read_text() == "100000"
    assert (v1.path("cpu") / "cpu.cfs_quota_us").read_text() == "50000"
    v1.allow_default_devices()
    assert (v1.path("devices") / "devices.allow").read_text() == "c 10:229 rwm"
    assert (v1.path("devices") / "devices.deny").read_text() == "a"


def test_v2_limits_written_in_v2_files(v2):
    group = v2.path("memory")
    assert group == v2.path("cpu") and v2.version("memory") == 2
    assert (v2.layout.v2 / "cgroup.subtree_control").read_text() in ("+memory", "+cpu", "+pids")
    v2.set_memory_limit(32768)
    assert (group / "memory.max").read_text() == str(32 * 1024 * 1024)
    v2.set_memory_limit(None)
    assert (group / "memory.max").read_text() == "max"
    v2.set_cpu_shares(1024)
    assert (group / "cpu.weight").read_text() == "39"
    v2.set_cpu_quota(100000, 50000)
    assert (group / "cpu.max").read_text() == "50000 100000"


def test_v1_freezer_waits_for_state(v1):
    state = v1.path("freezer") / "freezer.state"
    v1.freeze(True)                 # a plain file reads back what was written
    assert state.read_text() == "FROZEN" and v1.frozen()
    v1.freeze(False)
    assert state.read_text() == "THAWED" and not v1.frozen()


def test_v2_freezer(v2):
    (v2.path("freezer") / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    v2.freeze(True)
    assert v2.frozen()
    (v2.path("freezer") / "cgroup.events").write_text("populated 1\nfrozen 0\n")
    v2.freeze(False)
    assert not v2.frozen()


def test_v1_stats(v1):
    (v1.path("cpuacct") / "cpuacct.usage").write_text("123456789\n")
    (v1.path("memory") / "memory.usage_in_bytes").write_text("4194304\n")
    (v1.path("memory") / "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert v1.cpu_time_ns() == 123456789
    assert v1.memory_usage_kib() == 4096
    assert v1.oom_kills() == 2


def test_v2_stats(v2):
    group = v2.path("memory")
    (group / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
    (group / "memory.current").write_text("8192\n")
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert v2.cpu_time_ns() == 1_500_000
    assert v2.cpu_user_system_ns() == (1_000_000, 500_000)
    assert v2.memory_usage_kib() == 8
    assert v2.oom_kills() == 1


def test_missing_controller_is_a_clear_error(tmp_path):
    cg = ContainerCgroup("machine/x", Layout(v1={"memory": tmp_path / "memory"}))
    with pytest.raises(libvirtError, match="'cpu' cgroup controller is not mounted"):
        cg.set_cpu_shares(10)
    with pytest.raises(libvirtError, match="no freezer"):
        cg.freeze(True)


def test_remove_deletes_every_directory(v1):
    dirs = v1.directories()
    for path in dirs:       # a real cgroup dir can be rmdir'ed with its files; fake: empty it
        for child in path.iterdir():
            child.unlink()
    v1.remove()
    assert not any(p.exists() for p in dirs)
    assert not v1.exists()


def test_parse_flat_keyed():
    assert parse_flat_keyed("a 1\nb -2\nbad\nc x\n") == {"a": 1, "b": -2}


def test_cpu_getters_v1(v1):
    v1.set_cpu_shares(512)
    v1.set_cpu_quota(100000, 25000)
    assert v1.cpu_shares() == 512
    assert v1.cpu_bandwidth() == (100000, 25000)


def test_cpu_getters_v2(v2):
    v2.set_cpu_shares(1024)
    assert abs(v2.cpu_shares() - 1024) < 30        # weight is coarser than shares
    v2.set_cpu_quota(100000, None)
    assert v2.cpu_bandwidth() == (100000, -1)


def test_release_task_goes_back_to_our_own_groups(v1, tmp_path):
    own = "12:memory:/user.slice\n3:cpu:/\n2:cpuacct:/\n1:freezer:/\n0::/init.scope\n"
    (tmp_path / "memory" / "user.slice").mkdir()
    v1.release_task(4242, own)
    assert (tmp_path / "memory" / "user.slice" / "cgroup.procs").read_text() == "4242"
    assert (tmp_path / "cpu" / "cgroup.procs").read_text() == "4242"
    assert not (tmp_path / "devices" / "cgroup.procs").exists()   # not in our /proc list


def test_parse_proc_cgroup():
    from pyvirt.drivers.lxc.cgroup import parse_proc_cgroup

    assert parse_proc_cgroup("4:cpu,cpuacct:/a\n0::/b\n") == {"cpu": "/a", "cpuacct": "/a",
                                                             "": "/b"}

"""A domain cgroup over fake v1 and v2 hierarchies in a temporary directory."""

from pathlib import Path

import pytest

from pyvirt.cgroups.group import (
    DomainCgroup, domain_group_name, shares_to_weight, weight_to_shares,
)
from pyvirt.cgroups.hierarchy import Layout, parse_flat_keyed, parse_mounts, parse_proc_cgroup
from pyvirt.cgroups.tuning import Tuning
from pyvirt.errors import VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, libvirtError

HYBRID = """cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0
cgroup /sys/fs/cgroup/blkio cgroup rw,blkio 0 0
"""


def test_parse_mounts_hybrid_and_v2():
    lay = parse_mounts(HYBRID, lambda root: "hugetlb")
    assert lay.mount_of("memory") == (Path("/sys/fs/cgroup/memory"), 1)
    assert lay.mount_of("cpuacct") == (Path("/sys/fs/cgroup/cpu,cpuacct"), 1)
    assert lay.mount_of("pids") is None
    v2 = parse_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", lambda r: "cpu io memory pids")
    assert v2.mount_of("blkio") == (Path("/sys/fs/cgroup"), 2)
    assert v2.mount_of("cpuacct") == (Path("/sys/fs/cgroup"), 2)


def test_small_parsers():
    assert parse_proc_cgroup("4:memory:/a\n3:cpu,cpuacct:/b\n0::/c\n") == {
        "memory": "/a", "cpu": "/b", "cpuacct": "/b", "": "/c"}
    assert parse_flat_keyed("usage_usec 10\nbad\noom_kill 2\n") == {"usage_usec": 10,
                                                                    "oom_kill": 2}


def test_group_names_cannot_escape():
    assert domain_group_name("vm1") == "machine/vm1.pyvirt-qemu"
    assert domain_group_name("../x", "lxc", "3") == "machine/lxc-3-.._x.pyvirt-lxc"
    with pytest.raises(libvirtError) as info:
        domain_group_name("..")
    assert info.value.get_error_code() == VIR_ERR_OPERATION_INVALID


def test_weight_mapping():
    assert shares_to_weight(1024) == 39 and shares_to_weight(2) == 1
    assert shares_to_weight(262144) == 10000 and weight_to_shares(10000) == 262144


def v1_layout(root: Path) -> Layout:
    ctrls = {c: root / c for c in ("cpu", "cpuacct", "memory", "blkio", "pids")}
    for path in ctrls.values():
        path.mkdir(exist_ok=True)
    return Layout(v1=ctrls)


def test_v1_apply_and_read_back(tmp_path):
    group = DomainCgroup("machine/vm.pyvirt-qemu", v1_layout(tmp_path))
    group.create()
    assert group.exists() and len(group.directories()) == 5
    (group.path("blkio") / "blkio.bfq.weight").write_text("100")
    (group.path("memory") / "memory.memsw.limit_in_bytes").write_text("0")
    group.apply(Tuning(memory_hard_kib=1024, memory_soft_kib=512, swap_hard_kib=2048,
                       cpu_shares=512, cpu_period_us=50000, cpu_quota_us=25000,
                       blkio_weight=300))
    mem = group.path("memory")
    assert (mem / "memory.limit_in_bytes").read_text() == str(1024 * 1024)
    assert (mem / "memory.soft_limit_in_bytes").read_text() == str(512 * 1024)
    assert (mem / "memory.memsw.limit_in_bytes").read_text() == str(2048 * 1024)
    assert group.memory_hard_limit_kib() == 1024 and group.memory_soft_limit_kib() == 512
    assert group.cpu_shares() == 512 and group.cpu_bandwidth() == (50000, 25000)
    assert group.blkio_weight() == 300
    group.set_cpu_bandwidth(None, None)
    assert group.cpu_bandwidth() == (50000, -1)
    group.set_memory_hard_limit(None)
    assert group.memory_hard_limit_kib() is None


def test_v2_apply_and_read_back(tmp_path):
    lay = Layout(v2=tmp_path, v2_controllers=frozenset({"cpu", "memory", "io", "pids"}))
    group = DomainCgroup("machine/vm.pyvirt-qemu", lay)
    group.create()
    assert group.directories() == [tmp_path / "machine/vm.pyvirt-qemu"]
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+pids"  # last one written
    path = group.path("memory")
    (path / "memory.swap.max").write_text("max")
    (path / "io.weight").write_text("default 100\n")
    group.apply(Tuning(memory_hard_kib=1024, memory_soft_kib=512, swap_hard_kib=3072,
                       cpu_shares=1024, cpu_quota_us=20000, blkio_weight=200))
    assert (path / "memory.max").read_text() == str(1024 * 1024)
    assert (path / "memory.high").read_text() == str(512 * 1024)
    assert (path / "memory.swap.max").read_text() == str(2048 * 1024)
    assert (path / "cpu.weight").read_text() == "39"
    assert (path / "cpu.max").read_text() == "20000 100000"
    assert (path / "io.weight").read_text() == "default 200"
    assert group.cpu_bandwidth() == (100000, 20000) and group.blkio_weight() == 200
    assert group.cpu_shares() == weight_to_shares(39)


def test_missing_controller_and_weight(tmp_path):
    group = DomainCgroup("g", Layout(v1={"memory": tmp_path / "memory"}))
    (tmp_path / "memory").mkdir()
    group.create()
    with pytest.raises(libvirtError) as info:
        group.set_cpu_shares(100)
    assert info.value.get_error_code() == VIR_ERR_OPERATION_FAILED
    with pytest.raises(libvirtError):
        group.set_blkio_weight(100)
    assert group.cpu_bandwidth() == (0, -1) and group.pids() == []

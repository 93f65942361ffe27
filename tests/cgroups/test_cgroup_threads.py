"""Per-thread groups (vcpuN/, emulator/): pure helpers, fake v1 hierarchies in a
temporary directory, and the real kernel's files with this process's own threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

from pyvirt.cgroups import threads
from pyvirt.cgroups.group import DomainCgroup
from pyvirt.cgroups.hierarchy import Layout, layout
from pyvirt.cgroups.params import scheduler_parameters
from pyvirt.cgroups.tuning import Tuning
from pyvirt.errors import libvirtError


def test_parse_and_format_cpusets() -> None:
    assert threads.parse_cpuset("0-3,^2,5") == [0, 1, 3, 5]
    assert threads.parse_cpuset("1") == [1]
    assert threads.format_cpuset([5, 0, 1, 3, 2]) == "0-3,5"
    assert threads.format_cpuset([4]) == "4"
    for bad in ("x", "3-1", "-1", ""):
        with pytest.raises(libvirtError):
            threads.parse_cpuset(bad)


def test_pins_and_vcpu_threads() -> None:
    root = etree.fromstring("<domain><cputune><vcpupin vcpu='0' cpuset='1'/>"
                            "<vcpupin vcpu='x' cpuset='1'/><emulatorpin cpuset='0-1'/>"
                            "</cputune></domain>")
    assert threads.pins_of(root) == ({0: "1"}, "0-1")
    assert threads.pins_of(etree.fromstring("<domain/>")) == ({}, None)
    answer = [{"cpu-index": 0, "thread-id": 11}, {"cpu-index": 1, "thread-id": 12},
              {"cpu-index": 2, "thread-id": 12}, {"cpu-index": 3, "thread-id": 10}]
    assert threads.vcpu_threads(answer, pid=10) == {0: 11, 1: 12}


def test_domain_level_keeps_only_the_global_pair() -> None:
    t = threads.domain_level(Tuning(cpu_period_us=1, cpu_quota_us=2, global_quota_us=5000))
    assert (t.cpu_period_us, t.cpu_quota_us) == (None, 5000)


def fake_v1(tmp_path: Path) -> Layout:
    lay = Layout(v1={c: tmp_path / c for c in ("cpu", "cpuacct", "cpuset", "memory")})
    for path in lay.v1.values():
        path.mkdir()
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-3\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    return lay


def test_thread_groups_on_fake_v1(tmp_path: Path) -> None:
    lay = fake_v1(tmp_path)
    dom = DomainCgroup("machine/vm.pyvirt-qemu", lay)
    dom.create()
    vcpu1 = threads.vcpu_group(dom, 1)
    vcpu1.create()
    emulator = threads.emulator_group(dom)
    emulator.create()
    # cpuset levels inherit the parent's CPUs before anything joins them
    for level in ("machine", "machine/vm.pyvirt-qemu", "machine/vm.pyvirt-qemu/vcpu1"):
        assert (tmp_path / "cpuset" / level / "cpuset.cpus").read_text() == "0-3"
    assert not (tmp_path / "memory" / "machine/vm.pyvirt-qemu/vcpu1").exists()
    assert list(threads.existing_vcpu_groups(dom)) == [1]
    assert threads.has_thread_groups(dom)
    for level in ("", "/vcpu1", "/emulator"):           # what the kernel would offer
        (tmp_path / "cpu" / f"machine/vm.pyvirt-qemu{level}" / "cpu.cfs_quota_us").write_text(
            "-1")
    threads.apply_thread_tuning(dom, Tuning(vcpu_period_us=50000, vcpu_quota_us=20000,
                                            emulator_quota_us=30000, global_quota_us=90000))
    vcpu_dir = tmp_path / "cpu" / "machine/vm.pyvirt-qemu/vcpu1"
    assert (vcpu_dir / "cpu.cfs_period_us").read_text() == "50000"
    assert (vcpu_dir / "cpu.cfs_quota_us").read_text() == "20000"
    emu_dir = tmp_path / "cpu" / "machine/vm.pyvirt-qemu/emulator"
    assert (emu_dir / "cpu.cfs_period_us").read_text() == "100000"
    assert (emu_dir / "cpu.cfs_quota_us").read_text() == "30000"
    assert (tmp_path / "cpu/machine/vm.pyvirt-qemu/cpu.cfs_quota_us").read_text() == "90000"
    sched = scheduler_parameters(Tuning(), dom)
    assert (sched["vcpu_period"], sched["vcpu_quota"]) == (50000, 20000)
    assert (sched["emulator_period"], sched["emulator_quota"]) == (100000, 30000)
    assert (sched["global_period"], sched["global_quota"]) == (100000, 90000)
    vcpu1.set_cpus("2")
    assert vcpu1.cpus() == "2"


def test_removing_the_domain_group_removes_its_children(tmp_path: Path) -> None:
    lay = fake_v1(tmp_path)
    dom = DomainCgroup("machine/vm.pyvirt-qemu", lay)
    dom.create()
    threads.vcpu_group(dom, 0).create()
    threads.emulator_group(dom).create()
    # a fake hierarchy holds plain files, which rmdir cannot take: leave only dirs
    for path in tmp_path.rglob("*"):
        if path.is_file() and "vm.pyvirt-qemu" in str(path):
            path.unlink()
    dom.remove()
    for ctrl in ("cpu", "cpuacct", "cpuset", "memory"):
        assert not (tmp_path / ctrl / "machine/vm.pyvirt-qemu").exists()


REAL_CPU = layout().mount_of("cpu")


@pytest.mark.skipif(os.geteuid() != 0 or REAL_CPU is None or REAL_CPU[1] != 1,
                    reason="needs root and the v1 cpu controller")
def test_real_threads_move_into_their_groups() -> None:
    """A helper process with two extra threads stands in for QEMU: two 'vCPUs'."""
    import subprocess
    import sys
    code = ("import threading, time, sys\n"
            "ev = threading.Event()\n"
            "ts = [threading.Thread(target=ev.wait) for _ in range(2)]\n"
            "[t.start() for t in ts]\n"
            "print('ready', flush=True); sys.stdin.read(); ev.set()\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    dom = DomainCgroup(f"machine/pyvirt-test-threads-{os.getpid()}.pyvirt-qemu")
    try:
        assert child.stdout.readline().strip() == "ready"
        dom.create()
        dom.add_task(child.pid)
        tids = sorted(int(t) for t in os.listdir(f"/proc/{child.pid}/task"))
        vcpus = {0: tids[-2], 1: tids[-1]}
        groups = threads.place_threads(dom, child.pid, vcpus,
                                       Tuning(vcpu_period_us=50000, vcpu_quota_us=10000),
                                       etree.fromstring("<domain><cputune><vcpupin vcpu='1' "
                                                        "cpuset='0'/></cputune></domain>"))
        assert set(groups) == {"emulator", "vcpu0", "vcpu1"}
        assert groups["vcpu0"].threads() == [tids[-2]]
        assert groups["vcpu1"].threads() == [tids[-1]]
        assert set(groups["emulator"].threads()) == set(tids[:-2])
        assert (groups["vcpu1"].path("cpu") / "cpu.cfs_quota_us").read_text().strip() == \
            "10000"
        assert os.sched_getaffinity(tids[-1]) == {0}
        if groups["vcpu1"].path("cpuset") is not None:
            assert groups["vcpu1"].cpus() == "0"
        # placing again (as after a vCPU hot-plug) keeps every thread where it is
        threads.place_threads(dom, child.pid, vcpus, Tuning(), None)
        assert groups["vcpu1"].threads() == [tids[-1]]
    finally:
        child.stdin.close()
        child.wait(10)
        dom.remove()
    assert not dom.exists()
    cpuset = layout().mount_of("cpuset")
    if cpuset is not None:
        assert not (cpuset[0] / dom.relpath).exists()


def test_thread_bandwidth_without_children(tmp_path: Path) -> None:
    lay = fake_v1(tmp_path)
    dom = DomainCgroup("machine/none.pyvirt-qemu", lay)
    dom.create()
    assert threads.thread_bandwidth(dom) == {}
    assert not threads.has_thread_groups(dom)


def test_thread_groups_on_fake_v2_are_threaded(tmp_path: Path) -> None:
    lay = Layout(v2=tmp_path, v2_controllers=frozenset({"cpu", "memory"}))
    dom = DomainCgroup("machine/vm.pyvirt-qemu", lay)
    dom.create()
    vcpu0 = threads.vcpu_group(dom, 0)
    vcpu0.create()
    assert (tmp_path / "machine/vm.pyvirt-qemu/vcpu0/cgroup.type").read_text() == "threaded"
    assert "+cpu" in (tmp_path / "machine/vm.pyvirt-qemu/cgroup.subtree_control").read_text()
    # no cpu.max files (a host without the cpu controller below): nothing is written
    threads.apply_thread_tuning(dom, Tuning(vcpu_quota_us=20000))
    assert not (tmp_path / "machine/vm.pyvirt-qemu/vcpu0/cpu.max").exists()
    (tmp_path / "machine/vm.pyvirt-qemu/vcpu0/cpu.max").write_text("max 100000")
    threads.apply_thread_tuning(dom, Tuning(vcpu_quota_us=20000))
    assert (tmp_path / "machine/vm.pyvirt-qemu/vcpu0/cpu.max").read_text() == "20000 100000"
    assert threads.thread_bandwidth(dom)["vcpu"] == (100000, 20000)

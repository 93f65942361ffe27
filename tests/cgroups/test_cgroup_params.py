"""memtune/schedinfo/blkiotune typed parameters over a Tuning and a live group."""

import pytest
from lxml import etree

from pyvirt.cgroups.group import DomainCgroup
from pyvirt.cgroups.hierarchy import Layout
from pyvirt.cgroups.params import (
    blkio_parameters, memory_parameters, scheduler_parameters, with_blkio_parameters,
    with_memory_parameters, with_scheduler_parameters, write_tuning,
)
from pyvirt.cgroups.tuning import MEMORY_UNLIMITED, Tuning, tuning_of
from pyvirt.errors import VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_INVALID_ARG, libvirtError

U = MEMORY_UNLIMITED


def test_config_getters_match_libvirts_shapes():
    assert memory_parameters(Tuning()) == {"hard_limit": U, "soft_limit": U,
                                           "swap_hard_limit": U}
    sched = scheduler_parameters(Tuning(cpu_shares=1024, vcpu_period_us=100000))
    assert list(sched) == ["cpu_shares", "global_period", "global_quota", "vcpu_period",
                           "vcpu_quota", "emulator_period", "emulator_quota",
                           "iothread_period", "iothread_quota"]
    assert sched["cpu_shares"] == 1024 and sched["vcpu_period"] == 100000
    assert sched["global_quota"] == 0
    assert blkio_parameters(Tuning()) == {
        "weight": 0, "device_weight": "", "device_read_iops_sec": "",
        "device_write_iops_sec": "", "device_read_bytes_sec": "", "device_write_bytes_sec": ""}


def test_live_getters_read_the_group(tmp_path):
    lay = Layout(v1={c: tmp_path / c for c in ("cpu", "memory", "blkio")})
    for c in lay.v1.values():
        c.mkdir()
    group = DomainCgroup("g", lay)
    group.create()
    group.apply(Tuning(memory_hard_kib=2048, cpu_shares=300, cpu_period_us=100000,
                       cpu_quota_us=50000))
    (group.path("memory") / "memory.soft_limit_in_bytes").write_text("9223372036854771712")
    assert memory_parameters(Tuning(), group) == {"hard_limit": 2048, "soft_limit": U,
                                                  "swap_hard_limit": U}
    sched = scheduler_parameters(Tuning(), group)
    assert sched["cpu_shares"] == 300
    assert (sched["global_period"], sched["global_quota"]) == (100000, 50000)
    assert (sched["vcpu_period"], sched["vcpu_quota"]) == (100000, -1)


def test_setters():
    t = with_memory_parameters(Tuning(), {"hard_limit": 1024, "swap_hard_limit": U})
    assert t.memory_hard_kib == 1024 and t.swap_hard_kib is None
    with pytest.raises(libvirtError) as info:
        with_memory_parameters(t, {"swap_hard_limit": 512})
    assert info.value.get_error_code() == VIR_ERR_INVALID_ARG
    s = with_scheduler_parameters(Tuning(), {"cpu_shares": 500, "vcpu_quota": 20000}, vcpus=2)
    assert (s.cpu_shares, s.vcpu_quota_us, s.cpu_period_us, s.cpu_quota_us) == (
        500, 20000, 100000, 40000)
    s = with_scheduler_parameters(s, {"vcpu_quota": -1})
    assert s.vcpu_quota_us is None and s.cpu_quota_us is None
    for bad in ({"cpu_shares": 1}, {"vcpu_period": 10}, {"global_quota": 5}):
        with pytest.raises(libvirtError) as info:
            with_scheduler_parameters(Tuning(), bad)
        assert info.value.get_error_code() == VIR_ERR_INVALID_ARG
    assert with_blkio_parameters(Tuning(), {"weight": 300}).blkio_weight == 300
    for bad in ({"bogus": 1}, {"device_weight": "/dev/sda,100"}):
        with pytest.raises(libvirtError) as info:
            with_blkio_parameters(Tuning(), bad)
        assert info.value.get_error_code() == VIR_ERR_ARGUMENT_UNSUPPORTED


def test_write_tuning_round_trips_through_the_xml():
    root = etree.fromstring("<domain><name>a</name><memtune><min_guarantee>1</min_guarantee>"
                            "<soft_limit>5</soft_limit></memtune></domain>")
    tuning = Tuning(memory_hard_kib=4096, cpu_shares=700, vcpu_quota_us=30000,
                    blkio_weight=200)
    write_tuning(root, tuning)
    assert root.find("memtune/min_guarantee") is not None        # kept
    assert root.find("memtune/soft_limit") is None                # cleared
    assert root.find("memtune/hard_limit").get("unit") == "KiB"
    back = tuning_of(root)
    assert (back.memory_hard_kib, back.cpu_shares, back.vcpu_quota_us, back.blkio_weight) == (
        4096, 700, 30000, 200)
    write_tuning(root, Tuning())
    assert root.find("cputune") is None and root.find("blkiotune") is None


def test_write_tuning_keeps_libvirts_order():
    root = etree.fromstring("<domain><name>a</name><memory>1</memory><vcpu>1</vcpu>"
                            "<cputune><quota>2000</quota><vcpupin vcpu='0' cpuset='0'/>"
                            "</cputune><os/><devices/></domain>")
    write_tuning(root, Tuning(memory_hard_kib=1, swap_hard_kib=2, memory_soft_kib=1,
                              cpu_shares=5, vcpu_quota_us=2000, global_quota_us=3000,
                              blkio_weight=100))
    assert [c.tag for c in root] == ["name", "memory", "blkiotune", "memtune", "vcpu",
                                     "cputune", "os", "devices"]
    assert [c.tag for c in root.find("cputune")] == ["shares", "quota", "global_quota",
                                                      "vcpupin"]
    assert [c.tag for c in root.find("memtune")] == ["hard_limit", "soft_limit",
                                                      "swap_hard_limit"]

"""Stats as libvirt's test driver makes them up, and event registration."""

import time

import pytest

from pyvirt.errors import (
    VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID,
    VIR_FROM_DOMAIN, VIR_FROM_TEST, libvirtError,
)


def err(fn, *args):
    with pytest.raises(libvirtError) as info:
        fn(*args)
    return info.value


def test_cpu_stats(hv, test_ref):
    assert hv.domain_get_cpu_stats(test_ref, -1, 1, 0) == [
        {"cpu_time": 48772617035, "user_time": 5540000000, "system_time": 6460000000}]
    assert hv.domain_get_cpu_stats(test_ref, 0, 16, 0) == [
        {"cpu_time": 24386308517, "vcpu_time": 23151740627},
        {"cpu_time": 24386308518, "vcpu_time": 23151740628}]


def test_block_stats_follow_the_clock(hv, test_ref):
    before = time.time_ns() // 1000
    rd_req, rd_bytes, wr_req, wr_bytes, errs = hv.domain_block_stats(test_ref, "vda")
    after = time.time_ns() // 1000
    assert before // 10 <= rd_req <= after // 10
    assert before // 20 <= rd_bytes <= after // 20
    assert before // 30 <= wr_req <= after // 30
    assert before // 40 <= wr_bytes <= after // 40
    assert before // 2_000_000 <= errs <= after // 2_000_000
    assert hv.domain_block_stats(test_ref, "/guest/diskimage1")[0] >= rd_req
    e = err(hv.domain_block_stats, test_ref, "vdz")
    assert (e.get_error_code(), e.get_error_domain(), str(e)) == (
        VIR_ERR_INVALID_ARG, VIR_FROM_TEST, "invalid argument: invalid path: vdz")
    e = err(hv.domain_block_stats, test_ref, "")
    assert (e.get_error_code(), e.get_error_domain(), str(e)) == (
        84, VIR_FROM_TEST, "Operation not supported: summary statistics are not supported yet")


def test_interface_stats(hv, test_ref):
    before = time.time_ns() // 1000
    stats = hv.domain_interface_stats(test_ref, "testnet0")
    assert len(stats) == 8 and stats[0] >= before // 10 and stats[5] >= before // 110
    assert hv.domain_interface_stats(test_ref, "aa:bb:cc:dd:ee:ff")[0] >= stats[0]
    e = err(hv.domain_interface_stats, test_ref, "xx")
    assert (e.get_error_domain(), str(e)) == (
        VIR_FROM_DOMAIN, "invalid argument: 'xx' is not a known interface")


def test_memory_stats(hv, test_ref):
    stats = hv.domain_memory_stats(test_ref, 13, 0)
    assert stats["actual"] == 2097152 and stats["rss"] == 1048576
    assert list(stats)[:3] == ["actual", "swap_in", "swap_out"]


def test_stats_need_a_running_domain(hv, test_ref):
    hv.domain_destroy_flags(test_ref, 0)
    for call, args in ((hv.domain_get_cpu_stats, (-1, 1, 0)), (hv.domain_block_stats, ("vda",)),
                       (hv.domain_interface_stats, ("testnet0",)),
                       (hv.domain_memory_stats, (13, 0))):
        e = err(call, test_ref, *args)
        assert e.get_error_code() == VIR_ERR_OPERATION_INVALID


def test_all_domain_stats_filters_and_enforce(hv, test_ref):
    hv.domain_define_xml_flags("<domain type='test'><name>off</name><memory>1024</memory>"
                               "<os><type>hvm</type></os></domain>", 0)
    got = {ref.name: s for ref, s in hv.connect_get_all_domain_stats(None, 1, 0)}
    assert got == {"test": {"state.state": 1, "state.reason": 0},
                   "off": {"state.state": 5, "state.reason": 0}}
    assert [r.name for r, _ in hv.connect_get_all_domain_stats(None, 0, 1)] == ["test"]
    assert [r.name for r, _ in hv.connect_get_all_domain_stats(None, 0, 64)] == ["off"]
    assert hv.connect_get_all_domain_stats(None, 2, 0)[0][1] == {}   # cpu-total: nothing
    e = err(hv.connect_get_all_domain_stats, None, 2, 1 << 31)
    assert e.get_error_code() == VIR_ERR_ARGUMENT_UNSUPPORTED
    assert [r.name for r, _ in hv.connect_get_all_domain_stats([test_ref], 0, 0)] == ["test"]


def test_event_filter_by_domain_and_deregister(hv, test_ref):
    got = []
    cid = hv.connect_domain_event_register_any(0, test_ref, lambda *a: got.append(a[2:]))
    other = hv.domain_create_xml("<domain type='test'><name>o</name><memory>1024</memory>"
                                 "<os><type>hvm</type></os></domain>", 0)
    hv.domain_suspend(other)
    hv.domain_suspend(test_ref)
    assert got == [(3, 0)]
    hv.connect_domain_event_deregister_any(cid)
    hv.domain_resume(test_ref)
    assert got == [(3, 0)]
    e = err(hv.connect_domain_event_deregister_any, cid)
    assert e.get_error_code() == VIR_ERR_INVALID_ARG


def test_close_drops_callbacks(conn):
    hv = conn.hypervisor
    got = []
    hv.connect_domain_event_register_any(0, None, lambda *a: got.append(a))
    conn.close()
    assert not hv.connect_is_alive()
    hv.domain_suspend(hv.domain_lookup_by_name("test"))
    assert got == []

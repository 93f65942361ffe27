"""Metadata, rename and the smaller guest queries, as libvirt's test driver answers."""

import pytest

from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_NO_DOMAIN_METADATA, VIR_ERR_OPERATION_INVALID, libvirtError,
)


def err(fn, *args):
    with pytest.raises(libvirtError) as info:
        fn(*args)
    return info.value


@pytest.fixture
def meta_events(hv):
    got = []
    hv.connect_domain_event_register_any(23, None, lambda eid, ref, *p: got.append(p))
    return got


def test_description_and_element_metadata(hv, test_ref, meta_events):
    hv.domain_set_metadata(test_ref, 0, "hello", None, None, 0)
    assert hv.domain_get_metadata(test_ref, 0, None, 0) == "hello"
    e = err(hv.domain_get_metadata, test_ref, 2, "http://x/", 0)
    assert (e.get_error_code(), str(e)) == (
        VIR_ERR_NO_DOMAIN_METADATA, "metadata not found: Requested metadata element is not present")
    hv.domain_set_metadata(test_ref, 2, "<a>1</a>", "p", "http://x/", 0)
    assert hv.domain_get_metadata(test_ref, 2, "http://x/", 0) == "<a>1</a>"
    xml = hv.domain_get_xml_desc(test_ref, 0)
    assert xml.index("<description>hello</description>") < xml.index("<metadata>") \
        < xml.index("<memory")
    assert meta_events == [(0, None), (2, "http://x/")]
    hv.domain_set_metadata(test_ref, 2, None, None, "http://x/", 0)
    assert "<metadata>" not in hv.domain_get_xml_desc(test_ref, 0)


def test_rename(hv, test_ref, events):
    e = err(hv.domain_rename, test_ref, "t2", 0)
    assert str(e) == "Requested operation is not valid: cannot rename active domain"
    hv.domain_destroy_flags(test_ref, 0)
    events.take()
    ref = hv.domain_rename(test_ref, "t2", 0)
    assert ref.name == "t2" and ref.uuid == test_ref.uuid
    assert hv.domain_lookup_by_name("t2").uuid == test_ref.uuid
    assert "<name>t2</name>" in hv.domain_get_xml_desc(ref, 0)
    assert events.take() == [(0, "test", 1, 1), (0, "t2", 0, 2)]


def test_guest_queries(hv, test_ref):
    assert hv.domain_get_time(test_ref, 0) == (627319920, 0)
    assert hv.domain_get_block_info(test_ref, "vda", 0) == [
        1099506450432, 1099511627776, 1099511627776]
    e = err(hv.domain_get_block_info, test_ref, "vdz", 0)
    assert (e.get_error_code(), str(e)) == (
        VIR_ERR_INVALID_ARG, "invalid argument: invalid path vdz not assigned to domain")
    assert hv.domain_interface_addresses(test_ref, 0, 0) == {
        "testnet0": {"addrs": [{"addr": "192.168.122.3", "prefix": 24, "type": 0}],
                     "hwaddr": "aa:bb:cc:dd:ee:ff"}}
    assert hv.domain_get_fsinfo(test_ref, 0) == [
        ("/", "vda1", "ext4", ["vda"]), ("/boot", "vda2", "ext4", ["vda"])]
    assert hv.domain_get_disk_errors(test_ref, -1, 0) == {"vda": 1}
    assert hv.domain_get_control_info(test_ref, 0) == [0, 0, 0]
    assert hv.domain_get_hostname(test_ref, 0) == "testhost"
    hv.domain_inject_nmi(test_ref, 0)
    hv.domain_send_key(test_ref, 0, 0, [1], 0)
    hv.domain_destroy_flags(test_ref, 0)
    e = err(hv.domain_get_time, test_ref, 0)
    assert e.get_error_code() == VIR_ERR_OPERATION_INVALID


def test_scheduler(hv, test_ref):
    assert hv.domain_get_scheduler_type(test_ref) == ("fair", 1)
    assert hv.domain_get_scheduler_parameters(test_ref, 1) == {"weight": 50}
    hv.domain_set_scheduler_parameters(test_ref, {"weight": 100})   # accepted, not kept
    assert hv.domain_get_scheduler_parameters_flags(test_ref, 1, 0) == {"weight": 50}
    e = err(hv.domain_get_scheduler_parameters_flags, test_ref, 1, 4)  # TYPED_PARAM_STRING_OKAY
    assert str(e) == "unsupported flags (0x4) in function testDomainGetSchedulerParametersFlags"
    e = err(hv.domain_set_scheduler_parameters, test_ref, {"cap": 1})
    assert e.get_error_code() == VIR_ERR_INVALID_ARG


def test_vcpu_info_and_pinning(hv, test_ref):
    import time
    before = time.time_ns() // 10_000
    info, maps = hv.domain_get_vcpus(test_ref, 16, 2)
    assert [(i[0], i[1], i[3]) for i in info] == [(0, 1, 15), (1, 1, 15)]
    assert info[0][2] >= before
    assert maps == [b"\xff\xff", b"\xff\xff"]
    e = err(hv.domain_pin_vcpu_flags, test_ref, 0, bytes([0b101]), 1)   # no flags in 9.0
    assert str(e) == "unsupported flags (0x1) in function testDomainPinVcpuFlags"
    hv.domain_pin_vcpu_flags(test_ref, 0, bytes([0b101]), 0)
    info, maps = hv.domain_get_vcpus(test_ref, 16, 1)
    assert info[0][3] == 2 and maps[0] == bytes([0b101])
    assert hv.domain_get_vcpu_pin_info(test_ref, 16, 1, 0) == [bytes([0b101]), b"\xff"]
    assert hv.domain_get_vcpu_pin_info(test_ref, 16, 1, 2) == [b"\xff", b"\xff"]   # config
    assert hv.node_get_cpu_map(True, True, 0) == (bytes([0b10101]), 3, 8)
    e = err(hv.domain_pin_vcpu_flags, test_ref, 5, b"\x01", 0)
    assert e.get_error_code() == VIR_ERR_INVALID_ARG
    hv.domain_destroy_flags(test_ref, 0)
    e = err(hv.domain_get_vcpus, test_ref, 16, 2)
    assert str(e) == "Requested operation is not valid: cannot list vcpus for an inactive domain"
    ref = hv.domain_create_with_flags(test_ref, 0)
    assert hv.domain_get_vcpus(ref, 16, 2)[1][0] == b"\xff\xff"     # pinning was live-only

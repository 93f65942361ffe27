"""Memory, vcpus, devices (unsupported) and the define-validate flag."""

import pytest

from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG, VIR_ERR_NO_SUPPORT,
    VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, libvirtError,
)

LIVE, CONFIG, MAXIMUM = 1, 2, 4
DISK = ("<disk type='file' device='disk'><source file='/tmp/x.img'/>"
        "<target dev='vdb' bus='virtio'/></disk>")
UNKNOWN = ("<domain type='test'><name>u</name><memory>1024</memory><os><type>hvm</type></os>"
           "<frobnicate/><devices><disk type='file' bogus='y'><source file='/a'/>"
           "<target dev='vdb'/></disk></devices></domain>")


def err(fn, *args):
    with pytest.raises(libvirtError) as info:
        fn(*args)
    return info.value


def test_set_memory_live_and_config(hv, test_ref):
    hv.domain_set_memory_flags(test_ref, 1048576, 0)            # current = live when running
    assert hv.domain_get_info(test_ref)[2] == 1048576
    assert "2097152</currentMemory>" in hv.domain_get_xml_desc(test_ref, 2)
    hv.domain_set_memory_flags(test_ref, 1024000, CONFIG)
    assert "1024000</currentMemory>" in hv.domain_get_xml_desc(test_ref, 2)
    assert hv.domain_get_info(test_ref)[2] == 1048576
    hv.domain_set_memory_flags(test_ref, 512000, LIVE | CONFIG)
    assert hv.domain_get_info(test_ref)[2] == 512000
    assert "512000</currentMemory>" in hv.domain_get_xml_desc(test_ref, 2)


def test_set_memory_errors(hv, test_ref):
    e = err(hv.domain_set_memory_flags, test_ref, 100000000, 0)
    assert (e.get_error_code(), str(e)) == (
        VIR_ERR_INVALID_ARG, "invalid argument: cannot set memory higher than max memory")
    e = err(hv.domain_set_max_memory, test_ref, 100000)
    assert e.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert str(e) == ("Requested operation is not valid: cannot resize the maximum memory "
                      "on an active domain")
    assert e.get_error_domain() == VIR_FROM_TEST
    hv.domain_destroy_flags(test_ref, 0)
    e = err(hv.domain_set_memory_flags, test_ref, 1024, LIVE)
    assert str(e) == "Requested operation is not valid: domain is not running"


def test_set_max_memory_config_clamps_current(hv, test_ref):
    hv.domain_set_memory_flags(test_ref, 1000000, CONFIG | MAXIMUM)
    xml = hv.domain_get_xml_desc(test_ref, 2)
    assert "<memory unit='KiB'>1000000</memory>" in xml
    assert "<currentMemory unit='KiB'>1000000</currentMemory>" in xml
    assert hv.domain_get_info(test_ref)[1] == 8388608           # live untouched


def test_vcpus(hv, test_ref):
    hv.domain_set_vcpus_flags(test_ref, 1, 0)
    assert hv.domain_get_vcpus_flags(test_ref, 0) == 1
    assert hv.domain_get_vcpus_flags(test_ref, CONFIG) == 2
    e = err(hv.domain_set_vcpus_flags, test_ref, 3, 0)
    assert str(e) == "invalid argument: requested cpu amount exceeds maximum (3 > 2)"
    hv.domain_set_vcpus_flags(test_ref, 4, CONFIG | MAXIMUM)
    assert hv.domain_get_vcpus_flags(test_ref, CONFIG | MAXIMUM) == 4
    assert hv.domain_get_vcpus_flags(test_ref, CONFIG) == 2
    assert hv.domain_get_max_vcpus(test_ref) == 2
    e = err(hv.domain_set_vcpus_flags, test_ref, 4, LIVE | MAXIMUM)
    assert str(e) == ("Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by "
                      "flag 'VIR_DOMAIN_VCPU_MAXIMUM'")
    e = err(hv.domain_set_vcpus_flags, test_ref, 0, 0)
    assert str(e) == "nvcpus in virDomainSetVcpusFlags must not be zero"
    e = err(hv.domain_get_vcpus_flags, test_ref, LIVE | CONFIG)
    assert str(e) == ("Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are "
                      "mutually exclusive")
    assert hv.domain_get_info(test_ref)[3] == 1


def test_config_change_on_transient_refused(hv):
    ref = hv.domain_create_xml("<domain type='test'><name>t</name><memory>2048</memory>"
                               "<os><type>hvm</type></os></domain>", 0)
    e = err(hv.domain_set_memory_flags, ref, 1024, CONFIG)
    assert str(e) == ("Requested operation is not valid: cannot change persistent config "
                      "of a transient domain")


@pytest.mark.parametrize("entry", ["domain_attach_device_flags", "domain_detach_device_flags",
                                   "domain_update_device_flags"])
def test_device_changes_unsupported_like_libvirt(hv, test_ref, entry):
    """libvirt 9.0's test driver has no device hotplug: the entry points are absent."""
    from pyvirt.api._checks import implements
    assert not implements(hv, entry)
    e = err(getattr(hv, entry), test_ref, DISK, LIVE)
    assert e.get_error_code() == VIR_ERR_NO_SUPPORT
    assert "vdb" not in hv.domain_get_xml_desc(test_ref, 0)


def test_define_validate_refuses_unknown_parts(hv):
    e = err(hv.domain_define_xml_flags, UNKNOWN, 1)          # VIR_DOMAIN_DEFINE_VALIDATE
    assert e.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "frobnicate" in str(e) and "bogus" in str(e)
    assert [r.name for r in hv.connect_list_all_domains(0)] == ["test"]


def test_define_without_validate_strips_and_warns(hv, caplog):
    ref = hv.domain_define_xml_flags(UNKNOWN, 0)
    xml = hv.domain_get_xml_desc(ref, 0)
    assert "frobnicate" not in xml and "bogus" not in xml
    messages = hv.domain_get_messages(ref, 0)
    assert len(messages) == 2
    assert "frobnicate" in messages[0] and "bogus" in messages[1]
    assert any("frobnicate" in r.getMessage() for r in caplog.records)


def test_create_xml_validate_flag(hv):
    e = err(hv.domain_create_xml, UNKNOWN, 16)                # VIR_DOMAIN_START_VALIDATE
    assert e.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED


def test_graphics_password_only_with_secure_flag(hv):
    ref = hv.domain_define_xml_flags(
        "<domain type='test'><name>g</name><memory>1024</memory><os><type>hvm</type></os>"
        "<devices><graphics type='vnc' passwd='secret'/></devices></domain>", 0)
    assert "secret" not in hv.domain_get_xml_desc(ref, 0)
    assert "passwd='secret'" in hv.domain_get_xml_desc(ref, 1)     # VIR_DOMAIN_XML_SECURE

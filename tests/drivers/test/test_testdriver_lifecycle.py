"""Domain lifecycle through the driver table: states, ids, errors, events."""

import os

import pytest

from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_DOMAIN, VIR_ERR_OPERATION_FAILED,
    VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, VIR_FROM_TEST,
    libvirtError,
)

SMALL = ("<domain type='test'><name>{name}</name>{uuid}<memory>1024</memory>"
         "<os><type>hvm</type></os></domain>")


def small(name="x", uuid=None):
    return SMALL.format(name=name, uuid=f"<uuid>{uuid}</uuid>" if uuid else "")


def raises(code, message, fn, *args, where=None):
    with pytest.raises(libvirtError) as info:
        fn(*args)
    assert info.value.get_error_code() == code
    assert str(info.value) == message
    if where is not None:
        assert info.value.get_error_domain() == where
    return info.value


def test_real_libvirt_sequence(hv, test_ref, events):
    """The sequence probed on libvirt 9.0's test driver, with its states and events."""
    hv.domain_suspend(test_ref)
    assert hv.domain_get_state(test_ref, 0) == [3, 1]
    hv.domain_resume(test_ref)
    assert hv.domain_get_state(test_ref, 0) == [1, 5]
    hv.domain_reboot(test_ref, 0)
    assert hv.domain_get_state(test_ref, 0) == [1, 1]
    hv.domain_shutdown_flags(test_ref, 0)
    assert hv.domain_get_state(test_ref, 0) == [5, 1]
    ref = hv.domain_create_with_flags(test_ref, 0)
    assert ref.id == 2 and hv.domain_get_state(ref, 0) == [1, 1]
    hv.domain_destroy_flags(ref, 0)
    assert hv.domain_get_state(ref, 0) == [5, 2]
    assert hv.domain_get_id(ref) == -1
    assert events.take() == [
        (0, "test", 3, 0), (0, "test", 4, 0), (0, "test", 5, 0),
        (0, "test", 2, 0), (0, "test", 5, 1)]


def test_reboot_with_on_reboot_destroy_shuts_off(hv, events):
    ref = hv.domain_create_xml("<domain type='test'><name>r</name><memory>1024</memory>"
                               "<os><type>hvm</type></os><on_reboot>destroy</on_reboot>"
                               "</domain>", 0)
    hv.domain_reboot(ref, 0)
    assert hv.connect_list_all_domains(0)[-1].name == "test"     # transient: gone
    assert events.take() == [(0, "r", 2, 0), (0, "r", 5, 0)]


def test_bad_transitions(hv, test_ref):
    raises(VIR_ERR_INTERNAL_ERROR, "internal error: Domain 'test' is already running",
           hv.domain_create_with_flags, test_ref, 0, where=VIR_FROM_TEST)
    raises(VIR_ERR_INTERNAL_ERROR, "internal error: domain 'test' not paused",
           hv.domain_resume, test_ref)
    hv.domain_destroy_flags(test_ref, 0)
    msg = "Requested operation is not valid: domain is not running"
    for call in (hv.domain_destroy_flags, hv.domain_reboot, hv.domain_reset,
                 hv.domain_managed_save):
        raises(VIR_ERR_OPERATION_INVALID, msg, call, test_ref, 0, where=VIR_FROM_DOMAIN)
    raises(VIR_ERR_INTERNAL_ERROR, "internal error: domain 'test' not running",
           hv.domain_shutdown_flags, test_ref, 0)
    raises(VIR_ERR_INTERNAL_ERROR, "internal error: domain 'test' not running",
           hv.domain_suspend, test_ref)


def test_unsupported_start_flags(hv, test_ref):
    hv.domain_destroy_flags(test_ref, 0)
    err = raises(VIR_ERR_INVALID_ARG,
                 "unsupported flags (0x1) in function testDomainCreateWithFlags",
                 hv.domain_create_with_flags, test_ref, 1)
    assert err.get_error_domain() == VIR_FROM_TEST


def test_lookup_errors(hv, test_ref):
    raises(VIR_ERR_NO_DOMAIN, "Domain not found", hv.domain_lookup_by_name, "nope")
    raises(VIR_ERR_NO_DOMAIN, "Domain not found", hv.domain_lookup_by_id, 7)
    raises(VIR_ERR_NO_DOMAIN, "Domain not found", hv.domain_lookup_by_uuid, b"\0" * 16)
    assert hv.domain_lookup_by_id(1).name == "test"
    assert hv.domain_lookup_by_uuid(test_ref.uuid).name == "test"


def test_stale_ref(hv, test_ref):
    hv.domain_destroy_flags(test_ref, 0)
    hv.domain_undefine_flags(test_ref, 0)
    raises(VIR_ERR_NO_DOMAIN, "Domain not found: no domain with matching uuid "
           "'6695eb01-f6a4-8304-79aa-97f2502e193f' (test)", hv.domain_get_info, test_ref)


def test_ids_keep_increasing(hv):
    ref = hv.domain_define_xml_flags(small(), 0)
    assert hv.domain_create_with_flags(ref, 0).id == 2
    hv.domain_destroy_flags(ref, 0)
    assert hv.domain_create_with_flags(ref, 0).id == 3
    assert hv.connect_list_domains(-1) == [1, 3]


def test_managed_save(hv, test_ref, events):
    hv.domain_managed_save(test_ref, 0)
    assert hv.domain_get_state(test_ref, 0) == [5, 5]
    assert hv.domain_has_managed_save_image(test_ref, 0)
    assert [r.name for r in hv.connect_list_all_domains(256)] == ["test"]
    raises(VIR_ERR_OPERATION_INVALID, "Requested operation is not valid: Refusing to undefine "
           "while domain managed save image exists", hv.domain_undefine_flags, test_ref, 0)
    ref = hv.domain_create_with_flags(test_ref, 0)
    assert hv.domain_get_state(ref, 0) == [1, 1]
    assert not hv.domain_has_managed_save_image(ref, 0)
    assert events.take() == [(0, "test", 5, 4), (0, "test", 2, 0)]


def test_managed_save_remove_and_undefine_flag(hv, test_ref):
    hv.domain_managed_save(test_ref, 0)
    hv.domain_managed_save_remove(test_ref, 0)
    assert not hv.domain_has_managed_save_image(test_ref, 0)
    hv.domain_create_with_flags(test_ref, 0)
    hv.domain_managed_save(test_ref, 0)
    hv.domain_undefine_flags(test_ref, 1)   # VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    assert hv.connect_list_all_domains(0) == []


def test_save_writes_file_restore_reads_it(hv, test_ref, events, tmp_path):
    path = str(tmp_path / "test.save")
    hv.domain_save_flags(test_ref, path, None, 0)
    assert hv.domain_get_state(test_ref, 0) == [5, 5]
    with open(path, "rb") as handle:
        data = handle.read()
    assert data.startswith(b"TestGuestMagic\0")
    assert b"<name>test</name>" in data
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    hv.domain_restore_flags(path, None, 0)
    ref = hv.domain_lookup_by_name("test")
    assert ref.id == 2 and hv.domain_get_state(ref, 0) == [1, 3]
    assert events.take() == [(0, "test", 5, 4), (0, "test", 2, 2)]


def test_restore_errors(hv, tmp_path):
    missing = str(tmp_path / "nope")
    raises(VIR_ERR_SYSTEM_ERROR, f"cannot read domain image '{missing}': "
           "No such file or directory", hv.domain_restore_flags, missing, None, 0)
    short = tmp_path / "short"
    short.write_bytes(b"abc")
    raises(VIR_ERR_SYSTEM_ERROR, f"incomplete save header in '{short}': Success",
           hv.domain_restore_flags, str(short), None, 0)
    bad = tmp_path / "bad"
    bad.write_bytes(b"x" * 64)
    raises(VIR_ERR_INTERNAL_ERROR, "internal error: mismatched header magic",
           hv.domain_restore_flags, str(bad), None, 0)


def test_restore_onto_running_domain_refused(hv, test_ref, tmp_path):
    path = str(tmp_path / "s")
    hv.domain_save_flags(test_ref, path, None, 0)
    hv.domain_restore_flags(path, None, 0)
    raises(VIR_ERR_OPERATION_INVALID,
           "Requested operation is not valid: domain 'test' is already active",
           hv.domain_restore_flags, path, None, 0)


def test_transient_domain_vanishes_on_stop(hv, events):
    ref = hv.domain_create_xml(small("t"), 0)
    assert ref.id == 2 and not hv.domain_is_persistent(ref)
    assert [r.name for r in hv.connect_list_all_domains(8)] == ["t"]
    hv.domain_destroy_flags(ref, 0)
    raises(VIR_ERR_NO_DOMAIN, "Domain not found", hv.domain_lookup_by_name, "t")
    assert events.take() == [(0, "t", 2, 0), (0, "t", 5, 1)]


def test_create_xml_paused(hv):
    ref = hv.domain_create_xml(small("p"), 1)   # VIR_DOMAIN_START_PAUSED
    assert hv.domain_get_state(ref, 0) == [3, 1]


def test_undefine_running_makes_transient(hv, test_ref, events):
    hv.domain_undefine_flags(test_ref, 0)
    assert not hv.domain_is_persistent(test_ref)
    assert hv.domain_get_state(test_ref, 0) == [1, 0]
    hv.domain_destroy_flags(test_ref, 0)
    assert hv.connect_list_all_domains(0) == []
    assert events.take() == [(0, "test", 1, 0), (0, "test", 5, 1)]


def test_define_and_redefine_events(hv, test_ref, events):
    hv.domain_define_xml_flags(hv.domain_get_xml_desc(test_ref, 2), 0)
    ref = hv.domain_define_xml_flags(small("new"), 0)
    assert not hv.domain_is_active(ref) and ref.id == -1
    assert hv.connect_list_defined_domains(-1) == ["new"]
    assert hv.connect_num_of_defined_domains() == 1 and hv.connect_num_of_domains() == 1
    assert events.take() == [(0, "test", 0, 1), (0, "new", 0, 0)]


def test_define_makes_transient_persistent(hv, events):
    ref = hv.domain_create_xml(small("t", "11111111-2222-3333-4444-555555555555"), 0)
    hv.domain_define_xml_flags(small("t", "11111111-2222-3333-4444-555555555555"), 0)
    assert hv.domain_is_persistent(ref) and hv.domain_is_active(ref)
    hv.domain_destroy_flags(ref, 0)
    assert hv.domain_lookup_by_name("t").id == -1          # kept: persistent now
    assert events.take() == [(0, "t", 2, 0), (0, "t", 0, 0), (0, "t", 5, 1)]
    again = hv.domain_create_xml(small("t", "11111111-2222-3333-4444-555555555555"), 0)
    assert again.id == 3 and hv.domain_is_persistent(again)


def test_duplicates(hv, test_ref):
    xml = hv.domain_get_xml_desc(test_ref, 2)
    other_uuid = xml.replace("6695eb01", "6695eb02")
    msg = ("operation failed: domain 'test' already exists with uuid "
           "6695eb01-f6a4-8304-79aa-97f2502e193f")
    raises(VIR_ERR_OPERATION_FAILED, msg, hv.domain_define_xml_flags, other_uuid, 0,
           where=VIR_FROM_DOMAIN)
    raises(VIR_ERR_OPERATION_FAILED, msg, hv.domain_create_xml, other_uuid, 0)
    raises(VIR_ERR_OPERATION_FAILED, "operation failed: domain 'test' is already defined with "
           "uuid 6695eb01-f6a4-8304-79aa-97f2502e193f", hv.domain_define_xml_flags,
           xml.replace("<name>test<", "<name>test2<"), 0)
    raises(VIR_ERR_OPERATION_INVALID,
           "Requested operation is not valid: domain 'test' is already active",
           hv.domain_create_xml, xml, 0)


def test_missing_name(hv):
    raises(21, "missing name information", hv.domain_define_xml_flags,
           "<domain type='test'><memory>1024</memory></domain>", 0)


def test_define_fills_libvirt_defaults(hv):
    ref = hv.domain_define_xml_flags(small("d"), 0)
    xml = hv.domain_get_xml_desc(ref, 0)
    assert "<uuid>" in xml
    assert "<currentMemory unit='KiB'>1024</currentMemory>" in xml
    assert "<vcpu placement='static'>1</vcpu>" in xml


def test_autostart(hv, test_ref):
    hv.domain_set_autostart(test_ref, True)
    assert hv.domain_get_autostart(test_ref)
    assert [r.name for r in hv.connect_list_all_domains(1024)] == ["test"]
    ref = hv.domain_create_xml(small("t"), 0)
    hv.domain_set_autostart(ref, True)          # libvirt's test driver allows it
    assert hv.domain_get_autostart(ref)


def test_xml_desc_inactive_shows_config(hv, test_ref):
    hv.domain_set_memory_flags(test_ref, 1024000, 2)   # config only
    assert "<currentMemory unit='KiB'>1024000</currentMemory>" in \
        hv.domain_get_xml_desc(test_ref, 2)
    live = hv.domain_get_xml_desc(test_ref, 0)
    assert "id='1'" in live and "2097152</currentMemory>" in live


def test_concurrent_connections_keep_state_consistent(conn):
    """Threads driving their own domains through one shared state: unique ids,
    no lost updates, no exceptions."""
    import threading

    from pyvirt.drivers.test.driver import TestDriver

    errors, ids = [], []

    def worker(index):
        other = TestDriver._connection("test:///default", conn.hypervisor.state, None)
        hv = other.hypervisor
        try:
            ref = hv.domain_create_xml(small(f"w{index}"), 0)
            ids.append(ref.id)
            for _ in range(30):
                hv.domain_suspend(ref)
                hv.domain_resume(ref)
            hv.domain_destroy_flags(ref, 0)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(ids) == [2, 3, 4, 5]
    assert [r.name for r in conn.hypervisor.connect_list_all_domains(0)] == ["test"]

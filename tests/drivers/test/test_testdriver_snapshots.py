"""Snapshots: create, tree, current, revert (states and events), delete."""

import pytest

from pyvirt.errors import (
    VIR_ERR_NO_DOMAIN_SNAPSHOT, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID,
    VIR_FROM_TEST, libvirtError,
)


def snap(hv, ref, name, flags=0):
    return hv.domain_snapshot_create_xml(
        ref, f"<domainsnapshot><name>{name}</name></domainsnapshot>", flags)


def names(refs):
    return [r.name for r in refs]


def err(fn, *args):
    with pytest.raises(libvirtError) as info:
        fn(*args)
    return info.value


def test_create_tree_and_current(hv, test_ref):
    s1 = snap(hv, test_ref, "s1")
    s2 = snap(hv, test_ref, "s2")
    assert hv.domain_snapshot_current(test_ref, 0).name == "s2"
    assert hv.domain_has_current_snapshot(test_ref, 0)
    assert hv.domain_snapshot_is_current(s2, 0) and not hv.domain_snapshot_is_current(s1, 0)
    assert hv.domain_snapshot_get_parent(s2, 0).name == "s1"
    assert names(hv.domain_snapshot_list_all_children(s1, 0)) == ["s2"]
    assert hv.domain_snapshot_num(test_ref, 0) == 2
    assert names(hv.domain_list_all_snapshots(test_ref, 1)) == ["s1"]       # roots
    assert names(hv.domain_list_all_snapshots(test_ref, 4)) == ["s2"]       # leaves
    assert names(hv.domain_list_all_snapshots(test_ref, 8)) == ["s1"]       # no leaves
    assert names(hv.domain_list_all_snapshots(test_ref, 64)) == ["s1", "s2"]  # active
    assert names(hv.domain_list_all_snapshots(test_ref, 32)) == []          # inactive
    assert hv.domain_snapshot_has_metadata(s1, 0)
    xml = hv.domain_snapshot_get_xml_desc(s2, 0)
    assert "<state>running</state>" in xml
    assert "<parent>\n    <name>s1</name>\n  </parent>" in xml
    assert "<disk name='vda' snapshot='internal'/>" in xml
    assert "<domain type='test'>" in xml        # embedded definition, no id
    assert [r.name for r in hv.connect_list_all_domains(4096)] == ["test"]


def test_snapshot_errors(hv, test_ref):
    s1 = snap(hv, test_ref, "s1")
    e = err(snap, hv, test_ref, "s1")
    assert (e.get_error_code(), str(e)) == (VIR_ERR_OPERATION_FAILED,
                                           "operation failed: domain moment s1 already exists")
    e = err(hv.domain_snapshot_get_parent, s1, 0)
    assert str(e) == "Domain snapshot not found: snapshot 's1' does not have a parent"
    assert e.get_error_domain() == VIR_FROM_TEST
    e = err(hv.domain_snapshot_lookup_by_name, test_ref, "zz", 0)
    assert e.get_error_code() == VIR_ERR_NO_DOMAIN_SNAPSHOT
    assert str(e) == ("Domain snapshot not found: no domain snapshot with matching "
                      "name 'zz'")


def test_no_current_snapshot(hv, test_ref):
    e = err(hv.domain_snapshot_current, test_ref, 0)
    assert str(e) == "Domain snapshot not found: the domain does not have a current snapshot"
    assert not hv.domain_has_current_snapshot(test_ref, 0)


def test_unnamed_snapshot_gets_creation_time(hv, test_ref):
    ref = hv.domain_snapshot_create_xml(test_ref, "<domainsnapshot/>", 0)
    assert ref.name.isdigit()
    assert f"<creationTime>{ref.name}</creationTime>" in \
        hv.domain_snapshot_get_xml_desc(ref, 0)


def test_halt_stops_domain(hv, test_ref, events):
    hv.domain_suspend(test_ref)
    s = snap(hv, test_ref, "s", 8)                  # VIR_DOMAIN_SNAPSHOT_CREATE_HALT
    assert hv.domain_get_state(test_ref, 0) == [5, 7]
    assert "<state>paused</state>" in hv.domain_snapshot_get_xml_desc(s, 0)
    assert events.take() == [(0, "test", 3, 0), (0, "test", 5, 6)]


def test_revert_states_and_events(hv, test_ref, events):
    """Mirrors libvirt 9.0's test driver (states and FROM_SNAPSHOT details)."""
    s1 = snap(hv, test_ref, "s1")                   # running
    hv.domain_suspend(test_ref)
    s2 = snap(hv, test_ref, "s2")                   # paused
    hv.domain_destroy_flags(test_ref, 0)
    s3 = snap(hv, test_ref, "s3")                   # shutoff
    events.take()
    hv.domain_revert_to_snapshot(s1, 0)
    assert hv.domain_get_state(test_ref, 0) == [1, 4]
    assert events.take() == [(0, "test", 2, 3)]
    hv.domain_revert_to_snapshot(s2, 0)
    assert hv.domain_get_state(test_ref, 0) == [3, 7]
    assert events.take() == [(0, "test", 5, 6), (0, "test", 2, 3), (0, "test", 3, 5)]
    hv.domain_revert_to_snapshot(s3, 0)
    assert hv.domain_get_state(test_ref, 0) == [5, 7]
    assert events.take() == [(0, "test", 5, 6)]
    hv.domain_revert_to_snapshot(s1, 2)             # VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
    assert hv.domain_get_state(test_ref, 0) == [3, 7]
    assert events.take() == [(0, "test", 2, 3), (0, "test", 3, 5)]
    assert hv.domain_snapshot_current(test_ref, 0).name == "s1"


def test_revert_restores_memory_setting(hv, test_ref):
    s1 = snap(hv, test_ref, "s1")
    hv.domain_set_memory_flags(test_ref, 1024, 1)
    hv.domain_revert_to_snapshot(s1, 0)
    assert hv.domain_get_info(test_ref)[2] == 2097152


def test_delete_variants(hv, test_ref):
    s1 = snap(hv, test_ref, "s1")
    snap(hv, test_ref, "s2")
    hv.domain_revert_to_snapshot(s1, 0)
    snap(hv, test_ref, "s3")                        # s1 -> {s2, s3}
    hv.domain_revert_to_snapshot(s1, 0)
    hv.domain_snapshot_delete(s1, 4)                # children only
    assert names(hv.domain_list_all_snapshots(test_ref, 0)) == ["s1"]
    assert hv.domain_snapshot_current(test_ref, 0).name == "s1"
    s4 = snap(hv, test_ref, "s4")
    hv.domain_snapshot_delete(s1, 0)                # s4 moves up to a root
    assert names(hv.domain_list_all_snapshots(test_ref, 0)) == ["s4"]
    assert "<parent>" not in hv.domain_snapshot_get_xml_desc(s4, 0)
    e = err(hv.domain_snapshot_get_parent, s4, 0)
    assert e.get_error_code() == VIR_ERR_NO_DOMAIN_SNAPSHOT
    snap(hv, test_ref, "s5")
    hv.domain_snapshot_delete(s4, 1)                # with children
    assert hv.domain_snapshot_num(test_ref, 0) == 0


def test_undefine_inactive_with_snapshots(hv, test_ref):
    snap(hv, test_ref, "s1")
    hv.domain_destroy_flags(test_ref, 0)
    e = err(hv.domain_undefine_flags, test_ref, 0)
    assert e.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert str(e) == ("Requested operation is not valid: cannot delete inactive domain "
                      "with 1 snapshots")
    hv.domain_undefine_flags(test_ref, 2)           # SNAPSHOTS_METADATA
    assert hv.connect_list_all_domains(0) == []


def test_redefine_keeps_given_parent(hv, test_ref):
    s1 = snap(hv, test_ref, "s1")
    xml = hv.domain_snapshot_get_xml_desc(s1, 0)
    hv.domain_snapshot_delete(s1, 0)
    ref = hv.domain_snapshot_create_xml(test_ref, xml, 1)    # REDEFINE
    assert ref.name == "s1"
    assert not hv.domain_has_current_snapshot(test_ref, 0)
    hv.domain_snapshot_create_xml(test_ref, xml.replace("s1", "s1b"), 1 | 2)
    assert hv.domain_snapshot_current(test_ref, 0).name == "s1b"

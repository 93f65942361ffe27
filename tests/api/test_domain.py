"""virDomain and virDomainSnapshot over the fake driver."""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt import libvirtError


def _err(fn):
    with pytest.raises(libvirtError) as info:
        fn()
    return info.value


def test_identity_and_shapes(conn):
    dom = conn.lookupByName("test")
    assert dom.name() == "test"
    assert isinstance(dom.UUID(), bytes) and len(dom.UUID()) == 16
    assert dom.ID() == 1
    assert dom.info() == [pyvirt.VIR_DOMAIN_RUNNING, 8388608, 8388608, 2, 0]
    assert dom.state() == [pyvirt.VIR_DOMAIN_RUNNING, 1]
    assert dom.isActive() == 1 and type(dom.isActive()) is int
    assert dom.connect() is conn


def test_create_refreshes_the_id_and_destroy_clears_it(conn):
    dom = conn.defineXML("<domain><name>vm</name></domain>")
    assert dom.ID() == -1
    assert dom.create() == 0
    assert dom.ID() == 2
    assert dom.destroy() == 0
    assert dom.ID() == -1
    assert dom.createWithFlags(0) == 0 and dom.ID() == 3


def test_driver_error_on_create_running(conn):
    err = _err(conn.lookupByName("test").create)
    assert err.get_error_code() == pyvirt.VIR_ERR_OPERATION_INVALID


def test_set_memory_uses_live_flag(conn, state):
    dom = conn.lookupByName("test")
    assert dom.setMemory(1024) == 0
    assert dom.setMemoryFlags(2048, pyvirt.VIR_DOMAIN_AFFECT_CONFIG) == 0
    assert state.calls[-2:] == [("set_memory", 1024, pyvirt.VIR_DOMAIN_AFFECT_LIVE),
                                ("set_memory", 2048, pyvirt.VIR_DOMAIN_AFFECT_CONFIG)]
    assert dom.info()[2] == 2048


def test_unsupported_domain_call_uses_domain_error_domain(conn):
    err = _err(conn.lookupByName("test").suspend)
    assert (err.get_error_code(), err.get_error_domain()) == (pyvirt.VIR_ERR_NO_SUPPORT,
                                                             pyvirt.VIR_FROM_DOMAIN)
    assert str(err).endswith(": virDomainSuspend")


def test_stats_shapes(conn, state):
    dom = conn.lookupByName("test")
    assert dom.blockStats("vda") == (1, 2, 3, 4, 5)
    assert dom.memoryStats() == {"actual": 2097152}
    assert dom.getCPUStats(True) == [{"cpu_time": 10}]
    assert len(dom.getCPUStats(False)) == 16            # one entry per host CPU
    assert state.calls[-1] == ("cpu_stats", 0, 16, 0)
    err = _err(lambda: dom.blockStats("nope"))
    assert err.get_error_code() == pyvirt.VIR_ERR_INVALID_ARG


def test_device_calls_need_xml(conn):
    err = _err(lambda: conn.lookupByName("test").attachDevice(None))
    assert str(err) == "xml in virDomainAttachDevice must not be NULL"
    assert err.get_error_code() == pyvirt.VIR_ERR_INVALID_ARG


def test_snapshots(conn):
    dom = conn.lookupByName("test")
    snap = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>")
    assert isinstance(snap, pyvirt.virDomainSnapshot)
    assert snap.getName() == "s1"
    assert snap.getDomain() is dom and snap.getConnect() is conn
    assert [s.getName() for s in dom.listAllSnapshots()] == ["s1"]
    assert dom.snapshotListNames() == ["s1"]
    assert dom.snapshotNum() == 1
    assert snap.numChildren() == 0 and snap.listAllChildren() == []
    err = _err(snap.getXMLDesc)
    assert err.get_error_domain() == pyvirt.VIR_FROM_DOMAIN_SNAPSHOT


def test_read_only_snapshot_create_is_denied(ro):
    err = _err(lambda: ro.lookupByName("test").snapshotCreateXML("<domainsnapshot/>"))
    assert err.get_error_domain() == pyvirt.VIR_FROM_DOMAIN_SNAPSHOT
    assert str(err).endswith("virDomainSnapshotCreateXML")

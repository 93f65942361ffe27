"""Whole call sequences on test:///default: the same values and errors as the real
libvirt-python (values the test driver takes from the clock are left out).

Each case opens a connection, runs, and closes it; pyvirt's shared default state
is reset first so every case starts from libvirt's defaults. Skipped without the
real binding.
"""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt.drivers.test.state import SHARED_DEFAULT

libvirt = pytest.importorskip("libvirt", reason="real libvirt-python not installed")
if "pyvirt" in getattr(libvirt, "__file__", ""):
    pytest.skip("not the real binding", allow_module_level=True)
pytestmark = pytest.mark.realvirsh

SNAP = "<domainsnapshot><name>{}</name></domainsnapshot>"
HOST = "<host mac='00:11:22:33:44:55' ip='192.168.122.10'/>"


def _names(items):
    return [x.getName() if hasattr(x, "getName") else x.name() for x in items]


def _dom(c):
    return c.lookupByName("test")


def _net(c):
    return c.networkLookupByName("default")


def _pool(c):
    return c.storagePoolLookupByName("default-pool")


def _snapshot_families(c):
    d = _dom(c)
    for name in "abc":
        d.snapshotCreateXML(SNAP.format(name), 0)
    d.revertToSnapshot(d.snapshotLookupByName("a"))
    d.snapshotCreateXML(SNAP.format("d"), 0)
    a = d.snapshotLookupByName("a")
    return (_names(d.listAllSnapshots(1024)), _names(a.listAllChildren(0)),
            _names(a.listAllChildren(1)), sorted(_names(d.listAllSnapshots(0))))


def _snapshot_redefine_current(c):
    d = _dom(c)
    for name in "ab":
        d.snapshotCreateXML(SNAP.format(name), 0)
    d.snapshotCreateXML(d.snapshotLookupByName("a").getXMLDesc(0), 1 | 2)
    return d.snapshotCurrent(0).getName()


def _snapshot_delete_moves_children(c):
    d = _dom(c)
    for name in "abc":
        d.snapshotCreateXML(SNAP.format(name), 0)
    d.revertToSnapshot(d.snapshotLookupByName("a"))
    d.snapshotCreateXML(SNAP.format("d"), 0)
    d.snapshotLookupByName("b").delete(0)
    return _names(d.listAllSnapshots(1024)), d.snapshotCurrent(0).getName()


def _event_ids(c):
    lv = pyvirt if isinstance(c, pyvirt.virConnect) else libvirt
    lv.virEventRegisterDefaultImpl()
    ids = [c.domainEventRegisterAny(None, 0, lambda *a: None, None),
           c.networkEventRegisterAny(None, 0, lambda *a: None, None),
           c.storagePoolEventRegisterAny(None, 0, lambda *a: None, None),
           c.domainEventRegisterAny(None, 1, lambda *a: None, None)]
    c.domainEventDeregisterAny(ids[0])
    c.domainEventDeregisterAny(ids[3])
    c.networkEventDeregisterAny(ids[1])
    c.storagePoolEventDeregisterAny(ids[2])
    return ids


def _vcpus_after_pin(c):
    d = _dom(c)
    d.pinVcpu(0, (True, False, True))
    info, maps = d.vcpus()
    return [(i[0], i[1], i[3]) for i in info], maps, d.vcpuPinInfo(0), d.vcpuPinInfo(2)


def _net_update_sequence(c):
    n = _net(c)
    n.update(3, 4, -1, HOST, 0)
    n.update(4, 5, -1, "<range start='192.168.122.100' end='192.168.122.110'/>", 0)
    n.update(3, 10, -1, "<host ip='1.2.3.4'><hostname>x</hostname></host>", 0)
    n.update(3, 11, -1, "<txt name='t1' value='v'/>", 0)
    n.update(3, 9, -1, "<portgroup name='pg' default='yes'/>", 0)
    n.update(3, 7, -1, "<interface dev='eth9'/>", 0)
    n.update(1, 4, -1, HOST.replace(".10'", ".20'"), 0)
    return n.XMLDesc(0)


CASES = [
    ("inactive security label", lambda c: (_dom(c).destroy(), _dom(c).securityLabel())),
    ("undefine NVRAM", lambda c: _dom(c).undefineFlags(4)),
    ("undefine snapshots metadata", lambda c: (_dom(c).destroy(), _dom(c).undefineFlags(2))),
    ("list unknown flag", lambda c: c.listAllDomains(1 << 30)),
    ("list checkpoint filters", lambda c: (_names(c.listAllDomains(1 << 14)),
                                           _names(c.listAllDomains(1 << 15)))),
    ("list pools by type", lambda c: (_names(c.listAllStoragePools(1 << 6)),
                                      _names(c.listAllStoragePools(1 << 7)))),
    ("list pools unknown flag", lambda c: c.listAllStoragePools(1 << 20)),
    ("keepalive", lambda c: c.setKeepAlive(5, 3)),
    ("attachDevice", lambda c: _dom(c).attachDevice("<disk/>")),
    ("detachDeviceFlags", lambda c: _dom(c).detachDeviceFlags("<disk/>", 0)),
    ("updateDeviceFlags", lambda c: _dom(c).updateDeviceFlags("<disk/>", 0)),
    ("detachDeviceAlias", lambda c: _dom(c).detachDeviceAlias("ua-x", 0)),
    ("start active pool", lambda c: _pool(c).create(0)),
    ("build active pool", lambda c: _pool(c).build(0)),
    ("volumes of inactive pool", lambda c: (_pool(c).destroy(), _pool(c).listAllVolumes(0))),
    ("volume names of inactive pool", lambda c: (_pool(c).destroy(), _pool(c).listVolumes())),
    ("pool XML inactive", lambda c: _pool(c).XMLDesc(1)),
    ("network XML inactive", lambda c: _net(c).XMLDesc(1)),
    ("domain XML update-cpu", lambda c: _dom(c).XMLDesc(4)),
    ("transient pool autostart", lambda c: c.storagePoolCreateXML(
        "<pool type='dir'><name>tp</name><target><path>/tp</path></target></pool>", 0
    ).setAutostart(1)),
    ("transient network autostart", lambda c: c.networkCreateXML(
        "<network><name>tn</name><uuid>22222222-2222-3333-4444-555555555559</uuid></network>"
    ).setAutostart(1)),
    ("bridge name missing", lambda c: c.networkDefineXML(
        "<network><name>n3</name><ip address='192.168.60.1' netmask='255.255.255.0'/>"
        "</network>").bridgeName()),
    ("empty ip prints open/close", lambda c: c.networkDefineXML(
        "<network><name>n3</name><uuid>22222222-2222-3333-4444-555555555556</uuid>"
        "<ip address='192.168.60.1' netmask='255.255.255.0'/></network>").XMLDesc(0)),
    ("net update sequence", _net_update_sequence),
    ("net update bad command", lambda c: _net(c).update(5, 4, -1, HOST, 0)),
    ("net update bridge", lambda c: _net(c).update(3, 1, -1, "<bridge name='x'/>", 0)),
    ("net update wrong element", lambda c: _net(c).update(3, 4, -1, "<bogus/>", 0)),
    ("net update bad xml", lambda c: _net(c).update(3, 4, -1, "<host", 0)),
    ("net update live on stopped", lambda c: (_net(c).destroy(),
                                              _net(c).update(3, 4, -1, HOST, 1))),
    ("snapshot families", _snapshot_families),
    ("snapshot redefine current", _snapshot_redefine_current),
    ("snapshot current without redefine", lambda c: _dom(c).snapshotCreateXML(
        SNAP.format("x"), 2)),
    ("snapshot redefine without creationTime", lambda c: _dom(c).snapshotCreateXML(
        SNAP.format("x"), 1)),
    ("snapshot no-metadata", lambda c: _dom(c).snapshotCreateXML(SNAP.format("x"), 4)),
    ("snapshot delete metadata-only", lambda c: _dom(c).snapshotCreateXML(
        SNAP.format("x"), 0).delete(2)),
    ("snapshot delete moves children", _snapshot_delete_moves_children),
    ("event callback ids", _event_ids),
    ("per-cpu stats after setVcpus", lambda c: (_dom(c).setVcpus(1),
                                                len(_dom(c).getCPUStats(False)))),
    ("vcpus and pinning", _vcpus_after_pin),
    ("pinVcpuFlags config", lambda c: _dom(c).pinVcpuFlags(0, (True,), 2)),
    ("getCPUMap", lambda c: c.getCPUMap(0)),
    ("metadata", lambda c: (_dom(c).setMetadata(2, "<x>1</x>", "k", "http://a/", 0),
                            _dom(c).metadata(2, "http://a/", 0))),
    ("metadata missing", lambda c: _dom(c).metadata(2, "http://b/", 0)),
    ("scheduler", lambda c: (_dom(c).schedulerType(), _dom(c).schedulerParameters(),
                             _dom(c).setSchedulerParameters({"weight": 100}),
                             _dom(c).schedulerParameters())),
    ("scheduler flags", lambda c: _dom(c).schedulerParametersFlags(0)),
    ("guest facts", lambda c: (_dom(c).hostname(0), _dom(c).blockInfo("vda", 0),
                               _dom(c).interfaceAddresses(0, 0), _dom(c).fsInfo(0),
                               _dom(c).controlInfo(0), _dom(c).diskErrors(0))),
    ("getTime of stopped domain", lambda c: (_dom(c).destroy(), _dom(c).getTime(0))),
    ("rename keeps the handle's name", lambda c: (_dom(c).destroy(),
                                                  _dom(c).rename("t2", 0), _dom(c).name())),
    ("jobInfo", lambda c: _dom(c).jobInfo()),
    ("jobStats", lambda c: _dom(c).jobStats(0)),
    ("abortJob", lambda c: _dom(c).abortJob()),
    ("blockStatsFlags", lambda c: _dom(c).blockStatsFlags("vda", 0)),
    ("blockJobInfo", lambda c: _dom(c).blockJobInfo("vda", 0)),
    ("blockResize", lambda c: _dom(c).blockResize("vda", 1, 0)),
    ("pMWakeup", lambda c: _dom(c).pMWakeup(0)),
    ("guestInfo", lambda c: _dom(c).guestInfo(0, 0)),
    ("securityLabelList", lambda c: _dom(c).securityLabelList()),
    ("managedSaveGetXMLDesc", lambda c: _dom(c).managedSaveGetXMLDesc(0)),
    ("migrateGetMaxSpeed", lambda c: _dom(c).migrateGetMaxSpeed(0)),
    ("setBlockThreshold", lambda c: _dom(c).setBlockThreshold("vda", 1, 0)),
    ("setVcpu", lambda c: _dom(c).setVcpu("0", 0, 0)),
    ("authorizedSSHKeysGet", lambda c: _dom(c).authorizedSSHKeysGet("root", 0)),
    ("define empty line error", lambda c: c.defineXML("<domain\n")),
    ("define blank document", lambda c: c.defineXML("  \n  ")),
]


def _value(lv, call):
    lv.registerErrorHandler(lambda *_: None, None)
    if lv is pyvirt:
        SHARED_DEFAULT.reset_for_tests()
    conn = lv.open("test:///default")
    try:
        result = call(conn)
    except lv.libvirtError as err:
        result = ("error", err.get_error_code(), err.get_error_domain(), str(err))
    finally:
        conn.close()
        lv.registerErrorHandler(None, None)
    return repr(result).replace("<libvirt.", "<").replace("<pyvirt.", "<")


def _plain(value):
    """Handles print differently in the two bindings; keep only the values."""
    import re
    return re.sub(r"<[^<>]* object at 0x[0-9a-f]+>|<virStorageVol [^>]*>", "<handle>", value)


@pytest.mark.parametrize("label,call", CASES, ids=[a for a, _ in CASES])
def test_same_values_as_libvirt(label, call):
    assert _plain(_value(pyvirt, call)) == _plain(_value(libvirt, call))

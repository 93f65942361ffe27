"""What the API layer decides, against the real libvirt-python on test:///default.

Argument checks, read-only refusals, closed connections and return shapes are
made before (or after) the driver runs, so they must match the real binding
exactly: the same code, error domain and message. Skipped without the real
binding or without our test driver.
"""

from __future__ import annotations

import pytest

import pyvirt

libvirt = pytest.importorskip("libvirt", reason="real libvirt-python not installed")
import pyvirt.drivers.test  # noqa: E402,F401 - registers the test driver
pytestmark = pytest.mark.realvirsh


def _outcome(lv, fn):
    try:
        result = fn()
    except lv.libvirtError as err:
        return ("error", err.get_error_code(), err.get_error_domain(), str(err))
    return ("ok", _shape(result))


def _shape(value):
    """Return shapes without the values a driver may choose (times, counters)."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_shape(v) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted(value))
    return type(value).__name__


def _silence(lv):
    lv.registerErrorHandler(lambda *_: None, None)


READ_ONLY_DOMAIN_CALLS = [
    ("create", ()), ("createWithFlags", (0,)), ("destroy", ()), ("destroyFlags", (0,)),
    ("shutdown", ()), ("shutdownFlags", (0,)), ("reboot", ()), ("reset", ()),
    ("suspend", ()), ("resume", ()), ("undefine", ()), ("undefineFlags", (0,)),
    ("setAutostart", (1,)), ("managedSave", ()), ("managedSaveRemove", ()),
    ("save", ("/x",)), ("saveFlags", ("/x",)), ("setMemory", (1024,)),
    ("setMemoryFlags", (1024,)), ("setMaxMemory", (1024,)), ("setVcpus", (1,)),
    ("setVcpusFlags", (1,)), ("attachDevice", ("<x/>",)), ("attachDeviceFlags", ("<x/>",)),
    ("detachDevice", ("<x/>",)), ("detachDeviceFlags", ("<x/>",)),
    ("updateDeviceFlags", ("<x/>",)), ("snapshotCreateXML", ("<domainsnapshot/>",)),
]


@pytest.mark.parametrize(("method", "args"), READ_ONLY_DOMAIN_CALLS,
                         ids=[m for m, _ in READ_ONLY_DOMAIN_CALLS])
def test_read_only_domain_call(method, args):
    outcomes = []
    for lv in (libvirt, pyvirt):
        _silence(lv)
        ro = lv.openReadOnly("test:///default")
        dom = ro.lookupByName("test")
        outcomes.append(_outcome(lv, lambda: getattr(dom, method)(*args)))
        ro.close()
    assert outcomes[1] == outcomes[0]


READ_ONLY_CONNECT_CALLS = [
    ("defineXML", ("<x/>",)), ("defineXMLFlags", ("<x/>",)), ("createXML", ("<x/>",)),
    ("restore", ("/x",)), ("restoreFlags", ("/x",)), ("networkDefineXML", ("<x/>",)),
    ("networkCreateXML", ("<x/>",)), ("storagePoolDefineXML", ("<x/>",)),
    ("storagePoolCreateXML", ("<x/>",)),
]


@pytest.mark.parametrize(("method", "args"), READ_ONLY_CONNECT_CALLS,
                         ids=[m for m, _ in READ_ONLY_CONNECT_CALLS])
def test_read_only_connect_call(method, args):
    outcomes = []
    for lv in (libvirt, pyvirt):
        _silence(lv)
        ro = lv.openReadOnly("test:///default")
        outcomes.append(_outcome(lv, lambda: getattr(ro, method)(*args)))
        ro.close()
    assert outcomes[1] == outcomes[0]


ARGUMENT_CHECKS = [
    ("lookupByName None", lambda c: c.lookupByName(None)),
    ("lookupByID -1", lambda c: c.lookupByID(-1)),
    ("lookupByUUIDString bad", lambda c: c.lookupByUUIDString("zz")),
    ("networkLookupByUUIDString bad", lambda c: c.networkLookupByUUIDString("zz")),
    ("storagePoolLookupByUUIDString bad", lambda c: c.storagePoolLookupByUUIDString("zz")),
    ("defineXML None", lambda c: c.defineXML(None)),
    ("networkLookupByName None", lambda c: c.networkLookupByName(None)),
    ("storageVolLookupByPath None", lambda c: c.storageVolLookupByPath(None)),
    ("setMemory 0", lambda c: c.lookupByName("test").setMemory(0)),
    ("setMemoryFlags 0", lambda c: c.lookupByName("test").setMemoryFlags(0, 0)),
    ("setMaxMemory 0", lambda c: c.lookupByName("test").setMaxMemory(0)),
    ("setVcpus 0", lambda c: c.lookupByName("test").setVcpus(0)),
    ("setVcpusFlags 0", lambda c: c.lookupByName("test").setVcpusFlags(0, 0)),
    ("attachDeviceFlags None", lambda c: c.lookupByName("test").attachDeviceFlags(None)),
    ("save None", lambda c: c.lookupByName("test").save(None)),
    ("snapshotCreateXML None", lambda c: c.lookupByName("test").snapshotCreateXML(None)),
    ("blockStats None", lambda c: c.lookupByName("test").blockStats(None)),
]


@pytest.mark.parametrize("label,call", ARGUMENT_CHECKS, ids=[a for a, _ in ARGUMENT_CHECKS])
def test_argument_check(label, call):
    outcomes = []
    for lv in (libvirt, pyvirt):
        _silence(lv)
        conn = lv.open("test:///default")
        outcomes.append(_outcome(lv, lambda: call(conn)))
        conn.close()
    assert outcomes[1] == outcomes[0]


CLOSED_CALLS = [
    ("getType", lambda c: c.getType()), ("getURI", lambda c: c.getURI()),
    ("getLibVersion", lambda c: c.getLibVersion()), ("isAlive", lambda c: c.isAlive()),
    ("listAllDomains", lambda c: c.listAllDomains()),
    ("lookupByName", lambda c: c.lookupByName("test")), ("getInfo", lambda c: c.getInfo()),
    ("networkLookupByName", lambda c: c.networkLookupByName("default")),
    ("listNetworks", lambda c: c.listNetworks()), ("close", lambda c: c.close()),
]


@pytest.mark.parametrize("label,call", CLOSED_CALLS, ids=[a for a, _ in CLOSED_CALLS])
def test_closed_connection(label, call):
    outcomes = []
    for lv in (libvirt, pyvirt):
        _silence(lv)
        conn = lv.open("test:///default")
        conn.close()
        outcomes.append(_outcome(lv, lambda: call(conn)))
    assert outcomes[1] == outcomes[0]


SHAPES = [
    ("getInfo", lambda c: c.getInfo()),
    ("listAllDomains", lambda c: c.listAllDomains()),
    ("listDomainsID", lambda c: c.listDomainsID()),
    ("getCellsFreeMemory", lambda c: c.getCellsFreeMemory(0, 2)),
    ("getSecurityModel", lambda c: c.getSecurityModel()),
    ("info", lambda c: c.lookupByName("test").info()),
    ("state", lambda c: c.lookupByName("test").state()),
    ("UUID", lambda c: c.lookupByName("test").UUID()),
    ("isActive", lambda c: c.lookupByName("test").isActive()),
    ("autostart", lambda c: c.lookupByName("test").autostart()),
    ("hasCurrentSnapshot", lambda c: c.lookupByName("test").hasCurrentSnapshot()),
    ("securityLabel", lambda c: c.lookupByName("test").securityLabel()),
    ("blockStats", lambda c: c.lookupByName("test").blockStats("vda")),
    ("memoryStats", lambda c: c.lookupByName("test").memoryStats()),
    ("getCPUStats total", lambda c: c.lookupByName("test").getCPUStats(True)),
    ("getAllDomainStats", lambda c: c.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE)),
    ("suspend", lambda c: c.lookupByName("test").suspend()),
    ("pool info", lambda c: c.storagePoolLookupByName("default-pool").info()),
    ("pool listVolumes", lambda c: c.storagePoolLookupByName("default-pool").listVolumes()),
    ("network isActive", lambda c: c.networkLookupByName("default").isActive()),
    ("listAllNetworks", lambda c: c.listAllNetworks()),
]


@pytest.mark.parametrize("label,call", SHAPES, ids=[a for a, _ in SHAPES])
def test_return_shape(label, call):
    outcomes = []
    for lv in (libvirt, pyvirt):
        _silence(lv)
        conn = lv.open("test:///default")
        outcomes.append(_outcome(lv, lambda: call(conn)))
        conn.close()
    assert outcomes[1] == outcomes[0]


def teardown_module():
    libvirt.registerErrorHandler(None, None)
    pyvirt.registerErrorHandler(None, None)


def _dom(c):
    return c.lookupByName("test")


def _pool(c):
    return c.storagePoolLookupByName("default-pool")


ORDER_CHECKS = [
    ("setMemory", lambda c: _dom(c).setMemory(0)),
    ("setMemoryFlags", lambda c: _dom(c).setMemoryFlags(0)),
    ("setMaxMemory", lambda c: _dom(c).setMaxMemory(0)),
    ("setVcpus", lambda c: _dom(c).setVcpus(0)),
    ("setVcpusFlags", lambda c: _dom(c).setVcpusFlags(0)),
    ("attachDevice", lambda c: _dom(c).attachDevice(None)),
    ("attachDeviceFlags", lambda c: _dom(c).attachDeviceFlags(None)),
    ("detachDevice", lambda c: _dom(c).detachDevice(None)),
    ("detachDeviceFlags", lambda c: _dom(c).detachDeviceFlags(None)),
    ("updateDeviceFlags", lambda c: _dom(c).updateDeviceFlags(None)),
    ("save", lambda c: _dom(c).save(None)),
    ("saveFlags", lambda c: _dom(c).saveFlags(None)),
    ("snapshotCreateXML", lambda c: _dom(c).snapshotCreateXML(None)),
    ("defineXML", lambda c: c.defineXML(None)),
    ("defineXMLFlags", lambda c: c.defineXMLFlags(None)),
    ("createXML", lambda c: c.createXML(None)),
    ("restore", lambda c: c.restore(None)),
    ("restoreFlags", lambda c: c.restoreFlags(None)),
    ("networkDefineXML", lambda c: c.networkDefineXML(None)),
    ("networkCreateXML", lambda c: c.networkCreateXML(None)),
    ("networkCreateXMLFlags", lambda c: c.networkCreateXMLFlags(None)),
    ("storagePoolDefineXML", lambda c: c.storagePoolDefineXML(None)),
    ("storagePoolCreateXML", lambda c: c.storagePoolCreateXML(None)),
    ("vol createXML", lambda c: _pool(c).createXML(None)),
    ("vol createXMLFrom", lambda c: _pool(c).createXMLFrom(None, None)),
    ("revertToSnapshot", lambda c: _dom(c).revertToSnapshot(None)),
]


READ_ONLY_HANDLE_CALLS = [
    ("net create", lambda c: c.networkLookupByName("default").create()),
    ("net destroy", lambda c: c.networkLookupByName("default").destroy()),
    ("net undefine", lambda c: c.networkLookupByName("default").undefine()),
    ("net setAutostart", lambda c: c.networkLookupByName("default").setAutostart(1)),
    ("net update", lambda c: c.networkLookupByName("default").update(1, 4, -1, "<x/>")),
    ("pool build", lambda c: _pool(c).build()),
    ("pool create", lambda c: _pool(c).create()),
    ("pool delete", lambda c: _pool(c).delete()),
    ("pool destroy", lambda c: _pool(c).destroy()),
    ("pool undefine", lambda c: _pool(c).undefine()),
    ("pool refresh", lambda c: _pool(c).refresh()),
    ("pool setAutostart", lambda c: _pool(c).setAutostart(1)),
    ("managedSaveRemove", lambda c: _dom(c).managedSaveRemove()),
]


@pytest.mark.parametrize("label,call", READ_ONLY_HANDLE_CALLS,
                         ids=[a for a, _ in READ_ONLY_HANDLE_CALLS])
def test_read_only_handle_call(label, call):
    outcomes = []
    for lv in (libvirt, pyvirt):
        _silence(lv)
        ro = lv.openReadOnly("test:///default")
        outcomes.append(_outcome(lv, lambda: call(ro)))
        ro.close()
    assert outcomes[1] == outcomes[0]


@pytest.mark.parametrize("label,call", ORDER_CHECKS, ids=[a for a, _ in ORDER_CHECKS])
def test_order_of_read_only_and_argument_checks(label, call):
    outcomes = []
    for lv in (libvirt, pyvirt):
        _silence(lv)
        ro = lv.openReadOnly("test:///default")
        outcomes.append(_outcome(lv, lambda: call(ro)))
        ro.close()
    assert outcomes[1] == outcomes[0]

"""One scripted libvirt-python scenario, run unchanged against the real binding
(`import libvirt`) and against pyvirt (`import pyvirt as libvirt`): every
observation must be the same.

The scenario only uses libvirt-python's public surface on test:///default and
records what a script would look at (names, states, reasons, shapes, error
codes). Version numbers are left out: ours are not libvirt's.
"""

from __future__ import annotations

import importlib
import threading
import time
import xml.etree.ElementTree as ET

import pytest

NEW_DOMAIN = """<domain type='test'>
  <name>scenario</name>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/scenario.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>"""

NEW_NETWORK = """<network>
  <name>scenario-net</name>
  <bridge name='virbr9'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.150.2' end='192.168.150.254'/></dhcp>
  </ip>
</network>"""


def _code(libvirt, fn) -> int | None:
    """The libvirt error code ``fn`` raises, or None when it succeeds."""
    try:
        fn()
    except libvirt.libvirtError as err:
        return err.get_error_code()
    return None


def scenario(libvirt) -> list[tuple]:
    seen: list[tuple] = []
    add = seen.append
    conn = libvirt.open("test:///default")
    add(("type", conn.getType(), conn.getURI(), conn.isAlive()))
    add(("info", conn.getInfo()))
    add(("domains", sorted((d.name(), d.ID(), d.isActive()) for d in conn.listAllDomains(0))))
    test = conn.lookupByName("test")
    add(("test", test.info()[:4], test.state(), test.OSType(), test.isPersistent(),
         test.autostart(), test.maxMemory(), test.UUIDString()))
    add(("same uuid", conn.lookupByUUIDString(test.UUIDString()).name(),
         conn.lookupByID(test.ID()).name(), conn.lookupByUUID(test.UUID()).name()))
    add(("unknown", _code(libvirt, lambda: conn.lookupByName("nosuch")),
         _code(libvirt, lambda: conn.lookupByUUIDString("not-a-uuid"))))

    dom = conn.defineXML(NEW_DOMAIN)
    root = ET.fromstring(dom.XMLDesc(0))
    add(("defined", dom.name(), dom.isActive(), dom.isPersistent(), dom.state(),
         root.findtext("memory"), root.find("memory").get("unit"), root.findtext("vcpu"),
         root.find("devices/interface/mac").get("address")))
    add(("duplicate", _code(libvirt, lambda: conn.defineXML(NEW_DOMAIN.replace(
        "<name>scenario</name>", "<name>scenario</name><uuid>" + test.UUIDString() + "</uuid>")))))
    add(("destroy inactive", _code(libvirt, dom.destroy)))
    dom.create()
    add(("started", dom.isActive(), dom.state(), dom.ID() > 0))
    add(("start again", _code(libvirt, dom.create)))
    dom.suspend()
    add(("paused", dom.state()))
    dom.resume()
    add(("resumed", dom.state()))
    dom.setMemory(131072)
    add(("memory", dom.info()[1:3]))
    dom.shutdown()
    add(("shut down", dom.state(), dom.isActive()))
    dom.create()
    dom.destroy()
    add(("destroyed", dom.state()))

    dom.create()
    snap = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", 0)
    add(("snapshot", snap.getName(), [s.getName() for s in dom.listAllSnapshots(0)],
         dom.snapshotCurrent().getName(), dom.hasCurrentSnapshot()))
    dom.snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>", 0)
    add(("child", dom.snapshotLookupByName("s2").getParent().getName()))
    dom.revertToSnapshot(snap)
    add(("reverted", dom.snapshotCurrent().getName(), dom.state()))
    dom.snapshotLookupByName("s2").delete(0)
    add(("deleted", sorted(dom.snapshotListNames(0))))
    for s in dom.listAllSnapshots(0):
        s.delete(0)
    if not dom.isActive():
        dom.create()
    dom.managedSave(0)
    add(("managed save", dom.hasManagedSaveImage(0), dom.state()))
    dom.create()
    add(("restored from managed save", dom.state(), dom.hasManagedSaveImage(0)))
    dom.destroy()
    dom.undefine()
    add(("undefined", _code(libvirt, lambda: conn.lookupByName("scenario"))))

    nets = conn.listAllNetworks(0)
    add(("networks", sorted((n.name(), n.isActive(), n.isPersistent()) for n in nets)))
    net = conn.networkDefineXML(NEW_NETWORK)
    add(("net defined", net.name(), net.isActive()))
    net.create()
    add(("net started", net.isActive(), net.bridgeName()))
    net.destroy()
    net.undefine()
    add(("net gone", _code(libvirt, lambda: conn.networkLookupByName("scenario-net"))))

    pools = conn.listAllStoragePools(0)
    add(("pools", sorted((p.name(), p.isActive()) for p in pools)))
    pool = conn.storagePoolLookupByName("default-pool")
    add(("pool info", pool.info()[0], sorted(pool.listVolumes())))
    vol = pool.createXML("<volume><name>scenario.img</name>"
                         "<capacity unit='M'>10</capacity></volume>", 0)
    add(("volume", vol.name(), vol.info(), vol.path(), vol.key()))
    vol.delete(0)
    add(("volume gone", sorted(pool.listVolumes())))

    ro = libvirt.openReadOnly("test:///default")
    add(("read-only", _code(libvirt, lambda: ro.lookupByName("test").destroy())))
    ro.close()
    conn.close()
    return seen


def event_scenario(libvirt) -> list[tuple]:
    """Lifecycle events seen by a callback while a domain starts and stops."""
    libvirt.virEventRegisterDefaultImpl()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            libvirt.virEventRunDefaultImpl()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    conn = libvirt.open("test:///default")
    events: list[tuple] = []
    got = threading.Event()

    def on_lifecycle(_conn, dom, event, detail, _opaque):
        events.append((dom.name(), event, detail))
        if len(events) >= 4:
            got.set()

    cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                     on_lifecycle, None)
    dom = conn.defineXML(NEW_DOMAIN)
    dom.create()
    dom.destroy()
    dom.undefine()
    got.wait(5)
    conn.domainEventDeregisterAny(cb)
    # wake the loop so the thread can see `stop`
    libvirt.virEventAddTimeout(0, lambda *_: None, None)
    stop.set()
    time.sleep(0.05)
    conn.close()
    return events


@pytest.fixture(scope="module")
def real_libvirt():
    try:
        return importlib.import_module("libvirt")
    except ImportError:
        pytest.fail("the real libvirt-python is not installed in the venv: run scripts/setup.sh")


def test_scenario_matches_real_libvirt_python(real_libvirt):
    import pyvirt
    expected = scenario(real_libvirt)
    got = scenario(pyvirt)
    for want, have in zip(expected, got):
        assert have == want, f"step {want[0]!r}"
    assert len(got) == len(expected)


def test_lifecycle_events_match_real_libvirt_python(real_libvirt):
    import pyvirt
    expected = event_scenario(real_libvirt)
    got = event_scenario(pyvirt)
    assert expected, "the real binding delivered no events: the scenario is broken"
    assert got == expected

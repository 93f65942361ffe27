"""Disk and NIC hot-plug, and volume resize: XML sent, flags, readable errors."""

from __future__ import annotations

import pytest
from lxml import etree

import pyvirt
from pyvirt.web import actions
from pyvirt.web.xmlgen import disk_device_xml, next_disk_target, nic_device_xml

from .conftest import flashes

DOMAIN_XML = """<domain type='test'><name>vm</name><devices>
  <disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>
  <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/>
  </interface></devices></domain>"""


class RecordingDom:
    def __init__(self, active: bool = True, persistent: bool = True) -> None:
        self.active, self.persistent = active, persistent
        self.calls: list[tuple[str, str, int]] = []

    def XMLDesc(self, flags=0):  # noqa: N802 - libvirt's name
        return DOMAIN_XML

    def isActive(self):  # noqa: N802
        return int(self.active)

    def isPersistent(self):  # noqa: N802
        return int(self.persistent)

    def attachDeviceFlags(self, xml, flags):  # noqa: N802
        self.calls.append(("attach", xml, flags))

    def detachDeviceFlags(self, xml, flags):  # noqa: N802
        self.calls.append(("detach", xml, flags))


class RecordingConn:
    def __init__(self, dom: RecordingDom) -> None:
        self.dom = dom

    def lookupByName(self, name):  # noqa: N802
        return self.dom

    def storagePoolLookupByName(self, name):  # noqa: N802
        return RecordingPool(name)


class RecordingPool:
    def __init__(self, name: str) -> None:
        self.name = name

    def storageVolLookupByName(self, vol):  # noqa: N802
        return RecordingVol(f"/{self.name}/{vol}")


class RecordingVol:
    def __init__(self, path: str) -> None:
        self._path = path

    def path(self):
        return self._path

    def XMLDesc(self, flags=0):  # noqa: N802
        return "<volume><target><format type='qcow2'/></target></volume>"


def test_device_xml_and_target_names():
    disk = etree.fromstring(disk_device_xml("/p/d.qcow2", "vdb", "qcow2"))
    assert disk.find("source").get("file") == "/p/d.qcow2"
    assert (disk.find("target").get("dev"), disk.find("target").get("bus")) == ("vdb", "virtio")
    assert disk.find("driver").get("type") == "qcow2"
    nic = etree.fromstring(nic_device_xml("lab", "e1000", "52:54:00:aa:bb:cc"))
    assert nic.find("source").get("network") == "lab"
    assert nic.find("model").get("type") == "e1000"
    assert nic.find("mac").get("address") == "52:54:00:aa:bb:cc"
    assert next_disk_target([]) == "vda"
    assert next_disk_target(["vda", "vdb", "vdd"]) == "vdc"
    assert next_disk_target([f"vd{c}" for c in "abcdefghijklmnopqrstuvwxyz"]) == "vdaa"


@pytest.mark.parametrize("active, persistent, flags", [
    (True, True, pyvirt.VIR_DOMAIN_AFFECT_LIVE | pyvirt.VIR_DOMAIN_AFFECT_CONFIG),
    (False, True, pyvirt.VIR_DOMAIN_AFFECT_CONFIG),
    (True, False, pyvirt.VIR_DOMAIN_AFFECT_LIVE),
])
def test_disk_attach_picks_the_next_target_and_the_flags(active, persistent, flags):
    dom = RecordingDom(active, persistent)
    message = actions.disk_attach(RecordingConn(dom), "vm", {"volume": "pool/d.qcow2"})
    assert message == "Disk vdb attached to domain 'vm'"
    kind, xml, got_flags = dom.calls[0]
    assert kind == "attach" and got_flags == flags
    disk = etree.fromstring(xml)
    assert disk.find("source").get("file") == "/pool/d.qcow2"
    assert disk.find("driver").get("type") == "qcow2"


def test_nic_attach_and_detaches():
    dom = RecordingDom()
    conn = RecordingConn(dom)
    assert actions.nic_attach(conn, "vm", {"network": "lab"}) == \
        "Interface on network lab attached to domain 'vm'"
    assert etree.fromstring(dom.calls[0][1]).find("source").get("network") == "lab"
    assert actions.device_detach(conn, "vm", "disk", "vda") == \
        "Disk vda detached from domain 'vm'"
    assert etree.fromstring(dom.calls[1][1]).find("source").get("file") == "/a.img"
    assert actions.device_detach(conn, "vm", "interface", "52:54:00:00:00:01") == \
        "Interface 52:54:00:00:00:01 detached from domain 'vm'"
    assert etree.fromstring(dom.calls[2][1]).find("mac").get("address") == "52:54:00:00:00:01"


@pytest.mark.parametrize("call, message", [
    (lambda c: actions.device_detach(c, "vm", "disk", "vdz"), "domain 'vm' has no disk 'vdz'"),
    (lambda c: actions.device_detach(c, "vm", "usb", "x"), "unknown device kind 'usb'"),
    (lambda c: actions.disk_attach(c, "vm", {"volume": ""}), "choose a volume to attach"),
    (lambda c: actions.nic_attach(c, "vm", {}), "choose a network for the new interface"),
])
def test_device_input_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(RecordingConn(RecordingDom()))


def test_hotplug_on_a_driver_without_it_reads_like_libvirt(admin):
    admin.get("/hosts/0/storage/default-pool")
    admin.post("/hosts/0/storage/default-pool/volumes", {"name": "extra.img", "size_mib": "8"})
    page = admin.get("/hosts/0/domains/test").text
    assert 'id="disk-attach"' in page and 'value="default-pool/extra.img"' in page
    response = admin.post("/hosts/0/domains/test/devices/disk",
                          {"volume": "default-pool/extra.img"})
    assert flashes(response.text) == [
        "this function is not supported by the connection driver: virDomainAttachDeviceFlags"]
    response = admin.post("/hosts/0/domains/test/devices/interface/aa%3Abb%3Acc%3Add%3Aee%3Aff"
                          "/detach")
    assert flashes(response.text) == [
        "this function is not supported by the connection driver: virDomainDetachDeviceFlags"]
    response = admin.post("/hosts/0/domains/test/devices/usb")
    assert response.status_code == 404


def test_volume_resize_errors_are_readable(admin):
    url = "/hosts/0/storage/default-pool"
    admin.get(url)
    admin.post(f"{url}/volumes", {"name": "grow.img", "size_mib": "8"})
    response = admin.post(f"{url}/volumes/grow.img/resize", {"size_mib": "16"})
    assert flashes(response.text) == [
        "this function is not supported by the connection driver: virStorageVolResize"]
    response = admin.post(f"{url}/volumes/grow.img/resize", {"size_mib": "0"})
    assert flashes(response.text) == ["New size (MiB) must be greater than zero"]


def test_volume_resize_message():
    class Vol:
        resized = None

        def resize(self, capacity, flags):
            Vol.resized = capacity

    class Conn:
        def storagePoolLookupByName(self, name):  # noqa: N802
            return type("P", (), {"storageVolLookupByName": lambda s, n: Vol()})()

    message = actions.volume_resize(Conn(), "pool", "v", {"size_mib": "16"})
    assert message == "Size of volume 'v' successfully changed to 16M"
    assert Vol.resized == 16 << 20


@pytest.fixture
def fake_admin(app_factory):
    from starlette.testclient import TestClient

    from .conftest import Browser
    with TestClient(app_factory(uris=["webfake:///"])) as client:
        browser = Browser(client)
        browser.login("alice")
        yield browser


def test_volume_upload_streams_the_body(fake_admin):
    from . import fakedriver
    fake_admin.get("/")
    payload = bytes(range(256)) * 1024
    response = fake_admin.client.post("/hosts/0/storage/pool/volumes/disk.img/upload",
                                      content=payload,
                                      headers={"X-CSRF-Token": fake_admin.csrf,
                                               "Content-Type": "application/octet-stream"})
    assert response.json() == {"ok": True, "bytes": len(payload),
                               "message": f"Uploaded {len(payload)} bytes to volume 'disk.img'"}
    assert fakedriver.UPLOADS["disk.img"] == payload


def test_volume_upload_errors_are_readable(fake_admin, admin):
    fake_admin.get("/")
    headers = {"X-CSRF-Token": fake_admin.csrf}
    response = fake_admin.client.post("/hosts/0/storage/pool/volumes/broken.img/upload",
                                      content=b"x" * 10, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "message": "internal error: disk full"}
    response = fake_admin.client.post("/hosts/0/storage/pool/volumes/nosuch/upload",
                                      content=b"x", headers=headers)
    assert response.json()["message"] == \
        "Storage volume not found: no storage vol with matching name 'nosuch'"
    response = fake_admin.client.post("/hosts/0/storage/pool/volumes/disk.img/upload",
                                      content=b"x", headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403


def test_volume_upload_on_a_driver_without_it(admin):
    url = "/hosts/0/storage/default-pool"
    admin.get(url)
    admin.post(f"{url}/volumes", {"name": "up.img", "size_mib": "1"})
    page = admin.get(url).text
    assert 'data-upload="/hosts/0/storage/default-pool/volumes/up.img/upload"' in page
    response = admin.client.post(f"{url}/volumes/up.img/upload", content=b"abc",
                                 headers={"X-CSRF-Token": admin.csrf})
    assert response.json()["message"] == \
        "this function is not supported by the connection driver: virStorageVolUpload"

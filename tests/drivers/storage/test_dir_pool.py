"""A dir pool end to end through the public API (real files, real qemu-img)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import pyvirt as libvirt
from storage_helpers import needs_qemu_img, pool_xml, vol_xml

MiB = 1 << 20
pytestmark = needs_qemu_img


def test_define_build_start_info(conn: Any, root: Path) -> None:
    pool = conn.storagePoolDefineXML(pool_xml("p", root / "pool"))
    assert pool.info() == [libvirt.VIR_STORAGE_POOL_INACTIVE, 0, 0, 0]
    assert not pool.isActive() and pool.isPersistent()
    pool.build()
    assert (root / "pool").is_dir() and (root / "pool").stat().st_mode & 0o777 == 0o711
    pool.create()
    state, capacity, allocation, available = pool.info()
    st = os.statvfs(root / "pool")
    assert state == libvirt.VIR_STORAGE_POOL_RUNNING
    assert capacity == st.f_frsize * st.f_blocks
    assert capacity == allocation + available
    assert conn.listStoragePools() == ["p"] and conn.listDefinedStoragePools() == []


def test_live_xml_shows_sizes_and_the_directory_permissions(pool: Any, root: Path) -> None:
    doc = etree.fromstring(pool.XMLDesc())
    assert doc.findtext("target/path") == str(root / "pool")
    assert doc.findtext("target/permissions/mode") == "0711"
    assert int(doc.findtext("capacity")) == pool.info()[1]
    assert doc.find("capacity").get("unit") == "bytes"
    inactive = etree.fromstring(pool.XMLDesc(libvirt.VIR_STORAGE_XML_INACTIVE))
    assert inactive.findtext("uuid") == pool.UUIDString()


def test_raw_and_qcow2_volumes(pool: Any, root: Path) -> None:
    raw = pool.createXML(vol_xml("a.img", 10 * MiB))
    sparse = pool.createXML(vol_xml("s.img", 10 * MiB, allocation=0))
    qcow = pool.createXML(vol_xml("b.qcow2", 20 * MiB, "qcow2"))
    assert raw.info() == [0, 10 * MiB, 10 * MiB]
    assert sparse.info()[2] < MiB
    assert qcow.info()[:2] == [0, 20 * MiB] and qcow.info()[2] < MiB
    assert sorted(pool.listVolumes()) == ["a.img", "b.qcow2", "s.img"]
    assert pool.numOfVolumes() == 3
    assert raw.path() == raw.key() == str(root / "pool" / "a.img")
    doc = etree.fromstring(qcow.XMLDesc())
    assert doc.get("type") == "file"
    assert doc.find("target/format").get("type") == "qcow2"
    assert doc.findtext("target/permissions/mode") == "0600"
    assert [e.tag for e in doc] == ["name", "key", "capacity", "allocation", "physical",
                                    "target"]
    assert [e.tag for e in doc.find("target")] == ["path", "format", "permissions",
                                                   "timestamps", "clusterSize"]
    assert doc.findtext("target/clusterSize") == "65536"


def test_lookups(conn: Any, pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("a.img", MiB))
    path = str(root / "pool" / "a.img")
    assert conn.storageVolLookupByPath(path).name() == "a.img"
    assert conn.storageVolLookupByPath(str(root / "pool" / "." / "a.img")).name() == "a.img"
    assert conn.storageVolLookupByKey(vol.key()).name() == "a.img"
    assert vol.storagePoolLookupByVolume().name() == "p"
    assert conn.storagePoolLookupByUUID(pool.UUID()).name() == "p"
    assert conn.storagePoolLookupByTargetPath(str(root / "pool")).name() == "p"


def test_thin_clone_on_a_backing_store(pool: Any, root: Path) -> None:
    pool.createXML(vol_xml("base.img", 4 * MiB))
    base = str(root / "pool" / "base.img")
    thin = pool.createXML(vol_xml("thin.qcow2", 0, "qcow2", backing=base))
    assert thin.info()[1] == 4 * MiB               # capacity taken from the backing file
    doc = etree.fromstring(thin.XMLDesc())
    assert doc.findtext("backingStore/path") == base
    assert doc.find("backingStore/format").get("type") == "raw"
    top = pool.createXML(vol_xml("top.qcow2", 8 * MiB, "qcow2",
                                 backing=str(root / "pool" / "thin.qcow2")))
    assert etree.fromstring(top.XMLDesc()).find("backingStore/format").get("type") == "qcow2"


def test_clone_is_a_full_copy(pool: Any, root: Path) -> None:
    src = pool.createXML(vol_xml("src.img", 2 * MiB, allocation=0))
    with open(root / "pool" / "src.img", "r+b") as handle:
        handle.seek(MiB)
        handle.write(b"data")
    copy = pool.createXMLFrom("<volume><name>copy.img</name></volume>", src)
    assert (root / "pool" / "copy.img").read_bytes() == (root / "pool" / "src.img").read_bytes()
    assert copy.info()[1] == 2 * MiB
    as_qcow = pool.createXMLFrom(vol_xml("copy.qcow2", 0, "qcow2"), src)
    assert as_qcow.info()[1] == 2 * MiB
    assert etree.fromstring(as_qcow.XMLDesc()).find("target/format").get("type") == "qcow2"
    bigger = pool.createXMLFrom(vol_xml("big.img", 3 * MiB), src)
    assert bigger.info()[1] == 3 * MiB


def test_resize_raw_and_qcow2(pool: Any) -> None:
    raw = pool.createXML(vol_xml("a.img", MiB, allocation=0))
    raw.resize(2 * MiB)
    assert raw.info()[1] == 2 * MiB
    raw.resize(MiB, libvirt.VIR_STORAGE_VOL_RESIZE_DELTA)
    assert raw.info()[1] == 3 * MiB
    raw.resize(MiB, libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK)
    assert raw.info()[1] == MiB
    raw.resize(2 * MiB, libvirt.VIR_STORAGE_VOL_RESIZE_ALLOCATE)
    assert raw.info()[2] >= 2 * MiB - 4096
    qcow = pool.createXML(vol_xml("b.qcow2", 20 * MiB, "qcow2"))
    qcow.resize(40 * MiB)
    assert qcow.info()[1] == 40 * MiB
    qcow.resize(4 * MiB, libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK)
    assert qcow.info()[1] == 4 * MiB


def test_wipe_zero_random_and_image(pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("a.img", MiB))
    (root / "pool" / "a.img").write_bytes(b"\xff" * MiB)
    vol.wipe()
    assert (root / "pool" / "a.img").read_bytes() == bytes(MiB)
    vol.wipePattern(libvirt.VIR_STORAGE_VOL_WIPE_ALG_RANDOM) if hasattr(vol, "wipePattern") \
        else pool.connect()._drv.storage.storage_vol_wipe_pattern(vol._ref, 8, 0)
    assert (root / "pool" / "a.img").read_bytes() != bytes(MiB)
    qcow = pool.createXML(vol_xml("b.qcow2", 8 * MiB, "qcow2"))
    qcow.wipe()
    assert qcow.info()[1] == 8 * MiB
    assert etree.fromstring(qcow.XMLDesc()).find("target/format").get("type") == "qcow2"


def test_delete_volume_and_pool(pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("a.img", MiB))
    vol.delete()
    assert not (root / "pool" / "a.img").exists() and pool.listVolumes() == []
    pool.destroy()
    assert not pool.isActive()
    pool.delete()
    assert not (root / "pool").exists()
    pool.undefine()
    assert pool.connect().listAllStoragePools() == []


def test_refresh_discovers_files_made_outside(pool: Any, root: Path) -> None:
    (root / "pool" / "outside.img").write_bytes(bytes(4096))
    assert "outside.img" not in pool.listVolumes()
    pool.refresh()
    assert pool.storageVolLookupByName("outside.img").info()[1] == 4096


def test_upload_then_download_byte_exact(conn: Any, pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("a.img", 4 * MiB, allocation=0))
    payload = os.urandom(MiB) + bytes(2 * MiB) + os.urandom(MiB)
    stream = conn.newStream()
    vol.upload(stream, 0, 0)
    for i in range(0, len(payload), 256 * 1024):
        stream.send(payload[i:i + 256 * 1024])
    stream.finish()
    assert (root / "pool" / "a.img").read_bytes() == payload
    assert vol.info()[2] < 3 * MiB                   # the zero middle stayed a hole
    down = conn.newStream()
    vol.download(down, 0, 0)
    got = []
    down.recvAll(lambda _s, data, _o: got.append(data), None)
    down.finish()
    assert b"".join(got) == payload


def test_upload_into_a_window(conn: Any, pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("a.img", 8192, allocation=0))
    stream = conn.newStream()
    vol.upload(stream, 4096, 10)
    stream.send(b"0123456789")
    stream.finish()
    data = (root / "pool" / "a.img").read_bytes()
    assert data[4096:4106] == b"0123456789" and data[:4096] == bytes(4096)


def test_transient_pool(conn: Any, root: Path) -> None:
    pool = conn.storagePoolCreateXML(pool_xml("t", root / "t"),
                                     libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    assert pool.isActive() and not pool.isPersistent()
    with pytest.raises(libvirt.libvirtError) as err:
        pool.setAutostart(1)
    assert str(err.value) == "internal error: pool has no config file"
    pool.destroy()
    with pytest.raises(libvirt.libvirtError) as err:
        conn.storagePoolLookupByName("t")
    assert err.value.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL


def test_list_all_filters(conn: Any, pool: Any, root: Path) -> None:
    conn.storagePoolDefineXML(pool_xml("q", root / "q"))
    names = lambda flags: [p.name() for p in conn.listAllStoragePools(flags)]  # noqa: E731
    assert names(0) == ["p", "q"]
    assert names(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE) == ["p"]
    assert names(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE) == ["q"]
    assert names(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_DIR) == ["p", "q"]
    assert names(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_LOGICAL) == []
    assert names(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ISCSI_DIRECT |
                 libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_DIR |
                 libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE) == ["p"]


def test_pool_type_flags_are_libvirts() -> None:
    from pyvirt.drivers.storage.driver import POOL_TYPE_FLAGS
    for kind, bit in POOL_TYPE_FLAGS.items():
        name = "VIR_CONNECT_LIST_STORAGE_POOLS_" + kind.upper().replace("-", "_")
        assert getattr(libvirt, name) == bit


def test_qcow2_options_and_permissions_from_the_xml(pool: Any, root: Path) -> None:
    xml = ("<volume><name>o.qcow2</name><capacity>1048576</capacity><target>"
           "<format type='qcow2'/><permissions><mode>0640</mode></permissions>"
           "<compat>1.1</compat><features><lazy_refcounts/></features></target></volume>")
    pool.createXML(xml)
    path = root / "pool" / "o.qcow2"
    assert path.stat().st_mode & 0o777 == 0o640
    from pyvirt.storage import qemu_img
    info = qemu_img.info(str(path))
    assert info.compat == "1.1" and info.lazy_refcounts


def test_pool_directory_mode_from_the_xml(conn: Any, root: Path) -> None:
    xml = pool_xml("m", root / "m").replace(
        "</target>", "<permissions><mode>0750</mode></permissions></target>")
    pool = conn.storagePoolDefineXML(xml)
    pool.build()
    assert (root / "m").stat().st_mode & 0o777 == 0o750


def test_uploading_an_image_changes_what_the_volume_is(conn: Any, pool: Any,
                                                       root: Path) -> None:
    import subprocess
    vol = pool.createXML(vol_xml("disk", 4 * MiB, allocation=0))
    image = root / "image.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "3M"], check=True)
    stream = conn.newStream()
    vol.upload(stream, 0, 0)
    stream.send(image.read_bytes())
    stream.finish()
    assert vol.info()[1] == 3 * MiB                  # re-read: now a 3 MiB qcow2 image
    assert etree.fromstring(vol.XMLDesc()).find("target/format").get("type") == "qcow2"


def test_download_of_a_window(conn: Any, pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("a.img", 8192, allocation=0))
    (root / "pool" / "a.img").write_bytes(bytes(range(256)) * 32)
    stream = conn.newStream()
    vol.download(stream, 100, 50)
    got = []
    stream.recvAll(lambda _s, data, _o: got.append(data), None)
    stream.finish()
    assert b"".join(got) == (bytes(range(256)) * 32)[100:150]


def test_refresh_allocation_capacity_option(conn: Any, root: Path) -> None:
    xml = pool_xml("r", root / "r").replace(
        "</pool>", "<refresh><volume allocation='capacity'/></refresh></pool>")
    pool = conn.storagePoolCreateXML(xml, libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    vol = pool.createXML(vol_xml("s.img", 4 * MiB, allocation=0))
    assert vol.info() == [0, 4 * MiB, 4 * MiB]
    pool.refresh()
    assert pool.storageVolLookupByName("s.img").info()[2] == 4 * MiB
    assert "<refresh>" in pool.XMLDesc()

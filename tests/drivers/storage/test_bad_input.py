"""Bad input: each a libvirt error with libvirt's code and message, nothing left behind.

Messages were taken from real libvirt 9.0 (a session libvirtd's dir pool).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import pyvirt as libvirt
from storage_helpers import needs_qemu_img, pool_xml, vol_xml

MiB = 1 << 20
E = libvirt.libvirtError
pytestmark = needs_qemu_img


def fails(call: Any, *args: Any) -> libvirt.libvirtError:
    with pytest.raises(E) as err:
        call(*args)
    assert err.value.get_error_domain() in (libvirt.VIR_FROM_STORAGE, libvirt.VIR_FROM_NONE)
    return err.value


def files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "pool").iterdir())


def test_volume_name_with_a_slash(pool: Any, root: Path) -> None:
    for name in ("a/b", "../x"):
        err = fails(pool.createXML, vol_xml(name, MiB))
        assert err.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
        assert str(err) == f"Requested operation is not valid: volume name '{name}' " \
                           "cannot contain '/'"
    assert files(root) == []


def test_volume_name_dot_dot(pool: Any, root: Path) -> None:
    err = fails(pool.createXML, vol_xml("..", MiB))
    assert err.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert str(err) == "Requested operation is not valid: volume target path " \
                       f"'{root}/pool/..' already exists"


def test_duplicate_volume(pool: Any) -> None:
    pool.createXML(vol_xml("a.img", MiB))
    err = fails(pool.createXML, vol_xml("a.img", MiB))
    assert err.get_error_code() == libvirt.VIR_ERR_STORAGE_VOL_EXIST
    assert str(err) == "storage volume 'a.img' exists already"
    src = pool.storageVolLookupByName("a.img")
    err = fails(pool.createXMLFrom, vol_xml("a.img", 0), src)
    assert err.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR
    assert str(err) == "internal error: storage volume name 'a.img' already in use."


def test_capacity_larger_than_the_pool(pool: Any, root: Path) -> None:
    huge = 1 << 60
    err = fails(pool.createXML, vol_xml("big", huge))
    assert err.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
    assert str(err) == f"cannot allocate {huge} bytes in file '{root}/pool/big': " \
                       "No space left on device"
    assert files(root) == []


def test_backing_file_that_does_not_exist(pool: Any, root: Path) -> None:
    err = fails(pool.createXML, vol_xml("t.qcow2", MiB, "qcow2", backing="/nonexist",
                                        backing_fmt="raw"))
    assert err.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
    assert str(err) == "inaccessible backing store volume /nonexist: No such file or directory"
    assert files(root) == []


def test_raw_volume_cannot_have_a_backing_store(pool: Any, root: Path) -> None:
    pool.createXML(vol_xml("a.img", MiB))
    err = fails(pool.createXML, vol_xml("b.img", MiB, backing=f"{root}/pool/a.img"))
    assert err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
    assert str(err) == "this function is not supported by the connection driver: " \
                       "backing storage not supported for raw volumes"


def test_missing_capacity(pool: Any) -> None:
    err = fails(pool.createXML, "<volume><name>z</name></volume>")
    assert (err.get_error_code(), str(err)) == (libvirt.VIR_ERR_XML_ERROR,
                                                 "XML error: missing capacity element")


def test_pool_path_that_is_a_file(conn: Any, root: Path) -> None:
    (root / "afile").write_text("x")
    pool = conn.storagePoolDefineXML(pool_xml("pf", root / "afile"))
    err = fails(pool.create)
    assert err.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
    assert err.get_error_domain() == libvirt.VIR_FROM_NONE
    assert str(err) == f"cannot open directory '{root}/afile': Not a directory"
    assert not pool.isActive()


def test_pool_whose_directory_vanished(conn: Any, root: Path) -> None:
    pool = conn.storagePoolDefineXML(pool_xml("pv", root / "vanish"))
    err = fails(pool.create)
    assert str(err) == f"cannot open directory '{root}/vanish': No such file or directory"
    pool.build()
    pool.create()
    shutil.rmtree(root / "vanish")
    err = fails(pool.refresh)
    assert str(err) == f"cannot open directory '{root}/vanish': No such file or directory"
    assert not pool.isActive()                      # libvirt stops a pool it cannot refresh
    err = fails(pool.delete)
    assert str(err) == f"failed to remove pool '{root}/vanish': No such file or directory"


def test_pool_state_errors(conn: Any, pool: Any, root: Path) -> None:
    def invalid(call: Any, message: str, *args: Any) -> None:
        err = fails(call, *args)
        assert err.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
        assert str(err) == f"Requested operation is not valid: {message}"
    invalid(pool.build, "storage pool 'p' is already active")
    invalid(pool.create, "storage pool 'p' is already active")
    invalid(pool.delete, "storage pool 'p' is still active")
    invalid(pool.undefine, "storage pool 'p' is still active")
    pool.destroy()
    invalid(pool.destroy, "storage pool 'p' is not active")
    invalid(pool.refresh, "storage pool 'p' is not active")
    invalid(pool.listVolumes, "storage pool 'p' is not active")
    invalid(pool.numOfVolumes, "storage pool 'p' is not active")
    invalid(pool.storageVolLookupByName, "storage pool 'p' is not active", "x")


def test_build_flags(conn: Any, root: Path) -> None:
    pool = conn.storagePoolDefineXML(pool_xml("pb", root / "pb"))
    err = fails(pool.build, libvirt.VIR_STORAGE_POOL_BUILD_OVERWRITE |
                libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE)
    assert (err.get_error_code(), str(err)) == (
        libvirt.VIR_ERR_INVALID_ARG, "Flags 'VIR_STORAGE_POOL_BUILD_OVERWRITE' and "
        "'VIR_STORAGE_POOL_BUILD_NO_OVERWRITE' are mutually exclusive")
    err = fails(pool.build, libvirt.VIR_STORAGE_POOL_BUILD_OVERWRITE)
    assert str(err) == "Requested operation is not valid: No source device specified when " \
                       "formatting pool 'pb'"


def test_lookup_errors(conn: Any, pool: Any) -> None:
    cases = [(pool.storageVolLookupByName, "nope",
              "Storage volume not found: no storage vol with matching name 'nope'"),
             (conn.storageVolLookupByKey, "/nope",
              "Storage volume not found: no storage vol with matching key /nope"),
             (conn.storageVolLookupByPath, "/nope",
              "Storage volume not found: no storage vol with matching path '/nope'"),
             (conn.storagePoolLookupByName, "nope",
              "Storage pool not found: no storage pool with matching name 'nope'")]
    for call, arg, message in cases:
        assert str(fails(call, arg)) == message


def test_duplicate_pools(conn: Any, pool: Any, root: Path) -> None:
    err = fails(conn.storagePoolDefineXML, pool_xml("p", root / "other"))
    assert err.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    assert str(err) == f"operation failed: pool 'p' already exists with uuid " \
                       f"{pool.UUIDString()}"
    err = fails(conn.storagePoolDefineXML, pool_xml("p2", root / "pool"))
    assert str(err) == "operation failed: Storage source conflict with pool: 'p'"


def test_resize_errors(pool: Any) -> None:
    vol = pool.createXML(vol_xml("a.img", 10 * MiB))
    err = fails(vol.resize, MiB, libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK)
    assert (err.get_error_code(), str(err)) == (
        libvirt.VIR_ERR_INVALID_ARG, "invalid argument: can't shrink capacity below existing "
                                     "allocation")
    sparse = pool.createXML(vol_xml("s.img", 10 * MiB, allocation=0))
    err = fails(sparse.resize, MiB)
    assert str(err) == "invalid argument: Can't shrink capacity below current capacity " \
                       "unless shrink flag explicitly specified"
    err = fails(sparse.resize, 1 << 62, libvirt.VIR_STORAGE_VOL_RESIZE_ALLOCATE)
    assert (err.get_error_code(), str(err)) == (
        libvirt.VIR_ERR_OPERATION_FAILED, "operation failed: Not enough space left in "
                                          "storage pool")
    qcow = pool.createXML(vol_xml("b.qcow2", MiB, "qcow2"))
    err = fails(qcow.resize, 2 * MiB, libvirt.VIR_STORAGE_VOL_RESIZE_ALLOCATE)
    assert (err.get_error_code(), str(err)) == (
        libvirt.VIR_ERR_OPERATION_UNSUPPORTED, "Operation not supported: preallocate is only "
                                               "supported for raw type volume")


def test_wipe_and_delete_flags(conn: Any, pool: Any) -> None:
    vol = pool.createXML(vol_xml("a.img", MiB))
    drv = conn._drv.storage
    err = fails(drv.storage_vol_wipe_pattern, vol._ref, 99, 0)
    assert str(err) == "invalid argument: wiping algorithm 99 not supported"
    if shutil.which("scrub") is None:
        err = fails(drv.storage_vol_wipe_pattern, vol._ref, 2, 0)
        assert str(err) == "Cannot find 'scrub' in path: No such file or directory"
    err = fails(vol.delete, libvirt.VIR_STORAGE_VOL_DELETE_ZEROED)
    assert str(err) == "unsupported flags (0x1) in function virStorageBackendVolDeleteLocal"


def test_upload_longer_than_the_volume(conn: Any, pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("a.img", 8192))
    (root / "pool" / "a.img").write_bytes(b"k" * 8192)
    stream = conn.newStream()
    vol.upload(stream, 0, 0)
    stream.send(b"n" * 8192)
    err = fails(stream.send, b"x")
    assert err.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    assert (root / "pool" / "a.img").read_bytes() == b"k" * 8192
    assert files(root) == ["a.img"]                 # no partial file left behind
    err = fails(vol.upload, conn.newStream(), 0, 8193)
    assert "past the end of volume" in str(err)
    vol.delete()                                     # no longer marked in use


def test_volume_in_use_by_a_running_domain(conn: Any, pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("disk.qcow2", 4 * MiB, "qcow2"))
    drv = conn._drv.storage
    drv.set_volume_users(lambda path: ["guest"] if path == vol.path() else [])
    err = fails(vol.delete)
    assert err.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert "still in use by running domain 'guest'" in str(err)
    err = fails(vol.resize, MiB, libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK)
    assert "in use by running domain 'guest'" in str(err)
    vol.resize(8 * MiB)                              # growing is fine
    drv.set_volume_users(None)
    vol.delete()
    assert files(root) == []


def test_volume_busy_while_uploading(conn: Any, pool: Any) -> None:
    vol = pool.createXML(vol_xml("a.img", MiB))
    stream = conn.newStream()
    vol.upload(stream, 0, 0)
    err = fails(vol.delete)
    assert str(err) == "Requested operation is not valid: volume 'a.img' is still in use."
    stream.abort()
    vol.delete()


def test_pool_type_without_a_backend(conn: Any, root: Path) -> None:
    err = fails(conn.storagePoolDefineXML,
                "<pool type='iscsi'><name>i</name><source><host name='h'/>"
                "<device path='iqn.x'/></source><target><path>/dev/disk/by-path</path>"
                "</target></pool>")
    assert (err.get_error_code(), str(err)) == (
        libvirt.VIR_ERR_INTERNAL_ERROR, "internal error: missing backend for pool type 5 "
                                        "(iscsi)")
    assert not (root / "etc" / "storage" / "i.xml").exists()

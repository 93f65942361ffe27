"""Backend choices that need no root: registry, mount sources and options, name checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.conf.storage import StoragePoolDef
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_INVALID, libvirtError
from pyvirt.storage.backend import backend_for, check_volume_name, statvfs_sizes
from pyvirt.storage.dir import DirBackend
from pyvirt.storage.fs import FsBackend
from pyvirt.storage.logical import LogicalBackend
from pyvirt.storage.netfs import NetfsBackend


def pool(xml: str) -> StoragePoolDef:
    pdef = StoragePoolDef.from_xml(xml)
    pdef.normalize()
    return pdef


def test_registry_picks_the_backend_per_type() -> None:
    assert isinstance(backend_for(pool("<pool type='dir'><name>d</name><target><path>/x"
                                       "</path></target></pool>")), DirBackend)
    assert type(backend_for(pool("<pool type='fs'><name>f</name><source><device "
                                 "path='/i'/></source><target><path>/m</path></target>"
                                 "</pool>"))) is FsBackend
    logical = backend_for(pool("<pool type='logical'><name>vg</name><source><device "
                               "path='/dev/loop0'/></source></pool>"))
    assert isinstance(logical, LogicalBackend) and logical.target_path == "/dev/vg"


def test_a_type_without_backend() -> None:
    with pytest.raises(libvirtError) as err:
        backend_for(pool("<pool type='mpath'><name>m</name><target><path>/dev/mapper</path>"
                         "</target></pool>"))
    assert err.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert str(err.value) == "internal error: missing backend for pool type 8 (mpath)"


def test_fs_mounts_an_image_file_with_loop(tmp_path: Path) -> None:
    image = tmp_path / "fs.img"
    image.write_bytes(b"")
    backend = FsBackend(pool(f"<pool type='fs'><name>f</name><source><device path='{image}'/>"
                             f"</source><target><path>{tmp_path}/m/</path></target></pool>"))
    assert backend.mount_options(str(image)) == ["loop"]
    assert backend.mount_options("/dev/null") == []           # a device: no loop
    assert backend.target_path == f"{tmp_path}/m" and backend.fs_format == "auto"
    assert not backend.is_mounted()


def test_netfs_sources_and_options() -> None:
    nfs = NetfsBackend(pool("<pool type='netfs'><name>n</name><source><host name='srv'/>"
                            "<dir path='/export'/><format type='nfs'/><protocol ver='4'/>"
                            "</source><target><path>/mnt/n</path></target></pool>"))
    assert nfs.mount_source() == "srv:/export"
    assert nfs.mount_options("srv:/export") == ["nodev", "nosuid", "noexec", "nfsvers=4"]
    cifs = NetfsBackend(pool("<pool type='netfs'><name>c</name><source><host name='srv'/>"
                             "<dir path='/share'/><format type='cifs'/></source><target>"
                             "<path>/mnt/c</path></target></pool>"))
    assert cifs.mount_source() == "//srv/share"


def test_volume_names() -> None:
    check_volume_name("disk.qcow2")
    with pytest.raises(libvirtError) as err:
        check_volume_name("a/b")
    assert err.value.get_error_code() == VIR_ERR_OPERATION_INVALID


def test_statvfs_sizes_add_up(tmp_path: Path) -> None:
    sizes = statvfs_sizes(str(tmp_path))
    assert sizes.capacity == sizes.allocation + sizes.available > 0

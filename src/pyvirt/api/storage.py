"""``virStoragePool`` and ``virStorageVol``: handles over the storage table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.api._checks import check_not_none
from pyvirt.api._handle import NamedHandle
from pyvirt.api._lasterror import recorded
from pyvirt.errors import VIR_ERR_INVALID_STORAGE_VOL, VIR_FROM_STORAGE, error

if TYPE_CHECKING:
    from pyvirt.api.connect import virConnect
    from pyvirt.api.stream import virStream

_FROM = VIR_FROM_STORAGE


class _StorageHandle:
    _conn: "virConnect"
    _ref: Any

    def _call(self, entry: str, func: str, *args: Any) -> Any:
        return self._conn._handle_entry("storage", entry, func, _FROM)(self._ref, *args)

    def _change(self, entry: str, func: str, *args: Any) -> Any:
        self._conn._check_writable(func, _FROM)
        return self._call(entry, func, *args)


@recorded
class virStoragePool(NamedHandle, _StorageHandle):  # noqa: N801 - libvirt-python's name
    """libvirt-python's virStoragePool over a driver ``StoragePoolRef``."""

    def __init__(self, conn: "virConnect", _obj: Any = None) -> None:
        self._conn = conn
        self._ref = _obj
        conn._adopt(self)



    def XMLDesc(self, flags=0) -> str:  # noqa: N802
        return self._call("storage_pool_get_xml_desc", "virStoragePoolGetXMLDesc", flags)

    def info(self) -> list[int]:
        return list(self._call("storage_pool_get_info", "virStoragePoolGetInfo"))

    def isActive(self) -> int:  # noqa: N802
        return int(self._call("storage_pool_is_active", "virStoragePoolIsActive"))

    def isPersistent(self) -> int:  # noqa: N802
        return int(self._call("storage_pool_is_persistent", "virStoragePoolIsPersistent"))

    def autostart(self) -> int:
        return int(self._call("storage_pool_get_autostart", "virStoragePoolGetAutostart"))

    def setAutostart(self, autostart) -> int:  # noqa: N802
        self._change("storage_pool_set_autostart", "virStoragePoolSetAutostart",
                     1 if autostart else 0)
        return 0

    def build(self, flags=0) -> int:
        self._change("storage_pool_build", "virStoragePoolBuild", flags)
        return 0

    def create(self, flags=0) -> int:
        self._change("storage_pool_create", "virStoragePoolCreate", flags)
        return 0

    def delete(self, flags=0) -> int:
        self._change("storage_pool_delete", "virStoragePoolDelete", flags)
        return 0

    def destroy(self) -> int:
        self._change("storage_pool_destroy", "virStoragePoolDestroy")
        return 0

    def undefine(self) -> int:
        self._change("storage_pool_undefine", "virStoragePoolUndefine")
        return 0

    def refresh(self, flags=0) -> int:
        self._change("storage_pool_refresh", "virStoragePoolRefresh", flags)
        return 0

    def listAllVolumes(self, flags: int = 0) -> list["virStorageVol"]:  # noqa: N802
        refs = self._call("storage_pool_list_all_volumes", "virStoragePoolListAllVolumes",
                          flags)
        return [virStorageVol(self._conn, ref) for ref in refs]

    def listVolumes(self) -> list[str]:  # noqa: N802
        """virStoragePoolListVolumes (libvirt-python does not go through ListAll)."""
        if self._conn._has("storage", "storage_pool_list_volumes"):
            return list(self._call("storage_pool_list_volumes", "virStoragePoolListVolumes",
                                   -1))
        return [vol.name() for vol in self.listAllVolumes(0)]

    def numOfVolumes(self) -> int:  # noqa: N802
        return self._call("storage_pool_num_of_volumes", "virStoragePoolNumOfVolumes")

    def storageVolLookupByName(self, name) -> "virStorageVol":  # noqa: N802
        check_not_none(name, "name", "virStorageVolLookupByName", _FROM)
        ref = self._call("storage_vol_lookup_by_name", "virStorageVolLookupByName", name)
        return virStorageVol(self._conn, ref)

    def createXML(self, xmlDesc, flags=0) -> "virStorageVol":  # noqa: N802,N803
        check_not_none(xmlDesc, "xmlDesc", "virStorageVolCreateXML", _FROM)
        ref = self._change("storage_vol_create_xml", "virStorageVolCreateXML", xmlDesc, flags)
        return virStorageVol(self._conn, ref)

    def createXMLFrom(self, xmlDesc, clonevol, flags=0) -> "virStorageVol":  # noqa: N802,N803
        if clonevol is None:
            raise error(VIR_ERR_INVALID_STORAGE_VOL, "virStorageVolCreateXMLFrom",
                        domain=_FROM)
        check_not_none(xmlDesc, "xmlDesc", "virStorageVolCreateXMLFrom", _FROM)
        ref = self._change("storage_vol_create_xml_from", "virStorageVolCreateXMLFrom",
                           xmlDesc, clonevol._ref, flags)
        return virStorageVol(self._conn, ref)


@recorded
class virStorageVol(_StorageHandle):  # noqa: N801 - libvirt-python's name
    """libvirt-python's virStorageVol over a driver ``StorageVolRef``."""

    streamBufSize = 262120   # libvirt-python's value

    def __init__(self, conn: "virConnect", _obj: Any = None) -> None:
        self._conn = conn
        self._ref = _obj
        conn._adopt(self)

    def __repr__(self) -> str:
        return f"<pyvirt.virStorageVol {self._ref.key!r}>"

    def c_pointer(self) -> int:
        return id(self)

    def connect(self) -> "virConnect":
        return self._conn

    def name(self) -> str:
        return self._ref.name

    def key(self) -> str:
        return self._ref.key

    def path(self) -> str:
        return self._call("storage_vol_get_path", "virStorageVolGetPath")

    def info(self) -> list[int]:
        return list(self._call("storage_vol_get_info", "virStorageVolGetInfo"))

    def infoFlags(self, flags=0) -> list[int]:  # noqa: N802
        return list(self._call("storage_vol_get_info_flags", "virStorageVolGetInfoFlags", flags))

    def XMLDesc(self, flags=0) -> str:  # noqa: N802
        return self._call("storage_vol_get_xml_desc", "virStorageVolGetXMLDesc", flags)

    def delete(self, flags=0) -> int:
        self._change("storage_vol_delete", "virStorageVolDelete", flags)
        return 0

    def wipe(self, flags=0) -> int:
        self._change("storage_vol_wipe", "virStorageVolWipe", flags)
        return 0

    def wipePattern(self, algorithm, flags=0) -> int:  # noqa: N802
        self._change("storage_vol_wipe_pattern", "virStorageVolWipePattern", algorithm, flags)
        return 0

    def resize(self, capacity, flags=0) -> int:
        self._change("storage_vol_resize", "virStorageVolResize", capacity, flags)
        return 0

    def upload(self, stream: "virStream", offset, length, flags=0) -> int:
        stream._bind(lambda end: self._change("storage_vol_upload", "virStorageVolUpload",
                                              end, offset, length, flags))
        return 0

    def download(self, stream: "virStream", offset, length, flags=0) -> int:
        stream._bind(lambda end: self._change("storage_vol_download", "virStorageVolDownload",
                                              end, offset, length, flags))
        return 0

    def storagePoolLookupByVolume(self) -> virStoragePool:  # noqa: N802
        ref = self._call("storage_pool_lookup_by_volume", "virStoragePoolLookupByVolume")
        return virStoragePool(self._conn, ref)

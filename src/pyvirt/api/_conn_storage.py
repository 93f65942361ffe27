"""virConnect's storage calls: pools and volumes.

A mixin of :class:`pyvirt.api.connect.virConnect`.
"""

from __future__ import annotations

from typing import Any

from pyvirt.api._checks import check_not_none, check_uuid_bytes, parse_uuid_string
from pyvirt.api._lasterror import recorded
from pyvirt.api.storage import virStoragePool, virStorageVol
from pyvirt.constants import (VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE,
                              VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE)
from pyvirt.errors import VIR_FROM_STORAGE


@recorded
class ConnectStorage:
    """Storage pool and volume lookup, listing and definition on a connection."""

    _drv: Any

    # --- storage -------------------------------------------------------------
    def storagePoolLookupByName(self, name) -> virStoragePool:  # noqa: N802
        check_not_none(name, "name", "virStoragePoolLookupByName", VIR_FROM_STORAGE)
        return virStoragePool(self, self._pool("storage_pool_lookup_by_name",
                                               "virStoragePoolLookupByName")(name))

    def storagePoolLookupByUUID(self, uuid) -> virStoragePool:  # noqa: N802
        raw = check_uuid_bytes(uuid, "virStoragePoolLookupByUUID", VIR_FROM_STORAGE)
        return virStoragePool(self, self._pool("storage_pool_lookup_by_uuid",
                                               "virStoragePoolLookupByUUID")(raw))

    def storagePoolLookupByUUIDString(self, uuidstr) -> virStoragePool:  # noqa: N802
        raw = parse_uuid_string(uuidstr, "virStoragePoolLookupByUUIDString", VIR_FROM_STORAGE)
        return virStoragePool(self, self._pool("storage_pool_lookup_by_uuid",
                                               "virStoragePoolLookupByUUIDString")(raw))

    def storagePoolLookupByTargetPath(self, path) -> virStoragePool:  # noqa: N802
        check_not_none(path, "path", "virStoragePoolLookupByTargetPath", VIR_FROM_STORAGE)
        return virStoragePool(self, self._pool("storage_pool_lookup_by_target_path",
                                               "virStoragePoolLookupByTargetPath")(path))

    def listAllStoragePools(self, flags: int = 0) -> list[virStoragePool]:  # noqa: N802
        refs = self._pool("connect_list_all_storage_pools",
                          "virConnectListAllStoragePools")(flags)
        return [virStoragePool(self, ref) for ref in refs]

    def _pool_names(self, entry: str, func: str, flags: int) -> list[str]:
        self._check_open(func, VIR_FROM_STORAGE)
        if self._has("storage", entry):
            return list(getattr(self._drv.storage, entry)(self._pool_count(flags, func)))
        return [ref.name for ref in self._pool_refs(flags, func)]

    def _pool_refs(self, flags: int, func: str) -> list[Any]:
        return list(self._pool("connect_list_all_storage_pools", func)(flags))

    def _pool_count(self, flags: int, func: str) -> int:
        self._check_open(func, VIR_FROM_STORAGE)
        entry = ("connect_num_of_storage_pools" if flags == VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE
                 else "connect_num_of_defined_storage_pools")
        if self._has("storage", entry):
            return getattr(self._drv.storage, entry)()
        return len(self._pool_refs(flags, func))

    def listStoragePools(self) -> list[str]:  # noqa: N802
        return self._pool_names("connect_list_storage_pools", "virConnectNumOfStoragePools",
                                VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)

    def listDefinedStoragePools(self) -> list[str]:  # noqa: N802
        return self._pool_names("connect_list_defined_storage_pools",
                                "virConnectNumOfDefinedStoragePools",
                                VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE)

    def numOfStoragePools(self) -> int:  # noqa: N802
        return self._pool_count(VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE,
                                "virConnectNumOfStoragePools")

    def numOfDefinedStoragePools(self) -> int:  # noqa: N802
        return self._pool_count(VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE,
                                "virConnectNumOfDefinedStoragePools")

    def storagePoolDefineXML(self, xml, flags=0) -> virStoragePool:  # noqa: N802
        self._check_writable("virStoragePoolDefineXML", VIR_FROM_STORAGE)
        check_not_none(xml, "xml", "virStoragePoolDefineXML", VIR_FROM_STORAGE)
        return virStoragePool(self, self._pool("storage_pool_define_xml",
                                               "virStoragePoolDefineXML")(xml, flags))

    def storagePoolCreateXML(self, xmlDesc, flags=0) -> virStoragePool:  # noqa: N802,N803
        check_not_none(xmlDesc, "xmlDesc", "virStoragePoolCreateXML", VIR_FROM_STORAGE)
        self._check_writable("virStoragePoolCreateXML", VIR_FROM_STORAGE)
        return virStoragePool(self, self._pool("storage_pool_create_xml",
                                               "virStoragePoolCreateXML")(xmlDesc, flags))

    def getStoragePoolCapabilities(self, flags=0) -> str:  # noqa: N802
        return self._pool("connect_get_storage_pool_capabilities",
                          "virConnectGetStoragePoolCapabilities")(flags)

    def findStoragePoolSources(self, type, srcSpec, flags=0) -> str:  # noqa: N802,N803,A002
        self._check_writable("virConnectFindStoragePoolSources", VIR_FROM_STORAGE)
        return self._pool("connect_find_storage_pool_sources",
                          "virConnectFindStoragePoolSources")(type, srcSpec, flags)

    def storageVolLookupByKey(self, key) -> virStorageVol:  # noqa: N802
        check_not_none(key, "key", "virStorageVolLookupByKey", VIR_FROM_STORAGE)
        return virStorageVol(self, self._pool("storage_vol_lookup_by_key",
                                              "virStorageVolLookupByKey")(key))

    def storageVolLookupByPath(self, path) -> virStorageVol:  # noqa: N802
        check_not_none(path, "path", "virStorageVolLookupByPath", VIR_FROM_STORAGE)
        return virStorageVol(self, self._pool("storage_vol_lookup_by_path",
                                              "virStorageVolLookupByPath")(path))


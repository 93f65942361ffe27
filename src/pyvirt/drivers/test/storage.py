"""The test driver's StorageConnection: in-memory pools and volumes, and pool events."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, Callable

from pyvirt.drivers.base import StoragePoolRef, StorageVolRef, StorageConnection
from pyvirt.drivers.test import netpoolxml
from pyvirt.drivers.test.checks import check_flags, delivers_events as _events
from pyvirt.drivers.test.state import TestState
from pyvirt.errors import (
    VIR_FROM_NONE,
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL,
    VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_FROM_STORAGE, VIR_FROM_TEST,
    error,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.storage_obj import PoolObj, VolumeObj

#: virStoragePoolState
POOL_INACTIVE, POOL_RUNNING = 0, 2
VOL_RESIZE_ALLOCATE, VOL_RESIZE_DELTA, VOL_RESIZE_SHRINK = 1, 2, 4


#: virConnectListAllStoragePools' type filters, from bit 6 on (libvirt 9.0)
_POOL_TYPE_BITS = ("dir", "fs", "netfs", "logical", "disk", "iscsi", "scsi", "mpath", "rbd",
                   "sheepdog", "gluster", "zfs", "vstorage", "iscsi-direct")


class TestStorage(StorageConnection):
    #: every call works on memory only, so pyvirtd may run it on its event loop
    calls_never_block = True

    def __init__(self, state: TestState, owner: Any) -> None:
        self.state = state
        self._owner = owner

    @property
    def _pools(self):  # noqa: ANN202
        return self.state.pools

    @staticmethod
    def _ref(pool: PoolObj) -> StoragePoolRef:
        return StoragePoolRef(pool.name, pool.uuid)

    @staticmethod
    def _vref(pool: PoolObj, vol: VolumeObj) -> StorageVolRef:
        return StorageVolRef(pool.name, vol.name, vol.key)

    def _pool(self, ref: StoragePoolRef) -> PoolObj:
        pool = self._pools.find_by_uuid(ref.uuid)
        if pool is None:
            raise error(VIR_ERR_NO_STORAGE_POOL, "no storage pool with matching uuid "
                        f"'{uuidlib.UUID(bytes=ref.uuid)}' ({ref.name})", domain=VIR_FROM_TEST)
        return pool

    @staticmethod
    def _require_active(pool: PoolObj) -> None:
        if not pool.active:
            raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is not active",
                        domain=VIR_FROM_TEST)

    def _active_pool(self, name: str) -> PoolObj:
        pool = self._pools.find_by_name(name)
        if pool is None:
            raise error(VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching name '{name}'",
                        domain=VIR_FROM_TEST)
        self._require_active(pool)
        return pool

    def _vol(self, ref: StorageVolRef) -> tuple[PoolObj, VolumeObj]:
        pool = self._active_pool(ref.pool)
        vol = pool.volumes.get(ref.name)
        if vol is None:
            raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{ref.name}'",
                        domain=VIR_FROM_TEST)
        return pool, vol

    def _event(self, pool: PoolObj, event: int) -> None:
        self.state.pool_events.queue(n.STORAGE_POOL_EVENT_ID_LIFECYCLE, self._ref(pool),
                                     event, 0)

    def _check_duplicates(self, name: str, uuid: bytes) -> PoolObj | None:
        same_uuid = self._pools.find_by_uuid(uuid)
        if same_uuid is not None:
            if same_uuid.name != name:
                raise error(VIR_ERR_OPERATION_FAILED,
                            f"pool '{same_uuid.name}' is already defined with uuid "
                            f"{same_uuid.uuid_str}", domain=VIR_FROM_STORAGE)
            return same_uuid
        same_name = self._pools.find_by_name(name)
        if same_name is not None:
            raise error(VIR_ERR_OPERATION_FAILED,
                        f"pool '{name}' already exists with uuid {same_name.uuid_str}",
                        domain=VIR_FROM_STORAGE)
        return None

    # --- pools: lookup ----------------------------------------------------------------
    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        pool = self._pools.find_by_name(name)
        if pool is None:
            raise error(VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching name '{name}'",
                        domain=VIR_FROM_TEST)
        return self._ref(pool)

    def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        pool = self._pools.find_by_uuid(bytes(uuid))
        if pool is None:
            raise error(VIR_ERR_NO_STORAGE_POOL, "no storage pool with matching uuid "
                        f"'{uuidlib.UUID(bytes=bytes(uuid))}'", domain=VIR_FROM_TEST)
        return self._ref(pool)

    def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        return self.storage_pool_lookup_by_name(vol.pool)

    def connect_list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        check_flags(flags, (1 << (6 + len(_POOL_TYPE_BITS))) - 1,
                    "testConnectListAllStoragePools")
        types = {t for bit, t in enumerate(_POOL_TYPE_BITS) if flags & (1 << (6 + bit))}
        return [self._ref(p) for p in self._pools.list(flags & 0x3F)
                if not types or p.definition.node.get("type") in types]

    def connect_num_of_storage_pools(self) -> int:
        return len(self._pools.list(n.LIST_ACTIVE))

    def connect_list_storage_pools(self, maxnames: int = -1) -> list[str]:
        names = [p.name for p in self._pools.list(n.LIST_ACTIVE)]
        return names if maxnames < 0 else names[:maxnames]

    def connect_num_of_defined_storage_pools(self) -> int:
        return len(self._pools.list(n.LIST_INACTIVE))

    def connect_list_defined_storage_pools(self, maxnames: int = -1) -> list[str]:
        names = [p.name for p in self._pools.list(n.LIST_INACTIVE)]
        return names if maxnames < 0 else names[:maxnames]

    # --- pools: lifecycle -------------------------------------------------------------
    def _new_pool(self, xml: str, active: bool, persistent: bool) -> PoolObj:
        pdef = netpoolxml.parse_pool(xml)
        name, uuid = netpoolxml.name_of(pdef), netpoolxml.uuid_of(pdef)
        pool = self._check_duplicates(name, uuid)
        if pool is not None:
            if active and pool.active:
                raise error(VIR_ERR_OPERATION_INVALID, f"pool '{name}' is already active",
                            domain=VIR_FROM_STORAGE)
            pool.definition, pool.persistent = pdef, pool.persistent or persistent
            return pool
        from pyvirt.drivers.test.defaults import DEFAULT_POOL_CAPACITY
        return self._pools.add(PoolObj(name=name, uuid=uuid, definition=pdef, active=active,
                                       persistent=persistent, capacity=DEFAULT_POOL_CAPACITY,
                                       available=DEFAULT_POOL_CAPACITY))

    @_events
    def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        check_flags(flags, 1, "testStoragePoolDefineXML")   # POOL_DEFINE_VALIDATE
        with self._pools.lock:
            pool = self._new_pool(xml, active=False, persistent=True)
            self._event(pool, n.POOL_EVENT_DEFINED)
            return self._ref(pool)

    @_events
    def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        check_flags(flags, 0, "testStoragePoolCreateXML")
        with self._pools.lock:
            pool = self._new_pool(xml, active=True, persistent=False)
            pool.active = True
            self._event(pool, n.POOL_EVENT_STARTED)
            return self._ref(pool)

    @_events
    def storage_pool_undefine(self, ref: StoragePoolRef) -> None:
        with self._pools.lock:
            pool = self._pool(ref)
            if pool.active:
                raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is active",
                            domain=VIR_FROM_TEST)
            self._pools.remove(pool)
            self._event(pool, n.POOL_EVENT_UNDEFINED)

    @_events
    def storage_pool_create(self, ref: StoragePoolRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testStoragePoolCreate")
        with self._pools.lock:
            pool = self._pool(ref)
            if pool.active:
                raise error(VIR_ERR_OPERATION_INVALID,
                            f"storage pool '{pool.name}' is active", domain=VIR_FROM_TEST)
            pool.active = True
            self._event(pool, n.POOL_EVENT_STARTED)

    def storage_pool_build(self, ref: StoragePoolRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testStoragePoolBuild")
        with self._pools.lock:
            pool = self._pool(ref)
            if pool.active:
                raise error(VIR_ERR_OPERATION_INVALID,
                            f"storage pool '{pool.name}' is active", domain=VIR_FROM_TEST)

    @_events
    def storage_pool_destroy(self, ref: StoragePoolRef) -> None:
        with self._pools.lock:
            pool = self._pool(ref)
            self._require_active(pool)
            pool.active = False
            self._event(pool, n.POOL_EVENT_STOPPED)
            if not pool.persistent:
                self._pools.remove(pool)

    def storage_pool_delete(self, ref: StoragePoolRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testStoragePoolDelete")
        with self._pools.lock:
            pool = self._pool(ref)
            if pool.active:
                raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is active",
                            domain=VIR_FROM_TEST)

    @_events
    def storage_pool_refresh(self, ref: StoragePoolRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testStoragePoolRefresh")
        with self._pools.lock:
            pool = self._pool(ref)
            self._require_active(pool)
            self.state.pool_events.queue(n.STORAGE_POOL_EVENT_ID_REFRESH, self._ref(pool))

    def storage_pool_get_info(self, ref: StoragePoolRef) -> list[int]:
        pool = self._pool(ref)
        return [POOL_RUNNING if pool.active else POOL_INACTIVE, pool.capacity,
                pool.allocation, pool.available]

    def storage_pool_get_xml_desc(self, ref: StoragePoolRef, flags: int = 0) -> str:
        check_flags(flags, 0, "testStoragePoolGetXMLDesc")   # no XML_INACTIVE in 9.0
        pool = self._pool(ref)
        return netpoolxml.format_pool(pool.definition, pool.capacity, pool.allocation,
                                      pool.available)

    def storage_pool_get_autostart(self, ref: StoragePoolRef) -> bool:
        return self._pool(ref).autostart

    def storage_pool_set_autostart(self, ref: StoragePoolRef, autostart: bool) -> None:
        with self._pools.lock:
            pool = self._pool(ref)
            if not pool.persistent:
                raise error(VIR_ERR_INVALID_ARG, "pool has no config file",
                            domain=VIR_FROM_TEST)
            pool.autostart = bool(autostart)

    def storage_pool_is_active(self, ref: StoragePoolRef) -> bool:
        return self._pool(ref).active

    def storage_pool_is_persistent(self, ref: StoragePoolRef) -> bool:
        return self._pool(ref).persistent

    # --- volumes ----------------------------------------------------------------------
    def storage_pool_num_of_volumes(self, ref: StoragePoolRef) -> int:
        pool = self._pool(ref)
        self._require_active(pool)
        return len(pool.volumes)

    def storage_pool_list_volumes(self, ref: StoragePoolRef, maxnames: int = -1) -> list[str]:
        with self._pools.lock:
            pool = self._pool(ref)
            self._require_active(pool)
            names = sorted(pool.volumes)
        return names if maxnames < 0 else names[:maxnames]

    def storage_pool_list_all_volumes(self, ref: StoragePoolRef,
                                      flags: int = 0) -> list[StorageVolRef]:
        check_flags(flags, 0, "testStoragePoolListAllVolumes")
        with self._pools.lock:
            pool = self._pool(ref)
            if not pool.active:     # libvirt's testStoragePoolListAllVolumes names no pool
                raise error(VIR_ERR_OPERATION_INVALID, "storage pool is not active",
                            domain=VIR_FROM_TEST)
            return [self._vref(pool, v) for v in sorted(pool.volumes.values(),
                                                        key=lambda v: v.name)]

    def storage_vol_lookup_by_name(self, ref: StoragePoolRef, name: str) -> StorageVolRef:
        with self._pools.lock:
            pool = self._pool(ref)
            self._require_active(pool)
            vol = pool.volumes.get(name)
            if vol is None:
                raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{name}'",
                            domain=VIR_FROM_TEST)
            return self._vref(pool, vol)

    def _find_vol(self, attr: str, value: str) -> StorageVolRef:
        with self._pools.lock:
            for pool in self._pools.list(n.LIST_ACTIVE):
                for vol in pool.volumes.values():
                    if getattr(vol, attr) == value:
                        return self._vref(pool, vol)
        raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching {attr} '{value}'",
                    domain=VIR_FROM_TEST)

    def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        return self._find_vol("key", key)

    def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        return self._find_vol("path", path)

    def storage_vol_create_xml(self, ref: StoragePoolRef, xml: str,
                               flags: int = 0) -> StorageVolRef:
        check_flags(flags, 0, "testStorageVolCreateXML")
        with self._pools.lock:
            pool = self._pool(ref)
            self._require_active(pool)
            return self._add_volume(pool, xml)

    def _add_volume(self, pool: PoolObj, xml: str) -> StorageVolRef:
        vdef = netpoolxml.parse_volume(xml, pool.definition)
        if netpoolxml.name_of(vdef) in pool.volumes:
            raise error(VIR_ERR_OPERATION_FAILED, "storage vol already exists",
                        domain=VIR_FROM_TEST)
        capacity, allocation = netpoolxml.volume_sizes(vdef)
        if allocation > pool.available:
            raise error(VIR_ERR_INTERNAL_ERROR, "Not enough free space in pool for volume "
                        f"'{netpoolxml.name_of(vdef)}'", domain=VIR_FROM_TEST)
        vol = self.state.add_volume(pool, xml)
        return self._vref(pool, vol)

    def storage_vol_create_xml_from(self, ref: StoragePoolRef, xml: str, clonevol: StorageVolRef,
                                    flags: int = 0) -> StorageVolRef:
        check_flags(flags, 0, "testStorageVolCreateXMLFrom")
        with self._pools.lock:
            pool = self._pool(ref)
            self._require_active(pool)
            self._vol(clonevol)
            return self._add_volume(pool, xml)

    def storage_vol_delete(self, ref: StorageVolRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testStorageVolDelete")
        with self._pools.lock:
            pool, vol = self._vol(ref)
            del pool.volumes[vol.name]
            pool.allocation -= vol.allocation
            pool.available = max(pool.capacity - pool.allocation, 0)

    def storage_vol_get_info(self, ref: StorageVolRef) -> list[int]:
        _, vol = self._vol(ref)
        return [vol.vol_type, vol.capacity, vol.allocation]

    def storage_vol_get_xml_desc(self, ref: StorageVolRef, flags: int = 0) -> str:
        check_flags(flags, 0, "testStorageVolGetXMLDesc")
        _, vol = self._vol(ref)
        return netpoolxml.format_volume(vol.definition)

    def storage_vol_get_path(self, ref: StorageVolRef) -> str:
        return self._vol(ref)[1].path

    # --- events -----------------------------------------------------------------------
    def connect_storage_pool_event_register_any(self, event_id: int,
                                                ref: StoragePoolRef | None,
                                                sink: Callable[..., None]) -> int:
        uuid = None if ref is None else self._pool(ref).uuid
        return self.state.pool_events.register(event_id, uuid, sink, self._owner)

    def connect_storage_pool_event_deregister_any(self, callback_id: int) -> None:
        if not self.state.pool_events.deregister(callback_id, self._owner):
            raise error(VIR_ERR_INVALID_ARG,
                        f"could not find event callback {callback_id} for deletion",
                        domain=VIR_FROM_NONE)

"""The storage driver's table: pools and volumes on real backends.

Checks that do not depend on the pool type live here, with libvirt's storage
driver messages; host work is the backend's (``pyvirt.storage``). Every
entry point takes the state lock; events queued meanwhile are delivered
after it is released. Uploads and downloads run outside the lock and mark
their volume in use until they end.
"""

from __future__ import annotations

import functools
import os
import uuid as uuidlib
from typing import Any, Callable

from pyvirt.conf.storage import StorageVolDef
from pyvirt.constants import (
    VIR_STORAGE_POOL_BUILD_NO_OVERWRITE, VIR_STORAGE_POOL_BUILD_OVERWRITE,
    VIR_STORAGE_POOL_CREATE_WITH_BUILD, VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE,
    VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE, VIR_STORAGE_POOL_DELETE_ZEROED,
    VIR_STORAGE_POOL_EVENT_CREATED, VIR_STORAGE_POOL_EVENT_DEFINED,
    VIR_STORAGE_POOL_EVENT_DELETED, VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
    VIR_STORAGE_POOL_EVENT_ID_REFRESH, VIR_STORAGE_POOL_EVENT_STARTED,
    VIR_STORAGE_POOL_EVENT_STOPPED, VIR_STORAGE_POOL_EVENT_UNDEFINED,
    VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA, VIR_STORAGE_VOL_CREATE_REFLINK,
    VIR_STORAGE_VOL_CREATE_VALIDATE, VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS,
    VIR_STORAGE_VOL_DELETE_ZEROED, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM,
    VIR_STORAGE_VOL_GET_PHYSICAL, VIR_STORAGE_VOL_RESIZE_ALLOCATE, VIR_STORAGE_VOL_RESIZE_DELTA,
    VIR_STORAGE_VOL_RESIZE_SHRINK, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM, VIR_STORAGE_XML_INACTIVE,
)
from pyvirt.drivers.base import StorageConnection, StoragePoolRef, StorageVolRef
from pyvirt.drivers.storage import xmlformat
from pyvirt.drivers.storage.state import StorageState, parse_pool
from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_STORAGE_POOL,
    VIR_ERR_NO_STORAGE_VOL, VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID,
    VIR_ERR_STORAGE_VOL_EXIST, VIR_FROM_STORAGE, error, libvirtError,
)
from pyvirt.security.paths import check_name
from pyvirt.objects.storage_obj import PoolObj
from pyvirt.storage.backend import FoundVolume, bare_error, check_flags
from pyvirt.storage.encryption import check_encryption
from pyvirt.storage.volfile import VolumeFacts

#: virStoragePoolState / virStorageVolType numbers.
POOL_INACTIVE, POOL_RUNNING = 0, 2
VOL_TYPES = {"file": 0, "block": 1, "dir": 2, "network": 3, "netdir": 4, "ploop": 5}
#: VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE> bits (not in virStoragePoolType's order).
POOL_TYPE_FLAGS = {"dir": 1 << 6, "fs": 1 << 7, "netfs": 1 << 8, "logical": 1 << 9,
                   "disk": 1 << 10, "iscsi": 1 << 11, "scsi": 1 << 12, "mpath": 1 << 13,
                   "rbd": 1 << 14, "sheepdog": 1 << 15, "gluster": 1 << 16, "zfs": 1 << 17,
                   "vstorage": 1 << 18, "iscsi-direct": 1 << 19}
#: VIR_STORAGE_VOL_WIPE_ALG_LAST
WIPE_ALG_LAST = 10

_FROM = VIR_FROM_STORAGE


def _delivers_events(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run under the state lock, then deliver queued events with the lock released."""

    @functools.wraps(method)
    def wrapper(self: "StorageDriver", *args: Any, **kwargs: Any) -> Any:
        try:
            with self.state.lock:
                return method(self, *args, **kwargs)
        finally:
            self.state.events.flush()

    return wrapper


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: "StorageDriver", *args: Any, **kwargs: Any) -> Any:
        with self.state.lock:
            return method(self, *args, **kwargs)

    return wrapper


class StorageDriver(StorageConnection):
    """One connection's view of a shared :class:`StorageState`."""

    def __init__(self, state: StorageState, readonly: bool = False,
                 on_close: Callable[["StorageDriver"], None] | None = None) -> None:
        self.state = state
        self.readonly = readonly
        self._on_close = on_close
        self._closed = False

    def connect_close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.state.events.deregister_owner(self)
        if self._on_close is not None:
            self._on_close(self)

    def set_volume_users(self, lookup: Callable[[str], list[str]] | None) -> None:
        """Install the hypervisor's "which running domains use this path" answer:
        such volumes cannot be deleted, wiped, shrunk or uploaded to."""
        self.state.volume_users = lookup

    # --- helpers --------------------------------------------------------------------
    @staticmethod
    def _ref(pool: PoolObj) -> StoragePoolRef:
        return StoragePoolRef(pool.name, pool.uuid)

    @staticmethod
    def _vref(pool: PoolObj, vol: FoundVolume) -> StorageVolRef:
        return StorageVolRef(pool.name, vol.name, vol.key)

    def _event(self, pool: PoolObj, event: int) -> None:
        self.state.events.queue(VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, self._ref(pool), event, 0)

    def _pool(self, ref: StoragePoolRef) -> PoolObj:
        pool = self.state.pools.find_by_uuid(bytes(ref.uuid))
        if pool is None:
            raise error(VIR_ERR_NO_STORAGE_POOL, "no storage pool with matching uuid "
                        f"'{uuidlib.UUID(bytes=bytes(ref.uuid))}' ({ref.name})", domain=_FROM)
        return pool

    def _pool_by_name(self, name: str) -> PoolObj:
        pool = self.state.pools.find_by_name(name)
        if pool is None:
            raise error(VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching name "
                        f"'{name}'", domain=_FROM)
        return pool

    @staticmethod
    def _require_active(pool: PoolObj) -> None:
        if not pool.active:
            raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is not active",
                        domain=_FROM)

    def _vol(self, ref: StorageVolRef) -> tuple[PoolObj, FoundVolume]:
        pool = self._pool_by_name(ref.pool)
        self._require_active(pool)
        vol = self.state.rt(pool).volumes.get(ref.name)
        if vol is None:
            raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name "
                        f"'{ref.name}'", domain=_FROM)
        return pool, vol

    def _check_idle(self, pool: PoolObj, vol: FoundVolume, *, domains: bool = True) -> None:
        if self.state.rt(pool).in_use.get(vol.name):
            raise error(VIR_ERR_OPERATION_INVALID, f"volume '{vol.name}' is still in use.",
                        domain=_FROM)
        users = self.state.users_of(vol.facts.path) if domains else []
        if users:
            raise error(VIR_ERR_OPERATION_INVALID, f"volume '{vol.name}' is still in use by "
                        f"running domain '{users[0]}'", domain=_FROM)

    def _reprobe(self, pool: PoolObj, vol: FoundVolume) -> FoundVolume:
        runtime = self.state.rt(pool)
        try:
            fresh = runtime.backend.probe_volume(vol.name, vol.facts.path)
        except libvirtError:
            runtime.volumes.pop(vol.name, None)
            raise
        runtime.volumes[vol.name] = fresh
        self._refresh_sizes(pool)
        return fresh

    def _refresh_sizes(self, pool: PoolObj) -> None:
        """Pool figures after a volume changed (a full rescan is not needed)."""
        runtime = self.state.rt(pool)
        try:
            runtime.sizes = runtime.backend.refresh().sizes if pool.definition.type == \
                "logical" else _fs_sizes(runtime.backend.target_path)
        except libvirtError:
            pass

    # --- pools: lookup and listing ----------------------------------------------------
    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        return self._ref(self._pool_by_name(name))

    def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        pool = self.state.pools.find_by_uuid(bytes(uuid))
        if pool is None:
            raise error(VIR_ERR_NO_STORAGE_POOL, "no storage pool with matching uuid "
                        f"'{uuidlib.UUID(bytes=bytes(uuid))}'", domain=_FROM)
        return self._ref(pool)

    def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        pool = self.state.pools.find_by_name(vol.pool)
        if pool is None:
            raise error(VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching name "
                        f"'{vol.pool}'", domain=_FROM)
        return self._ref(pool)

    def storage_pool_lookup_by_target_path(self, path: str) -> StoragePoolRef:
        wanted = os.path.normpath(path)
        for pool in self.state.pools.list():
            if pool.active and pool.definition.target_path and \
                    os.path.normpath(pool.definition.target_path) == wanted:
                return self._ref(pool)
        raise error(VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching target path "
                    f"'{path}'", domain=_FROM)

    def connect_list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        pools = self.state.pools.list(flags & 0x3F)
        if flags & ~0x3F:
            pools = [p for p in pools
                     if flags & POOL_TYPE_FLAGS.get(p.definition.type or "dir", 0)]
        return [self._ref(p) for p in pools]

    def connect_num_of_storage_pools(self) -> int:
        return sum(1 for p in self.state.pools if p.active)

    def connect_list_storage_pools(self, maxnames: int = -1) -> list[str]:
        names = [p.name for p in self.state.pools.list() if p.active]
        return names if maxnames < 0 else names[:maxnames]

    def connect_num_of_defined_storage_pools(self) -> int:
        return sum(1 for p in self.state.pools if not p.active)

    def connect_list_defined_storage_pools(self, maxnames: int = -1) -> list[str]:
        names = [p.name for p in self.state.pools.list() if not p.active]
        return names if maxnames < 0 else names[:maxnames]

    # --- pools: definition -------------------------------------------------------------
    def _check_duplicates(self, pdef: Any) -> PoolObj | None:
        """libvirt's virStoragePoolObjIsDuplicate + source conflict check."""
        uuid = uuidlib.UUID(pdef.uuid).bytes
        same_uuid = self.state.pools.find_by_uuid(uuid)
        if same_uuid is not None:
            if same_uuid.name != pdef.name:
                raise error(VIR_ERR_OPERATION_FAILED, f"pool '{same_uuid.name}' is already "
                            f"defined with uuid {same_uuid.uuid_str}", domain=_FROM)
            return same_uuid
        same_name = self.state.pools.find_by_name(pdef.name)
        if same_name is not None:
            raise error(VIR_ERR_OPERATION_FAILED, f"pool '{pdef.name}' already exists with "
                        f"uuid {same_name.uuid_str}", domain=_FROM)
        for other in self.state.pools:
            if _same_source(other.definition, pdef):
                raise error(VIR_ERR_OPERATION_FAILED, f"Storage source conflict with pool: "
                            f"'{other.name}'", domain=_FROM)
        return None

    @_delivers_events
    def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        check_flags(flags, 1, "storagePoolDefineXML")        # VIR_STORAGE_POOL_DEFINE_VALIDATE
        pdef = parse_pool(xml)
        check_name("pool", pdef.name)               # its config and state files
        pool = self._check_duplicates(pdef)
        _backend(pdef)                           # a type without a backend is refused here
        self.state.store.save_config(pdef.name, pdef.to_xml())
        if pool is None:
            pool = self.state.add_pool(pdef, persistent=True)
        elif pool.active:
            pool.pending_def, pool.persistent = pdef, True
        else:
            pool.definition, pool.persistent = pdef, True
            self.state.rt(pool).backend = _backend(pdef)
        self._event(pool, VIR_STORAGE_POOL_EVENT_DEFINED)
        return self._ref(pool)

    @_delivers_events
    def storage_pool_undefine(self, ref: StoragePoolRef) -> None:
        pool = self._pool(ref)
        if pool.active:
            raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is still active",
                        domain=_FROM)
        self.state.store.delete_config(pool.name)
        self.state.drop_pool(pool)
        self._event(pool, VIR_STORAGE_POOL_EVENT_UNDEFINED)

    @_delivers_events
    def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        check_flags(flags, 7, "storagePoolCreateXML")
        build_flags = _build_flags(flags)
        pdef = parse_pool(xml)
        check_name("pool", pdef.name)               # its config and state files
        pool = self._check_duplicates(pdef)
        if pool is not None and pool.active:
            raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is already "
                        "active", domain=_FROM)
        if pool is not None:
            # libvirt starts a defined pool with this XML as its live definition
            runtime = self.state.rt(pool)
            saved = (pool.definition, runtime.backend)
            pool.pending_def, pool.definition = pool.definition, pdef
            runtime.backend = _backend(pdef)
            try:
                if build_flags is not None:
                    runtime.backend.build(build_flags)
                self._start(pool)
            except BaseException:
                (pool.definition, runtime.backend), pool.pending_def = saved, None
                raise
            self._event(pool, VIR_STORAGE_POOL_EVENT_STARTED)
            return self._ref(pool)
        pool = self.state.add_pool(pdef, persistent=False)
        try:
            if build_flags is not None:
                self.state.rt(pool).backend.build(build_flags)
            self._start(pool)
        except BaseException:
            self.state.drop_pool(pool)
            raise
        self._event(pool, VIR_STORAGE_POOL_EVENT_STARTED)
        return self._ref(pool)

    # --- pools: lifecycle ------------------------------------------------------------------
    def _start(self, pool: PoolObj) -> None:
        backend = self.state.rt(pool).backend
        backend.start()
        pool.active = True
        try:
            self.state.refresh(pool)
            self.state.store.save_status(pool.name, pool.definition.to_xml())
        except BaseException:
            pool.active = False
            self.state.rt(pool).volumes.clear()
            try:
                backend.stop()
            except libvirtError:
                pass
            raise

    @_delivers_events
    def storage_pool_create(self, ref: StoragePoolRef, flags: int = 0) -> None:
        check_flags(flags, 7, "storagePoolCreate")
        build_flags = _build_flags(flags)
        pool = self._pool(ref)
        if pool.active:
            raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is already "
                        "active", domain=_FROM)
        if build_flags is not None:
            self.state.rt(pool).backend.build(build_flags)
        self._start(pool)
        self._event(pool, VIR_STORAGE_POOL_EVENT_STARTED)

    @_delivers_events
    def storage_pool_build(self, ref: StoragePoolRef, flags: int = 0) -> None:
        pool = self._pool(ref)
        if pool.active:
            raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is already "
                        "active", domain=_FROM)
        self.state.rt(pool).backend.build(flags)
        self._event(pool, VIR_STORAGE_POOL_EVENT_CREATED)

    @_delivers_events
    def storage_pool_destroy(self, ref: StoragePoolRef) -> None:
        pool = self._pool(ref)
        self._require_active(pool)
        runtime = self.state.rt(pool)
        busy = [name for name, count in runtime.in_use.items() if count]
        if busy:
            raise error(VIR_ERR_OPERATION_INVALID, f"pool '{pool.name}' has asynchronous jobs "
                        "running.", domain=_FROM)
        runtime.backend.stop()
        self._event(pool, VIR_STORAGE_POOL_EVENT_STOPPED)
        self.state.set_inactive(pool)

    @_delivers_events
    def storage_pool_delete(self, ref: StoragePoolRef, flags: int = 0) -> None:
        check_flags(flags, VIR_STORAGE_POOL_DELETE_ZEROED, "storagePoolDelete")
        pool = self._pool(ref)
        if pool.active:
            raise error(VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.name}' is still active",
                        domain=_FROM)
        self.state.rt(pool).backend.delete(flags)
        self._event(pool, VIR_STORAGE_POOL_EVENT_DELETED)

    @_delivers_events
    def storage_pool_refresh(self, ref: StoragePoolRef, flags: int = 0) -> None:
        check_flags(flags, 0, "storagePoolRefresh")
        pool = self._pool(ref)
        self._require_active(pool)
        runtime = self.state.rt(pool)
        if any(runtime.in_use.values()):
            raise error(VIR_ERR_INTERNAL_ERROR, f"pool '{pool.name}' has asynchronous jobs "
                        "running.", domain=_FROM)
        try:
            self.state.refresh(pool)
        except libvirtError:
            try:
                runtime.backend.stop()
            except libvirtError:
                pass
            self._event(pool, VIR_STORAGE_POOL_EVENT_STOPPED)
            self.state.set_inactive(pool)
            raise
        self.state.events.queue(VIR_STORAGE_POOL_EVENT_ID_REFRESH, self._ref(pool))

    # --- pools: facts ------------------------------------------------------------------------
    @_locked
    def storage_pool_get_info(self, ref: StoragePoolRef) -> list[int]:
        pool = self._pool(ref)
        sizes = self.state.rt(pool).sizes if pool.active else None
        if sizes is None:
            return [POOL_INACTIVE, 0, 0, 0]
        return [POOL_RUNNING, sizes.capacity, sizes.allocation, sizes.available]

    @_locked
    def storage_pool_get_xml_desc(self, ref: StoragePoolRef, flags: int = 0) -> str:
        check_flags(flags, VIR_STORAGE_XML_INACTIVE, "storagePoolGetXMLDesc")
        pool = self._pool(ref)
        runtime = self.state.rt(pool)
        if flags & VIR_STORAGE_XML_INACTIVE and pool.pending_def is not None:
            return xmlformat.pool_xml(pool.pending_def, None)
        if not pool.active:
            return xmlformat.pool_xml(pool.definition, None)
        return xmlformat.pool_xml(pool.definition, runtime.sizes, runtime.target)

    def storage_pool_get_autostart(self, ref: StoragePoolRef) -> bool:
        return self._pool(ref).autostart

    @_locked
    def storage_pool_set_autostart(self, ref: StoragePoolRef, autostart: int) -> None:
        pool = self._pool(ref)
        if not pool.persistent:
            raise error(VIR_ERR_INTERNAL_ERROR, "pool has no config file", domain=_FROM)
        self.state.store.set_autostart(pool.name, bool(autostart))
        pool.autostart = bool(autostart)

    def storage_pool_is_active(self, ref: StoragePoolRef) -> bool:
        return self._pool(ref).active

    def storage_pool_is_persistent(self, ref: StoragePoolRef) -> bool:
        return self._pool(ref).persistent

    # --- volumes: listing and lookup -------------------------------------------------------
    @_locked
    def storage_pool_num_of_volumes(self, ref: StoragePoolRef) -> int:
        pool = self._pool(ref)
        self._require_active(pool)
        return len(self.state.rt(pool).volumes)

    def storage_pool_list_volumes(self, ref: StoragePoolRef, maxnames: int = -1) -> list[str]:
        names = [v.name for v in self.storage_pool_list_all_volumes(ref, 0)]
        return names if maxnames < 0 else names[:maxnames]

    @_locked
    def storage_pool_list_all_volumes(self, ref: StoragePoolRef,
                                      flags: int = 0) -> list[StorageVolRef]:
        check_flags(flags, 0, "storagePoolListAllVolumes")
        pool = self._pool(ref)
        self._require_active(pool)
        return [self._vref(pool, v) for v in self.state.rt(pool).volumes.values()]

    @_locked
    def storage_vol_lookup_by_name(self, ref: StoragePoolRef, name: str) -> StorageVolRef:
        pool = self._pool(ref)
        self._require_active(pool)
        vol = self.state.rt(pool).volumes.get(name)
        if vol is None:
            raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{name}'",
                        domain=_FROM)
        return self._vref(pool, vol)

    def _find_volume(self, match: Callable[[FoundVolume], bool]) -> StorageVolRef | None:
        for pool in self.state.pools.list():
            if pool.active:
                for vol in self.state.rt(pool).volumes.values():
                    if match(vol):
                        return self._vref(pool, vol)
        return None

    @_locked
    def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        found = self._find_volume(lambda v: v.key == key)
        if found is None:
            raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching key {key}",
                        domain=_FROM)
        return found

    @_locked
    def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        wanted = os.path.normpath(path)
        found = self._find_volume(lambda v: os.path.normpath(v.facts.path) == wanted)
        if found is None:
            real = os.path.realpath(path)
            found = self._find_volume(lambda v: os.path.realpath(v.facts.path) == real)
        if found is None:
            raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching path '{path}'",
                        domain=_FROM)
        return found

    @staticmethod
    def _built_format(pool: PoolObj, vdef: StorageVolDef) -> str:
        """The format a new volume is made in (an LV is a raw block device)."""
        if (pool.definition.type or "dir") == "logical":
            return "raw"
        return vdef.target_format or "raw"

    def set_clone_progress(self, callback: Callable[[str, str, int, int], Any] | None) -> None:
        """pyvirt's own hook (libvirt has no clone progress): ``callback(pool, volume,
        done_bytes, total_bytes)`` while ``createXMLFrom`` copies, from the copying
        thread, in chunks of at most 64 MiB or each qemu-img percent."""
        self.state.clone_progress = callback

    def _clone_progress(self, pool: PoolObj, name: str) -> Callable[[int, int], Any] | None:
        callback = self.state.clone_progress
        if callback is None:
            return None
        return lambda done, total: callback(pool.name, name, done, total)

    # --- volumes: create and delete ----------------------------------------------------------
    def _parse_volume(self, pool: PoolObj, xml: str, need_capacity: bool) -> StorageVolDef:
        pool_type = pool.definition.type or "dir"
        vdef = StorageVolDef.from_xml(xml, pool_type=pool_type, need_capacity=need_capacity)
        check_name("volume", vdef.name,             # a file (or LV) in the pool
                   target_dir=pool.definition.target_path)
        given_backing_format = vdef.backing_format
        vdef.normalize(pool_type)
        if vdef.backing_path and not given_backing_format:
            vdef.backing_format = None       # probed from the file, not assumed raw
        return vdef

    @_locked
    def storage_vol_create_xml(self, ref: StoragePoolRef, xml: str,
                               flags: int = 0) -> StorageVolRef:
        check_flags(flags, VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA |
                    VIR_STORAGE_VOL_CREATE_REFLINK | VIR_STORAGE_VOL_CREATE_VALIDATE,
                    "storageVolCreateXML")
        pool = self._pool(ref)
        self._require_active(pool)
        vdef = self._parse_volume(pool, xml, need_capacity=True)
        runtime = self.state.rt(pool)
        if vdef.name in runtime.volumes:
            raise error(VIR_ERR_STORAGE_VOL_EXIST, f"'{vdef.name}'", domain=_FROM)
        check_encryption(vdef, self._built_format(pool, vdef))
        vol = runtime.backend.create_volume(vdef, flags & VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA)
        runtime.volumes[vol.name] = vol
        self._refresh_sizes(pool)
        return self._vref(pool, vol)

    @_locked
    def storage_vol_create_xml_from(self, ref: StoragePoolRef, xml: str,
                                    clonevol: StorageVolRef, flags: int = 0) -> StorageVolRef:
        check_flags(flags, VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA |
                    VIR_STORAGE_VOL_CREATE_REFLINK | VIR_STORAGE_VOL_CREATE_VALIDATE,
                    "storageVolCreateXMLFrom")
        pool = self._pool(ref)
        self._require_active(pool)
        src_pool, source = self._vol(clonevol)
        vdef = self._parse_volume(pool, xml, need_capacity=False)
        runtime = self.state.rt(pool)
        if vdef.name in runtime.volumes:
            raise error(VIR_ERR_INTERNAL_ERROR, f"storage volume name '{vdef.name}' already "
                        "in use.", domain=_FROM)
        if self.state.rt(src_pool).in_use.get(source.name):
            raise error(VIR_ERR_OPERATION_INVALID, f"volume '{source.name}' is still in use.",
                        domain=_FROM)
        check_encryption(vdef, self._built_format(pool, vdef))
        vol = runtime.backend.clone_volume(vdef, source.facts,
                                           flags & VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA,
                                           self._clone_progress(pool, vdef.name))
        runtime.volumes[vol.name] = vol
        self._refresh_sizes(pool)
        return self._vref(pool, vol)

    @_locked
    def storage_vol_delete(self, ref: StorageVolRef, flags: int = 0) -> None:
        check_flags(flags, VIR_STORAGE_VOL_DELETE_ZEROED | VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS,
                    "storageVolDelete")
        pool, vol = self._vol(ref)
        self._check_idle(pool, vol)
        runtime = self.state.rt(pool)
        runtime.backend.delete_volume(vol, flags)
        runtime.volumes.pop(vol.name, None)
        self._refresh_sizes(pool)

    # --- volumes: facts ----------------------------------------------------------------------
    @_locked
    def storage_vol_get_info(self, ref: StorageVolRef) -> list[int]:
        return self.storage_vol_get_info_flags(ref, 0)

    @_locked
    def storage_vol_get_info_flags(self, ref: StorageVolRef, flags: int = 0) -> list[int]:
        check_flags(flags, VIR_STORAGE_VOL_GET_PHYSICAL, "storageVolGetInfoFlags")
        pool, vol = self._vol(ref)
        vol = self._reprobe(pool, vol)
        facts = vol.facts
        allocation = facts.physical if flags & VIR_STORAGE_VOL_GET_PHYSICAL else facts.allocation
        return [VOL_TYPES.get(facts.vol_type, 0), facts.capacity, allocation]

    @_locked
    def storage_vol_get_xml_desc(self, ref: StorageVolRef, flags: int = 0) -> str:
        check_flags(flags, 0, "storageVolGetXMLDesc")
        pool, vol = self._vol(ref)
        return xmlformat.volume_xml(self._reprobe(pool, vol))

    @_locked
    def storage_vol_get_path(self, ref: StorageVolRef) -> str:
        return self._vol(ref)[1].facts.path

    def resolve_volume(self, pool_name: str, vol_name: str) -> VolumeFacts:
        """For ``<disk type='volume'><source pool= volume=/>``: the volume's facts
        (path, block/file/dir type, format), with libvirt's lookup errors."""
        with self.state.lock:
            pool = self._pool_by_name(pool_name)
            self._require_active(pool)
            vol = self.state.rt(pool).volumes.get(vol_name)
            if vol is None:
                raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name "
                            f"'{vol_name}'", domain=_FROM)
            return vol.facts

    # --- volumes: change ----------------------------------------------------------------------
    @_locked
    def storage_vol_resize(self, ref: StorageVolRef, capacity: int, flags: int = 0) -> None:
        check_flags(flags, VIR_STORAGE_VOL_RESIZE_ALLOCATE | VIR_STORAGE_VOL_RESIZE_DELTA |
                    VIR_STORAGE_VOL_RESIZE_SHRINK, "storageVolResize")
        pool, vol = self._vol(ref)
        vol = self._reprobe(pool, vol)
        facts = vol.facts
        self._check_idle(pool, vol, domains=False)
        if flags & VIR_STORAGE_VOL_RESIZE_DELTA:
            if flags & VIR_STORAGE_VOL_RESIZE_SHRINK:
                target = facts.capacity - min(capacity, facts.capacity)
            else:
                target = facts.capacity + capacity
        else:
            target = capacity
        if target < facts.allocation and facts.vol_type != "block":
            raise error(VIR_ERR_INVALID_ARG, "can't shrink capacity below existing allocation",
                        domain=_FROM)
        if target < facts.capacity:
            if not flags & VIR_STORAGE_VOL_RESIZE_SHRINK:
                raise error(VIR_ERR_INVALID_ARG, "Can't shrink capacity below current capacity "
                            "unless shrink flag explicitly specified", domain=_FROM)
            users = self.state.users_of(facts.path)
            if users:
                raise error(VIR_ERR_OPERATION_INVALID, f"volume '{vol.name}' is in use by "
                            f"running domain '{users[0]}': it cannot shrink", domain=_FROM)
        if flags & VIR_STORAGE_VOL_RESIZE_ALLOCATE:
            sizes = self.state.rt(pool).sizes
            if sizes is not None and target - facts.allocation > sizes.available:
                raise error(VIR_ERR_OPERATION_FAILED, "Not enough space left in storage pool",
                            domain=_FROM)
        self.state.rt(pool).backend.resize_volume(vol, target, flags)
        self._reprobe(pool, vol)

    @_locked
    def storage_vol_wipe(self, ref: StorageVolRef, flags: int = 0) -> None:
        self.storage_vol_wipe_pattern(ref, 0, flags)

    @_locked
    def storage_vol_wipe_pattern(self, ref: StorageVolRef, algorithm: int,
                                 flags: int = 0) -> None:
        check_flags(flags, 0, "storageVolWipePattern")
        if algorithm < 0 or algorithm >= WIPE_ALG_LAST:
            raise error(VIR_ERR_INVALID_ARG, f"wiping algorithm {algorithm} not supported",
                        domain=_FROM)
        pool, vol = self._vol(ref)
        self._check_idle(pool, vol)
        self.state.rt(pool).backend.wipe_volume(vol, algorithm)
        self._reprobe(pool, vol)

    # --- volumes: streams ----------------------------------------------------------------------
    def _hold(self, pool: PoolObj, vol: FoundVolume) -> Callable[[], None]:
        """Mark ``vol`` in use; the answer releases it (once) and re-reads the volume."""
        runtime = self.state.rt(pool)
        runtime.in_use[vol.name] = runtime.in_use.get(vol.name, 0) + 1
        released = []

        def release() -> None:
            with self.state.lock:
                if released:
                    return
                released.append(True)
                runtime.in_use[vol.name] -= 1
                if not runtime.in_use[vol.name]:
                    del runtime.in_use[vol.name]
                if pool.active and vol.name in runtime.volumes:
                    try:
                        self._reprobe(pool, runtime.volumes[vol.name])
                    except libvirtError:
                        pass

        return release

    @_locked
    def storage_vol_upload(self, ref: StorageVolRef, stream: Any, offset: int, length: int,
                           flags: int = 0) -> None:
        check_flags(flags, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM, "storageVolUpload")
        pool, vol = self._vol(ref)
        self._check_idle(pool, vol)
        release = self._hold(pool, vol)
        try:
            upload = self.state.rt(pool).backend.upload(vol, offset, length)
        except BaseException:
            release()
            raise

        def receive(data: bytes) -> None:
            try:
                upload.receive(data)
            except BaseException:
                release()
                raise

        def finish() -> None:
            try:
                upload.finish()
            finally:
                release()

        def hole(length: int) -> None:
            try:
                upload.hole(length)
            except BaseException:
                release()
                raise

        def abort() -> None:
            upload.abort()
            release()

        stream.sparse = bool(flags & VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
        stream.on_data(receive, finish, abort, hole)

    @_locked
    def storage_vol_download(self, ref: StorageVolRef, stream: Any, offset: int, length: int,
                             flags: int = 0) -> None:
        check_flags(flags, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM, "storageVolDownload")
        pool, vol = self._vol(ref)
        release = self._hold(pool, vol)
        sparse = bool(flags & VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
        stream.sparse = sparse
        try:
            self.state.rt(pool).backend.download(vol, offset, length, stream, release, sparse)
        except BaseException:
            release()
            raise

    def connect_find_storage_pool_sources(self, kind: str, spec: str | None = None,
                                          flags: int = 0) -> str:
        """pool-discover: the volume groups of the host for ``logical``."""
        check_flags(flags, 0, "storageConnectFindStoragePoolSources")
        if kind != "logical":
            raise error(VIR_ERR_NO_SUPPORT, f"pool type '{kind}' does not support source "
                        "discovery", domain=_FROM)
        from pyvirt.storage.logical import find_sources
        return find_sources()

    def connect_get_storage_pool_capabilities(self, flags: int = 0) -> str:
        check_flags(flags, 0, "storageConnectGetStoragePoolCapabilities")
        from pyvirt.drivers.storage.capabilities import pool_capabilities_xml
        return pool_capabilities_xml()

    # --- events --------------------------------------------------------------------------------
    def connect_storage_pool_event_register_any(self, event_id: int,
                                                ref: StoragePoolRef | None,
                                                sink: Callable[..., None]) -> int:
        uuid = None if ref is None else self._pool(ref).uuid
        return self.state.events.register(event_id, uuid, sink, self)

    def connect_storage_pool_event_deregister_any(self, callback_id: int) -> None:
        if not self.state.events.deregister(callback_id, self):
            raise error(VIR_ERR_INVALID_ARG, f"could not find event callback {callback_id} "
                        "for deletion", domain=_FROM)


# --- helpers without state ---------------------------------------------------------------
def _backend(pdef: Any) -> Any:
    from pyvirt.storage.backend import backend_for
    return backend_for(pdef)


def _fs_sizes(path: str) -> Any:
    from pyvirt.storage.backend import statvfs_sizes
    return statvfs_sizes(path)


def _build_flags(create_flags: int) -> int | None:
    """Pool-create's WITH_BUILD flags as pool-build flags (None: no build)."""
    overwrite = create_flags & VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE
    no_overwrite = create_flags & VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE
    if overwrite and no_overwrite:
        raise bare_error(VIR_ERR_INVALID_ARG, "Flags 'VIR_STORAGE_POOL_CREATE_WITH_BUILD_"
                         "OVERWRITE' and 'VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE' are "
                         "mutually exclusive")
    if overwrite:
        return VIR_STORAGE_POOL_BUILD_OVERWRITE
    if no_overwrite:
        return VIR_STORAGE_POOL_BUILD_NO_OVERWRITE
    return 0 if create_flags & VIR_STORAGE_POOL_CREATE_WITH_BUILD else None


def _same_source(a: Any, b: Any) -> bool:
    """Do two pool definitions use the same storage (libvirt's source conflict)?"""
    kind = a.type or "dir"
    if kind != (b.type or "dir"):
        return False
    if kind == "dir":
        return bool(a.target_path) and os.path.normpath(a.target_path) == \
            os.path.normpath(b.target_path or "")
    if kind == "fs":
        return bool(a.source_devices) and a.source_devices[:1] == b.source_devices[:1]
    if kind == "netfs":
        return (a.source_hosts[:1], a.source_dir) == (b.source_hosts[:1], b.source_dir)
    if kind == "logical":
        return (a.source_name or a.name) == (b.source_name or b.name)
    return False


__all__ = ["StorageDriver", "POOL_TYPE_FLAGS"]

"""The storage driver's state for one pair of dirs: pools, volumes, events, files.

One :class:`StorageState` exists per (config dir, run dir) in a process;
every connection to those dirs shares it (see ``pyvirt.drivers.storage``).
Loading it reads the saved definitions, takes back pools that are still
started on the host (their status file in the run dir and the backend's
check agree), then starts the autostart pools, as libvirtd does at start.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any, Callable

from pyvirt.conf.storage import StoragePoolDef
from pyvirt.drivers.storage.persist import PoolStore
from pyvirt.errors import libvirtError
from pyvirt.objects.events import EventBroker
from pyvirt.objects.named_list import NamedObjList
from pyvirt.objects.storage_obj import PoolObj
from pyvirt.storage.backend import FoundVolume, PoolBackend, PoolSizes, backend_for
from pyvirt.storage.volfile import FileFacts

log = logging.getLogger(__name__)

#: Called with a volume's path; answers the names of running domains using it.
VolumeUsers = Callable[[str], list[str]]


@dataclass
class PoolRuntime:
    """What the driver keeps beside a PoolObj: its backend, sizes and volumes."""

    backend: PoolBackend
    sizes: PoolSizes | None = None
    target: FileFacts | None = None
    volumes: dict[str, FoundVolume] = field(default_factory=dict)
    in_use: dict[str, int] = field(default_factory=dict)


def parse_pool(xml: str) -> StoragePoolDef:
    pdef = StoragePoolDef.from_xml(xml)
    pdef.normalize()
    return pdef


class StorageState:
    """Pools of one driver instance, their runtime, files and event subscribers."""

    def __init__(self, store: PoolStore) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.pools: NamedObjList[PoolObj] = NamedObjList()
        self.runtime: dict[bytes, PoolRuntime] = {}
        self.events = EventBroker()
        self.volume_users: VolumeUsers | None = None
        #: pyvirt's clone progress hook: (pool, volume, done_bytes, total_bytes)
        self.clone_progress: Callable[[str, str, int, int], Any] | None = None
        self.connections = 0

    # --- objects ------------------------------------------------------------------------
    def add_pool(self, pdef: StoragePoolDef, *, persistent: bool) -> PoolObj:
        pool = PoolObj(name=pdef.name, uuid=uuidlib.UUID(pdef.uuid).bytes, definition=pdef,
                       persistent=persistent)
        self.pools.add(pool)
        self.runtime[pool.uuid] = PoolRuntime(backend_for(pdef))
        return pool

    def drop_pool(self, pool: PoolObj) -> None:
        self.pools.remove(pool)
        self.runtime.pop(pool.uuid, None)

    def rt(self, pool: PoolObj) -> PoolRuntime:
        return self.runtime[pool.uuid]

    def set_inactive(self, pool: PoolObj) -> None:
        """Mark stopped: forget volumes, take the pending definition, drop a transient."""
        pool.active = False
        runtime = self.rt(pool)
        runtime.volumes.clear()
        runtime.sizes = runtime.target = None
        self.store.delete_status(pool.name)
        if pool.pending_def is not None:
            pool.definition, pool.pending_def = pool.pending_def, None
            runtime.backend = backend_for(pool.definition)
        if not pool.persistent:
            self.drop_pool(pool)

    def refresh(self, pool: PoolObj) -> None:
        """Rescan a started pool (volumes, sizes, the target's permissions)."""
        runtime = self.rt(pool)
        scan = runtime.backend.refresh()
        runtime.sizes = scan.sizes
        runtime.volumes = {v.name: v for v in scan.volumes}
        runtime.target = None
        if pool.definition.type in ("dir", "fs", "netfs"):
            try:
                runtime.target = FileFacts.of(os.stat(runtime.backend.target_path))
            except OSError:
                runtime.target = None

    def users_of(self, path: str) -> list[str]:
        return list(self.volume_users(path)) if self.volume_users is not None else []

    # --- loading --------------------------------------------------------------------------
    def load(self) -> None:
        """Read definitions and live state from disk, then autostart."""
        self.store.create()
        for name, xml in self.store.configs():
            try:
                pdef = parse_pool(xml)
                if pdef.name != name:
                    raise libvirtError(f"it defines pool '{pdef.name}'")
                pool = self.add_pool(pdef, persistent=True)
            except libvirtError as err:
                log.warning("ignoring pool config %s: %s", name, err)
                continue
            pool.autostart = self.store.autostart(name)
        for name, xml in self.store.statuses():
            self._take_back(name, xml)
        for pool in self.pools.list():
            if pool.autostart and not pool.active:
                self._autostart(pool)

    def _take_back(self, name: str, xml: str) -> None:
        try:
            live = parse_pool(xml)
        except libvirtError as err:
            log.warning("ignoring pool status %s: %s", name, err)
            self.store.delete_status(name)
            return
        pool = self.pools.find_by_name(name)
        if pool is None:
            try:
                pool = self.add_pool(live, persistent=False)
            except libvirtError as err:
                log.warning("ignoring pool status %s: %s", name, err)
                self.store.delete_status(name)
                return
        elif pool.definition.uuid != live.uuid:
            self.store.delete_status(name)
            return
        else:
            if pool.definition.to_xml() != live.to_xml():
                pool.pending_def = pool.definition
            pool.definition = live
            self.rt(pool).backend = backend_for(live)
        try:
            if not self.rt(pool).backend.check_started():
                raise libvirtError("no longer started on the host")
            pool.active = True
            self.refresh(pool)
        except libvirtError as err:
            log.warning("pool %s is no longer started: %s", name, err)
            self.set_inactive(pool)

    def _autostart(self, pool: PoolObj) -> None:
        backend = self.rt(pool).backend
        try:
            backend.start()
            pool.active = True
            self.refresh(pool)
            self.store.save_status(pool.name, pool.definition.to_xml())
        except libvirtError as err:
            log.warning("cannot autostart pool %s: %s", pool.name, err)
            try:
                backend.stop()
            except libvirtError:
                pass
            pool.active = False
            self.rt(pool).volumes.clear()

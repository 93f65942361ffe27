"""Networks or storage pools of one driver: lookups and the ListAll filters they share.

Both kinds are "named objects with a definition that can be active, persistent
and autostarted"; the ListAllNetworks and ListAllStoragePools flags give bits
0-5 the same meaning.
"""

from __future__ import annotations

import threading
from typing import Generic, Iterator, TypeVar

from pyvirt.objects import numbers as n
from pyvirt.objects.network_obj import NetworkObj
from pyvirt.objects.storage_obj import PoolObj

T = TypeVar("T", NetworkObj, PoolObj)


def named_matches(obj: NetworkObj | PoolObj, flags: int) -> bool:
    """virConnectListAllNetworks / ListAllStoragePools filters (bits 0-5)."""
    pairs = ((n.LIST_ACTIVE, n.LIST_INACTIVE, obj.active),
             (n.LIST_PERSISTENT, n.LIST_TRANSIENT, obj.persistent),
             (n.LIST_AUTOSTART, n.LIST_NO_AUTOSTART, obj.autostart))
    for yes, no, value in pairs:
        if bool(flags & yes) != bool(flags & no) and value != bool(flags & yes):
            return False
    return True


class NamedObjList(Generic[T]):
    """Networks or pools by uuid, found by name or uuid, listed with filters."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._by_uuid: dict[bytes, T] = {}

    def __len__(self) -> int:
        return len(self._by_uuid)

    def __iter__(self) -> Iterator[T]:
        with self.lock:
            return iter(list(self._by_uuid.values()))

    def find_by_uuid(self, uuid: bytes) -> T | None:
        with self.lock:
            return self._by_uuid.get(uuid)

    def find_by_name(self, name: str) -> T | None:
        with self.lock:
            return next((o for o in self._by_uuid.values() if o.name == name), None)

    def add(self, obj: T) -> T:
        with self.lock:
            self._by_uuid[obj.uuid] = obj
            return obj

    def remove(self, obj: T) -> None:
        with self.lock:
            self._by_uuid.pop(obj.uuid, None)

    def list(self, flags: int = 0) -> list[T]:
        with self.lock:
            found = [o for o in self._by_uuid.values() if named_matches(o, flags)]
        return sorted(found, key=lambda o: o.name)

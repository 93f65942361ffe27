"""All domains of one driver: lookups, ids, and virConnectListAllDomains filters."""

from __future__ import annotations

import operator
import threading
from typing import Callable, Iterator

from pyvirt.objects import numbers as n
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.numbers import DomainState


def _either(flags: int, yes: int, no: int, value: bool) -> bool:
    """True unless exactly one of a yes/no filter pair is set and ``value`` disagrees."""
    want_yes, want_no = bool(flags & yes), bool(flags & no)
    if want_yes == want_no:
        return True
    return value if want_yes else not value


def domain_matches(dom: DomainObj, flags: int) -> bool:
    """Whether ``dom`` passes virConnectListAllDomains' ``flags`` (libvirt's rules:
    within a group the bits are OR-ed, so ACTIVE|INACTIVE means all)."""
    if not flags:
        return True
    if not _either(flags, n.LIST_DOMAINS_ACTIVE, n.LIST_DOMAINS_INACTIVE, dom.active):
        return False
    if not _either(flags, n.LIST_DOMAINS_PERSISTENT, n.LIST_DOMAINS_TRANSIENT, dom.persistent):
        return False
    state_bits = flags & (n.LIST_DOMAINS_RUNNING | n.LIST_DOMAINS_PAUSED
                          | n.LIST_DOMAINS_SHUTOFF | n.LIST_DOMAINS_OTHER)
    if state_bits:
        if dom.state == DomainState.RUNNING:
            bit = n.LIST_DOMAINS_RUNNING
        elif dom.state == DomainState.PAUSED:
            bit = n.LIST_DOMAINS_PAUSED
        elif dom.state == DomainState.SHUTOFF:
            bit = n.LIST_DOMAINS_SHUTOFF
        else:
            bit = n.LIST_DOMAINS_OTHER
        if not state_bits & bit:
            return False
    if not _either(flags, n.LIST_DOMAINS_MANAGEDSAVE, n.LIST_DOMAINS_NO_MANAGEDSAVE,
                   dom.managed_save is not None):
        return False
    if not _either(flags, n.LIST_DOMAINS_AUTOSTART, n.LIST_DOMAINS_NO_AUTOSTART, dom.autostart):
        return False
    if not _either(flags, n.LIST_DOMAINS_HAS_SNAPSHOT, n.LIST_DOMAINS_NO_SNAPSHOT,
                   len(dom.snapshots) > 0):
        return False
    # no domain object keeps checkpoints (yet): none has one
    return _either(flags, n.LIST_DOMAINS_HAS_CHECKPOINT, n.LIST_DOMAINS_NO_CHECKPOINT, False)


class DomainObjList:
    """Domains by uuid, with a name index and the next id to hand out.

    ``lock`` guards the list; callers that read-modify-write a domain hold it
    (``with domains.lock:``) for the whole operation. A listed domain's name
    changes only through :meth:`rename` (the index follows it).
    """

    def __init__(self, first_id: int = 1) -> None:
        self.lock = threading.RLock()
        self._by_uuid: dict[bytes, DomainObj] = {}
        self._by_name: dict[str, DomainObj] = {}
        self._next_id = first_id

    def __len__(self) -> int:
        return len(self._by_uuid)

    def __iter__(self) -> Iterator[DomainObj]:
        with self.lock:
            return iter(list(self._by_uuid.values()))

    def next_id(self) -> int:
        with self.lock:
            value = self._next_id
            self._next_id += 1
            return value

    def find_by_uuid(self, uuid: bytes) -> DomainObj | None:
        with self.lock:
            return self._by_uuid.get(uuid)

    def find_by_name(self, name: str) -> DomainObj | None:
        with self.lock:
            return self._by_name.get(name)

    def find_by_id(self, dom_id: int) -> DomainObj | None:
        with self.lock:
            if dom_id < 0:
                return None
            return next((d for d in self._by_uuid.values()
                         if d.active and d.id == dom_id), None)

    def add(self, dom: DomainObj) -> DomainObj:
        with self.lock:
            replaced = self._by_uuid.get(dom.uuid)
            if replaced is not None:
                self.remove(replaced)
            self._by_uuid[dom.uuid] = dom
            self._by_name[dom.name] = dom
            return dom

    def remove(self, dom: DomainObj) -> None:
        with self.lock:
            if self._by_uuid.get(dom.uuid) is dom:
                del self._by_uuid[dom.uuid]
            if self._by_name.get(dom.name) is dom:
                del self._by_name[dom.name]

    def rename(self, dom: DomainObj, new_name: str) -> None:
        """Give a listed domain a new name (callers check that it is free)."""
        with self.lock:
            if self._by_name.get(dom.name) is dom:
                del self._by_name[dom.name]
            dom.name = new_name
            if self._by_uuid.get(dom.uuid) is dom:
                self._by_name[new_name] = dom

    def list(self, flags: int = 0,
             keep: Callable[[DomainObj], bool] | None = None) -> list[DomainObj]:
        """Domains passing the ListAllDomains ``flags`` (and ``keep``), running ones
        first by id, then the others by name (libvirt's listing order)."""
        with self.lock:
            found = list(self._by_uuid.values())
        if flags or keep is not None:
            found = [d for d in found
                     if domain_matches(d, flags) and (keep is None or keep(d))]
        running, others = [], []
        for dom in found:
            (running if dom.active else others).append(dom)
        running.sort(key=_BY_ID)
        others.sort(key=_BY_NAME)     # names are unique: the order is total
        return running + others


_BY_ID = operator.attrgetter("id")
_BY_NAME = operator.attrgetter("name")

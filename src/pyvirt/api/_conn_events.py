"""virConnect's event registration: domains, networks, storage pools.

A mixin of :class:`pyvirt.api.connect.virConnect`. Registration hands the
driver a sink that queues ``cb(conn, handle, *payload, opaque)`` on the
connection's :class:`~pyvirt.api.event.EventDispatchQueue`; the event loop runs it.
"""

from __future__ import annotations

from typing import Any, Callable

from pyvirt.api._checks import check_event_id, implements
from pyvirt.api._lasterror import recorded
from pyvirt.api.domain import virDomain
from pyvirt.api.event import EventDispatchQueue
from pyvirt.api.network import virNetwork
from pyvirt.api.storage import virStoragePool
from pyvirt.constants import VIR_DOMAIN_EVENT_ID_LIFECYCLE
from pyvirt.errors import (VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, VIR_FROM_NETWORK,
                           VIR_FROM_STORAGE, error, libvirtError)

#: One past the highest event id of each family in libvirt 9.0 (``*_EVENT_ID_LAST``).
DOMAIN_EVENT_ID_LAST = 27
NETWORK_EVENT_ID_LAST = 1
STORAGE_POOL_EVENT_ID_LAST = 2


@recorded
class ConnectEvents:
    """Event callback registration; callbacks run in the event loop."""

    _drv: Any
    _event_queue: EventDispatchQueue | None
    _callbacks: dict[tuple[str, int], str]
    _legacy_lifecycle: dict[Any, int]

    # --- events --------------------------------------------------------------
    def _drop_callbacks(self) -> None:
        """On close: deregister what this connection registered, stop its queue."""
        for (family, callback_id), entry in list(self._callbacks.items()):
            table = getattr(self._drv, family, None)
            if implements(table, entry):
                try:
                    getattr(table, entry)(callback_id)
                except libvirtError:
                    pass
        self._callbacks.clear()
        if self._event_queue is not None:
            self._event_queue.close()
            self._event_queue = None

    def _register(self, family: str, entry: str, func: str, domain: int,
                  dereg_entry: str, args: tuple[Any, ...]) -> int:
        callback_id = self._entry(family, entry, func, domain)(*args)
        self._callbacks[(family, callback_id)] = dereg_entry
        return callback_id

    def _deregister(self, family: str, entry: str, func: str, domain: int,
                    callback_id: int) -> None:
        self._entry(family, entry, func, domain)(callback_id)
        self._callbacks.pop((family, callback_id), None)

    def _events(self) -> EventDispatchQueue:
        with self._event_lock:
            if self._event_queue is None:
                self._event_queue = EventDispatchQueue()
            return self._event_queue

    def _sink(self, wrap: Callable[[Any], Any], cb: Callable[..., Any],
              opaque: Any) -> Callable[..., None]:
        """A driver sink that queues ``cb(conn, handle, *payload, opaque)``."""
        queue = self._events()

        def sink(_event_id: int, ref: Any, *payload: Any) -> None:
            queue.push(lambda: cb(self, wrap(ref), *payload, opaque))

        return sink

    def domainEventRegisterAny(self, dom: virDomain | None, eventID: int,  # noqa: N802,N803
                               cb: Callable[..., Any], opaque: Any) -> int:
        """Register ``cb`` for ``eventID``; it gets libvirt-python's arguments."""
        self._hv("connect_domain_event_register_any", "virConnectDomainEventRegisterAny")
        check_event_id(eventID, DOMAIN_EVENT_ID_LAST, "virConnectDomainEventRegisterAny",
                       VIR_FROM_DOMAIN)
        sink = self._sink(lambda ref: virDomain(self, ref), cb, opaque)
        return self._register("hypervisor", "connect_domain_event_register_any",
                              "virConnectDomainEventRegisterAny", VIR_FROM_DOMAIN,
                              "connect_domain_event_deregister_any",
                              (eventID, dom._ref if dom is not None else None, sink))

    def domainEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802,N803
        self._deregister("hypervisor", "connect_domain_event_deregister_any",
                         "virConnectDomainEventDeregisterAny", VIR_FROM_DOMAIN, callbackID)

    def domainEventRegister(self, cb: Callable[..., Any], opaque: Any) -> None:  # noqa: N802
        """The old lifecycle-only registration: ``cb(conn, dom, event, detail, opaque)``."""
        self._legacy_lifecycle[cb] = self.domainEventRegisterAny(
            None, VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, opaque)

    def domainEventDeregister(self, cb: Callable[..., Any]) -> None:  # noqa: N802
        callback_id = self._legacy_lifecycle.pop(cb, None)
        if callback_id is None:
            raise error(VIR_ERR_INVALID_ARG, "callback not registered", domain=VIR_FROM_DOMAIN)
        self.domainEventDeregisterAny(callback_id)

    def networkEventRegisterAny(self, net: virNetwork | None, eventID: int,  # noqa: N802,N803
                                cb: Callable[..., Any], opaque: Any) -> int:
        self._net("connect_network_event_register_any", "virConnectNetworkEventRegisterAny")
        check_event_id(eventID, NETWORK_EVENT_ID_LAST, "virConnectNetworkEventRegisterAny",
                       VIR_FROM_NETWORK)
        sink = self._sink(lambda ref: virNetwork(self, ref), cb, opaque)
        return self._register("network", "connect_network_event_register_any",
                              "virConnectNetworkEventRegisterAny", VIR_FROM_NETWORK,
                              "connect_network_event_deregister_any",
                              (eventID, net._ref if net is not None else None, sink))

    def networkEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802,N803
        self._deregister("network", "connect_network_event_deregister_any",
                         "virConnectNetworkEventDeregisterAny", VIR_FROM_NETWORK, callbackID)

    def storagePoolEventRegisterAny(self, pool: virStoragePool | None,  # noqa: N802
                                    eventID: int, cb: Callable[..., Any],  # noqa: N803
                                    opaque: Any) -> int:
        self._pool("connect_storage_pool_event_register_any",
                   "virConnectStoragePoolEventRegisterAny")
        check_event_id(eventID, STORAGE_POOL_EVENT_ID_LAST,
                       "virConnectStoragePoolEventRegisterAny", VIR_FROM_STORAGE)
        sink = self._sink(lambda ref: virStoragePool(self, ref), cb, opaque)
        return self._register("storage", "connect_storage_pool_event_register_any",
                              "virConnectStoragePoolEventRegisterAny", VIR_FROM_STORAGE,
                              "connect_storage_pool_event_deregister_any",
                              (eventID, pool._ref if pool is not None else None, sink))

    def storagePoolEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802,N803
        self._deregister("storage", "connect_storage_pool_event_deregister_any",
                         "virConnectStoragePoolEventDeregisterAny", VIR_FROM_STORAGE,
                         callbackID)


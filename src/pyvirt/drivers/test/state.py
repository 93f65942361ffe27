"""One test driver's in-memory world: node, domains, networks, pools, events.

``test:///default`` shares one :class:`TestState` between every connection of
the process and drops it when the last connection closes (as libvirt does);
each ``test:///path.xml`` connection gets its own state read from the file.
"""

from __future__ import annotations

import itertools
import threading
from typing import Callable

from pyvirt.drivers.test import defaults, domxml, netpoolxml
from pyvirt.objects.domain_list import DomainObjList
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.events import EventBroker
from pyvirt.objects.named_list import NamedObjList
from pyvirt.objects.network_obj import NetworkObj
from pyvirt.objects.storage_obj import PoolObj, VolumeObj
from pyvirt.objects.numbers import DomainState, PausedReason, RunningReason


class TestState:
    """Everything one test-driver "host" holds."""

    def __init__(self, node: defaults.NodeSpec = defaults.DEFAULT_NODE) -> None:
        self.node = node
        self.domains = DomainObjList(first_id=1)
        self.networks: NamedObjList[NetworkObj] = NamedObjList()
        self.pools: NamedObjList[PoolObj] = NamedObjList()
        callback_ids = itertools.count()      # one numbering for every family
        self.domain_events = EventBroker(callback_ids)
        self.network_events = EventBroker(callback_ids)
        self.pool_events = EventBroker(callback_ids)

    # --- filling ------------------------------------------------------------------
    def add_domain(self, xml: str, runstate: DomainState = DomainState.RUNNING,
                   transient: bool = False, managed_save: bool = False) -> DomainObj:
        ddef = domxml.normalize(domxml.parse_domain(xml))
        dom = DomainObj(name=domxml.name_of(ddef), uuid=domxml.uuid_of(ddef),
                        persistent_def=None if transient else ddef)
        if runstate != DomainState.SHUTOFF:
            dom.mark_started(self.domains.next_id(), domxml.copy_def(ddef))
            reason = {DomainState.PAUSED: PausedReason.UNKNOWN}.get(runstate,
                                                                    RunningReason.UNKNOWN)
            dom.set_state(runstate, reason)
        elif managed_save:
            dom.managed_save = domxml.format_domain(ddef)
        return self.domains.add(dom)

    def add_network(self, xml: str, active: bool = True) -> NetworkObj:
        ndef = netpoolxml.normalize_network(netpoolxml.parse_network(xml))
        return self.networks.add(NetworkObj(name=netpoolxml.name_of(ndef),
                                            uuid=netpoolxml.uuid_of(ndef),
                                            definition=ndef, active=active))

    def add_pool(self, xml: str, volumes: list[str] = (), active: bool = True) -> PoolObj:
        pdef = netpoolxml.parse_pool(xml)
        pool = PoolObj(name=netpoolxml.name_of(pdef), uuid=netpoolxml.uuid_of(pdef),
                       definition=pdef, active=active,
                       capacity=defaults.DEFAULT_POOL_CAPACITY,
                       available=defaults.DEFAULT_POOL_CAPACITY)
        for vol_xml in volumes:
            self.add_volume(pool, vol_xml)
        return self.pools.add(pool)

    def add_volume(self, pool: PoolObj, xml: str) -> VolumeObj:
        vdef = netpoolxml.parse_volume(xml, pool.definition)
        capacity, allocation = netpoolxml.volume_sizes(vdef)
        path = netpoolxml.volume_path(vdef)
        vol = VolumeObj(name=netpoolxml.name_of(vdef), key=path, path=path, definition=vdef,
                        capacity=capacity, allocation=allocation)
        pool.volumes[vol.name] = vol
        pool.allocation += allocation
        pool.available = max(pool.capacity - pool.allocation, 0)
        return vol

    def flush_events(self) -> None:
        for broker in (self.domain_events, self.network_events, self.pool_events):
            broker.flush()


def default_state() -> TestState:
    """A fresh copy of libvirt's ``test:///default`` host."""
    state = TestState(defaults.DEFAULT_NODE)
    state.add_domain(defaults.DEFAULT_DOMAIN_XML)
    state.add_network(defaults.DEFAULT_NETWORK_XML)
    state.add_pool(defaults.DEFAULT_POOL_XML)
    return state


def state_from_node_file(path: str) -> TestState:
    from pyvirt.drivers.test.nodefile import load_node_file  # only test:///PATH.xml
    spec = load_node_file(path)
    state = TestState(spec.node)
    for dom in spec.domains:
        state.add_domain(dom.xml, dom.runstate, dom.transient, dom.has_managed_save)
    for net in spec.networks:
        state.add_network(net)
    for pool in spec.pools:
        state.add_pool(pool.xml, pool.volumes)
    return state


class SharedDefault:
    """The process-wide ``test:///default`` state with a count of its connections."""

    def __init__(self, factory: Callable[[], TestState] = default_state) -> None:
        self._factory = factory
        # re-entrant: building the state allocates, a garbage collection may then run
        # a dropped connection's finalizer, which releases its state on this thread
        self._lock = threading.RLock()
        self._state: TestState | None = None
        self._users = 0

    def acquire(self) -> TestState:
        with self._lock:
            if self._state is None:
                self._state = self._factory()
            self._users += 1
            return self._state

    def reset_for_tests(self) -> None:
        """Test-only: forget the shared state, so the next open starts from libvirt's
        defaults. Connections still open keep their (now private) state; their
        close no longer counts here."""
        with self._lock:
            self._state, self._users = None, 0

    def release(self, state: TestState) -> None:
        with self._lock:
            if state is not self._state:
                return
            self._users -= 1
            if self._users <= 0:
                self._state, self._users = None, 0


SHARED_DEFAULT = SharedDefault()

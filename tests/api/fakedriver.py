"""A small in-memory driver for the API tests: ``fake:///<anything>``.

It implements a few entry points of each table, enough to check that the API
layer dispatches, checks arguments, enforces read-only and delivers events.
Entry points it leaves out must surface as libvirt's VIR_ERR_NO_SUPPORT.
Each open gets fresh state; ``FakeDriver.last`` is the last opened bundle.
"""

from __future__ import annotations

import threading
import uuid as uuidlib
from typing import Any

from pyvirt.constants import (VIR_CONNECT_LIST_DOMAINS_ACTIVE, VIR_CONNECT_LIST_DOMAINS_INACTIVE,
                              VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_ID_REBOOT,
                              VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED,
                              VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
                              VIR_DOMAIN_RUNNING, VIR_DOMAIN_SHUTOFF)
from pyvirt.drivers.base import (DomainRef, DriverConnection, HypervisorConnection,
                                 NetworkConnection, NetworkRef, SnapshotRef, StorageConnection,
                                 StoragePoolRef, StorageVolRef, register_driver)
from pyvirt.errors import (VIR_ERR_INVALID_ARG, VIR_ERR_NO_DOMAIN, VIR_ERR_NO_NETWORK,
                           VIR_ERR_NO_STORAGE_POOL, VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST,
                           error)

FIXED_UUID = uuidlib.UUID("6695eb01-f6a4-8304-79aa-97f2502e193f").bytes


class FakeState:
    def __init__(self) -> None:
        self.domains: dict[str, dict[str, Any]] = {
            "test": {"uuid": FIXED_UUID, "id": 1, "state": VIR_DOMAIN_RUNNING,
                     "memory": 8388608, "snapshots": []}}
        self.next_id = 2
        self.subs: dict[int, tuple[int, bytes | None, Any]] = {}
        self.next_cb = 0
        self.calls: list[tuple[Any, ...]] = []
        self.volume_data = b"0123456789" * 100
        self.uploaded = b""


class FakeHypervisor(HypervisorConnection):
    def __init__(self, state: FakeState) -> None:
        self.s = state

    def _ref(self, name: str) -> DomainRef:
        d = self.s.domains[name]
        return DomainRef(name, d["uuid"], d["id"])

    def _find(self, ref: DomainRef) -> dict[str, Any]:
        for d in self.s.domains.values():
            if d["uuid"] == ref.uuid:
                return d
        raise error(VIR_ERR_NO_DOMAIN, f"no domain with matching uuid '{ref.uuid.hex()}'",
                    domain=VIR_FROM_TEST)

    def _emit(self, event_id: int, ref: DomainRef, *payload: Any) -> None:
        for sub_event, uuid, sink in list(self.s.subs.values()):
            if sub_event == event_id and uuid in (None, ref.uuid):
                sink(event_id, ref, *payload)

    def connect_get_type(self) -> str:
        return "FAKE"

    def connect_get_version(self) -> int:
        return 2

    def connect_get_hostname(self) -> str:
        return "fakehost"

    def node_get_info(self) -> list[Any]:
        return ["i686", 3145728, 16, 1400, 2, 2, 2, 2]

    def domain_lookup_by_name(self, name: str) -> DomainRef:
        if name not in self.s.domains:
            raise error(VIR_ERR_NO_DOMAIN, f"no domain with matching name '{name}'",
                        domain=VIR_FROM_TEST)
        return self._ref(name)

    def domain_lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        for name, d in self.s.domains.items():
            if d["uuid"] == uuid:
                return self._ref(name)
        raise error(VIR_ERR_NO_DOMAIN, domain=VIR_FROM_TEST)

    def connect_list_all_domains(self, flags: int) -> list[DomainRef]:
        refs = [self._ref(n) for n in self.s.domains]
        if flags & VIR_CONNECT_LIST_DOMAINS_ACTIVE:
            refs = [r for r in refs if r.id > 0]
        if flags & VIR_CONNECT_LIST_DOMAINS_INACTIVE:
            refs = [r for r in refs if r.id < 0]
        return refs

    def domain_define_xml_flags(self, xml: str, flags: int) -> DomainRef:
        self.s.calls.append(("define", xml, flags))
        name = xml.split("<name>")[1].split("</name>")[0]
        self.s.domains[name] = {"uuid": uuidlib.uuid4().bytes, "id": -1,
                                "state": VIR_DOMAIN_SHUTOFF, "memory": 1024,
                                "snapshots": []}
        return self._ref(name)

    def domain_create_with_flags(self, dom: DomainRef, flags: int) -> DomainRef:
        d = self._find(dom)
        if d["id"] > 0:
            raise error(VIR_ERR_OPERATION_INVALID, "domain is already running",
                        domain=VIR_FROM_TEST)
        d["id"], d["state"] = self.s.next_id, VIR_DOMAIN_RUNNING
        self.s.next_id += 1
        ref = self._ref(dom.name)
        self._emit(VIR_DOMAIN_EVENT_ID_LIFECYCLE, ref, VIR_DOMAIN_EVENT_STARTED,
                   VIR_DOMAIN_EVENT_STARTED_BOOTED)
        return ref

    def domain_destroy_flags(self, dom: DomainRef, flags: int) -> None:
        d = self._find(dom)
        d["id"], d["state"] = -1, VIR_DOMAIN_SHUTOFF
        self._emit(VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._ref(dom.name),
                   VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED)

    def domain_reboot(self, dom: DomainRef, flags: int) -> None:
        self._emit(VIR_DOMAIN_EVENT_ID_REBOOT, dom)

    def domain_get_info(self, dom: DomainRef) -> list[int]:
        d = self._find(dom)
        return [d["state"], 8388608, d["memory"], 2, 0]

    def domain_get_state(self, dom: DomainRef, flags: int) -> list[int]:
        return [self._find(dom)["state"], 1]

    def domain_is_active(self, dom: DomainRef) -> bool:
        return self._find(dom)["id"] > 0

    def domain_set_memory_flags(self, dom: DomainRef, kib: int, flags: int) -> None:
        self.s.calls.append(("set_memory", kib, flags))
        self._find(dom)["memory"] = kib

    def domain_get_xml_desc(self, dom: DomainRef, flags: int) -> str:
        return f"<domain><name>{dom.name}</name></domain>"

    def domain_block_stats(self, dom: DomainRef, path: str) -> list[int]:
        if path != "vda":
            raise error(VIR_ERR_INVALID_ARG, f"invalid path: {path}", domain=VIR_FROM_TEST)
        return [1, 2, 3, 4, 5]

    def domain_memory_stats(self, dom: DomainRef, flags: int) -> dict[str, int]:
        return {"actual": 2097152}

    def domain_get_cpu_stats(self, dom: DomainRef, start: int, ncpus: int,
                             flags: int) -> list[dict[str, int]]:
        self.s.calls.append(("cpu_stats", start, ncpus, flags))
        if start == -1:
            return [{"cpu_time": 10}]
        return [{"cpu_time": i} for i in range(ncpus)]

    def domain_snapshot_create_xml(self, dom: DomainRef, xml: str, flags: int) -> SnapshotRef:
        name = xml.split("<name>")[1].split("</name>")[0]
        self._find(dom)["snapshots"].append(name)
        return SnapshotRef(dom, name)

    def domain_list_all_snapshots(self, dom: DomainRef, flags: int) -> list[SnapshotRef]:
        return [SnapshotRef(dom, n) for n in self._find(dom)["snapshots"]]

    def domain_snapshot_list_all_children(self, snap: SnapshotRef,
                                          flags: int) -> list[SnapshotRef]:
        return []

    def connect_get_all_domain_stats(self, doms: list[DomainRef] | None, stats: int,
                                     flags: int) -> list[tuple[DomainRef, dict[str, Any]]]:
        refs = doms if doms is not None else self.connect_list_all_domains(0)
        return [(r, {"state.state": self._find(r)["state"]}) for r in refs]

    def connect_domain_event_register_any(self, event_id: int, dom: DomainRef | None,
                                          sink: Any) -> int:
        cb = self.s.next_cb
        self.s.next_cb += 1
        self.s.subs[cb] = (event_id, dom.uuid if dom is not None else None, sink)
        return cb

    def connect_domain_event_deregister_any(self, callback_id: int) -> None:
        if self.s.subs.pop(callback_id, None) is None:
            raise error(VIR_ERR_INVALID_ARG,
                        f"could not find event callback {callback_id} for deletion")

    def domain_open_console(self, dom: DomainRef, dev_name: str | None, stream: Any,
                            flags: int) -> None:
        """A console that greets, then echoes what the application sends."""
        stream.write(b"login: ")
        stream.on_data(stream.write, finish=stream.finish)

    def emit_from_thread(self, name: str) -> threading.Thread:
        """Test hook: emit a reboot event for ``name`` from another thread."""
        thread = threading.Thread(
            target=self._emit, args=(VIR_DOMAIN_EVENT_ID_REBOOT, self._ref(name)))
        thread.start()
        return thread


class FakeNetwork(NetworkConnection):
    NET = NetworkRef("default", uuidlib.UUID(int=1).bytes)

    def network_lookup_by_name(self, name: str) -> NetworkRef:
        if name != "default":
            raise error(VIR_ERR_NO_NETWORK, f"no network with matching name '{name}'",
                        domain=VIR_FROM_TEST)
        return self.NET

    def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        return self.NET

    def connect_list_all_networks(self, flags: int) -> list[NetworkRef]:
        return [self.NET]

    def network_is_active(self, net: NetworkRef) -> bool:
        return True

    def network_get_bridge_name(self, net: NetworkRef) -> str:
        return "virbr0"

    def network_destroy(self, net: NetworkRef) -> None:
        pass

    def network_get_dhcp_leases(self, net: NetworkRef, mac: str | None,
                                flags: int) -> list[dict[str, Any]]:
        return [{"mac": "52:54:00:00:00:01", "ipaddr": "192.168.122.2"}]


class FakeStorage(StorageConnection):
    POOL = StoragePoolRef("default-pool", uuidlib.UUID(int=2).bytes)
    VOL = StorageVolRef("default-pool", "disk.img", "/default-pool/disk.img")

    def __init__(self, state: FakeState) -> None:
        self.s = state

    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        if name != "default-pool":
            raise error(VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching name '{name}'",
                        domain=VIR_FROM_TEST)
        return self.POOL

    def connect_list_all_storage_pools(self, flags: int) -> list[StoragePoolRef]:
        return [self.POOL]

    def storage_pool_get_info(self, pool: StoragePoolRef) -> list[int]:
        return [2, 107374182400, 0, 107374182400]

    def storage_pool_list_all_volumes(self, pool: StoragePoolRef,
                                      flags: int) -> list[StorageVolRef]:
        return [self.VOL]

    def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        return self.VOL

    def storage_vol_get_path(self, vol: StorageVolRef) -> str:
        return vol.key

    def storage_vol_get_info(self, vol: StorageVolRef) -> list[int]:
        return [0, 1000, 1000]

    def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        return self.POOL

    def storage_vol_download(self, vol: StorageVolRef, stream: Any, offset: int,
                             length: int, flags: int) -> None:
        data = self.s.volume_data[offset:offset + length if length else None]
        for i in range(0, len(data), 300):
            stream.write(data[i:i + 300])
        stream.finish()

    def storage_vol_upload(self, vol: StorageVolRef, stream: Any, offset: int,
                           length: int, flags: int) -> None:
        def receive(data: bytes) -> None:
            self.s.uploaded += data

        stream.on_data(receive)


class FakeDriver:
    name = "fake"
    last: DriverConnection | None = None

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if uri is None or uri.driver != "fake":
            return None
        state = FakeState()
        conn = DriverConnection(uri=str(uri), hypervisor=FakeHypervisor(state),
                                network=FakeNetwork(), storage=FakeStorage(state))
        conn.extra["state"] = state
        FakeDriver.last = conn
        return conn


def register() -> None:
    register_driver(FakeDriver())

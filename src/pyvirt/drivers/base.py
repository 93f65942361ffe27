"""Driver interfaces: what a hypervisor, network or storage driver provides.

Each interface is a table of entry points, named after libvirt's remote
procedures in snake case (``REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS`` ->
``domain_create_with_flags``), with arguments and results shaped like the
procedure's args/ret structs. So the public API (``pyvirt.api``) dispatches to
a driver directly, the daemon maps a procedure to the same method, and the
remote driver implements the same table by sending the procedure.

Objects cross the interface as *refs* (name + uuid [+ id]), like
``remote_nonnull_domain``: a ref is a handle, never a live object. A driver
resolves it and raises ``VIR_ERR_NO_DOMAIN`` (etc.) when it is gone.

Every entry point not overridden raises ``VIR_ERR_NO_SUPPORT``: a driver's
class body is its checklist of what it implements.

Opening a URI probes the registered drivers in order: each ``Driver.open``
returns a connection bundle (accepted), ``None`` (declined: not my URI), or
raises ``libvirtError`` (my URI, but it failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from pyvirt.errors import VIR_ERR_NO_CONNECT, VIR_ERR_NO_SUPPORT, error


# --- refs: handles that cross the driver interface (and, later, the wire) -------
@dataclass(frozen=True)
class DomainRef:
    name: str
    uuid: bytes          # 16 raw bytes
    id: int = -1         # -1 when inactive


def domain_ref(dom: Any) -> DomainRef:
    """The handle of a driver's domain object (``name``, ``uuid``, ``id``,
    ``active``, ``ref_cache``: objects.domain_obj.DomainObj), made again only when
    its name or id changed since the last one."""
    dom_id = dom.id if dom.active else -1
    ref = dom.ref_cache
    if ref is None or ref.id != dom_id or ref.name != dom.name:
        ref = dom.ref_cache = DomainRef(dom.name, dom.uuid, dom_id)
    return ref


@dataclass(frozen=True)
class NetworkRef:
    name: str
    uuid: bytes


@dataclass(frozen=True)
class StoragePoolRef:
    name: str
    uuid: bytes


@dataclass(frozen=True)
class StorageVolRef:
    pool: str
    name: str
    key: str


@dataclass(frozen=True)
class SnapshotRef:
    domain: DomainRef
    name: str


#: Called by a driver when a domain event happens:
#: ``sink(event_id, dom_ref, *payload)`` (payload per event id, as libvirt-python's
#: callback gets it after ``dom``, minus the opaque). May be called from any thread.
EventSink = Callable[..., None]


def unsupported(what: str) -> Exception:
    return error(VIR_ERR_NO_SUPPORT, what)


class _Table:
    """Base of the interfaces: any missing entry point is VIR_ERR_NO_SUPPORT."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def missing(*_args: Any, **_kwargs: Any) -> Any:
            raise unsupported(name)

        return missing


class HypervisorConnection(_Table):
    """One open connection to a hypervisor driver.

    Entry points (implement what the driver supports; the rest answer
    VIR_ERR_NO_SUPPORT). Names and shapes follow remote_protocol.x:

    connection: connect_close(), connect_get_type() -> str,
      connect_get_version() -> int, connect_get_lib_version() -> int,
      connect_get_hostname() -> str, connect_get_uri() -> str,
      connect_get_capabilities() -> str (XML), connect_get_max_vcpus(type) -> int,
      node_get_info() -> [model, memory_kib, cpus, mhz, nodes, sockets, cores, threads],
      node_get_free_memory() -> int, connect_is_alive() -> bool,
      connect_is_secure() -> bool, connect_is_encrypted() -> bool,
      connect_get_sysinfo(flags) -> str, connect_get_domain_capabilities(...) -> str
    domain lookup/listing: domain_lookup_by_name(name) -> DomainRef,
      domain_lookup_by_uuid(uuid: bytes), domain_lookup_by_id(id),
      connect_list_all_domains(flags) -> list[DomainRef],
      connect_num_of_domains(), connect_list_domains(maxids) -> list[int],
      connect_num_of_defined_domains(), connect_list_defined_domains(maxnames)
    definition: domain_define_xml_flags(xml, flags) -> DomainRef,
      domain_create_xml(xml, flags) -> DomainRef, domain_undefine_flags(dom, flags),
      domain_get_xml_desc(dom, flags) -> str
    lifecycle: domain_create_with_flags(dom, flags) -> DomainRef (with new id),
      domain_shutdown_flags(dom, flags), domain_destroy_flags(dom, flags),
      domain_reboot(dom, flags), domain_reset(dom, flags), domain_suspend(dom),
      domain_resume(dom), domain_managed_save(dom, flags),
      domain_has_managed_save_image(dom, flags) -> bool,
      domain_managed_save_remove(dom, flags), domain_save_flags(dom, to, dxml, flags),
      domain_restore_flags(frm, dxml, flags)
    info: domain_get_info(dom) -> [state, max_mem, memory, nr_virt_cpu, cpu_time],
      domain_get_state(dom, flags) -> [state, reason], domain_is_active(dom),
      domain_is_persistent(dom), domain_is_updated(dom), domain_get_autostart(dom),
      domain_set_autostart(dom, autostart), domain_get_os_type(dom),
      domain_get_max_memory(dom), domain_set_memory_flags(dom, kib, flags),
      domain_set_max_memory(dom, kib), domain_set_vcpus_flags(dom, n, flags),
      domain_get_vcpus_flags(dom, flags), domain_get_max_vcpus(dom),
      domain_get_messages(dom, flags) -> list[str], domain_get_id(dom) -> int
    devices: domain_attach_device_flags(dom, xml, flags),
      domain_detach_device_flags(dom, xml, flags),
      domain_update_device_flags(dom, xml, flags)
    snapshots: domain_snapshot_create_xml(dom, xml, flags) -> SnapshotRef,
      domain_list_all_snapshots(dom, flags) -> list[SnapshotRef],
      domain_snapshot_num(dom, flags), domain_snapshot_lookup_by_name(dom, name, flags),
      domain_has_current_snapshot(dom, flags), domain_snapshot_current(dom, flags),
      domain_snapshot_get_xml_desc(snap, flags), domain_snapshot_get_parent(snap, flags),
      domain_snapshot_list_all_children(snap, flags), domain_snapshot_is_current(snap, flags),
      domain_snapshot_has_metadata(snap, flags), domain_revert_to_snapshot(snap, flags),
      domain_snapshot_delete(snap, flags)
    stats: domain_get_cpu_stats(dom, start_cpu, ncpus, flags) -> list[dict],
      domain_block_stats(dom, path) -> [rd_req, rd_bytes, wr_req, wr_bytes, errs],
      domain_interface_stats(dom, path) -> [rx_bytes, rx_packets, rx_errs, rx_drop,
      tx_bytes, tx_packets, tx_errs, tx_drop], domain_memory_stats(dom, flags) -> dict,
      connect_get_all_domain_stats(doms: list[DomainRef] | None, stats, flags)
      -> list[tuple[DomainRef, dict]]
    events: connect_domain_event_register_any(event_id, dom: DomainRef | None,
      sink: EventSink) -> int, connect_domain_event_deregister_any(callback_id)
    console: domain_open_console(dom, dev_name, stream, flags)
    """


class NetworkConnection(_Table):
    """Virtual networks. network_lookup_by_name(name) -> NetworkRef,
    network_lookup_by_uuid(uuid), connect_list_all_networks(flags) -> list[NetworkRef],
    connect_num_of_networks(), connect_list_networks(max),
    connect_num_of_defined_networks(), connect_list_defined_networks(max),
    network_define_xml_flags(xml, flags) -> NetworkRef, network_create_xml(xml) -> NetworkRef,
    network_undefine(net), network_create(net), network_destroy(net),
    network_get_xml_desc(net, flags) -> str, network_is_active(net),
    network_is_persistent(net), network_get_autostart(net),
    network_set_autostart(net, autostart), network_get_bridge_name(net) -> str,
    network_update(net, command, section, parent_index, xml, flags),
    network_get_dhcp_leases(net, mac, flags) -> list[dict],
    connect_network_event_register_any(event_id, net | None, sink) -> int,
    connect_network_event_deregister_any(callback_id)
    """


class StorageConnection(_Table):
    """Storage pools and volumes. storage_pool_lookup_by_name(name) -> StoragePoolRef,
    storage_pool_lookup_by_uuid(uuid), storage_pool_lookup_by_volume(vol),
    connect_list_all_storage_pools(flags) -> list[StoragePoolRef],
    storage_pool_define_xml(xml, flags), storage_pool_create_xml(xml, flags),
    storage_pool_undefine(pool), storage_pool_create(pool, flags),
    storage_pool_build(pool, flags), storage_pool_destroy(pool),
    storage_pool_delete(pool, flags), storage_pool_refresh(pool, flags),
    storage_pool_get_info(pool) -> [state, capacity, allocation, available],
    storage_pool_get_xml_desc(pool, flags), storage_pool_get_autostart(pool),
    storage_pool_set_autostart(pool, autostart), storage_pool_is_active(pool),
    storage_pool_is_persistent(pool), storage_pool_num_of_volumes(pool),
    storage_pool_list_all_volumes(pool, flags) -> list[StorageVolRef],
    storage_vol_lookup_by_name(pool, name) -> StorageVolRef,
    storage_vol_lookup_by_key(key), storage_vol_lookup_by_path(path),
    storage_vol_create_xml(pool, xml, flags), storage_vol_create_xml_from(pool, xml,
    clonevol, flags), storage_vol_delete(vol, flags), storage_vol_wipe(vol, flags),
    storage_vol_get_info(vol) -> [type, capacity, allocation],
    storage_vol_get_xml_desc(vol, flags), storage_vol_get_path(vol),
    storage_vol_resize(vol, capacity, flags), storage_vol_upload(vol, stream,
    offset, length, flags), storage_vol_download(vol, stream, offset, length, flags),
    connect_storage_pool_event_register_any(event_id, pool | None, sink) -> int,
    connect_storage_pool_event_deregister_any(callback_id)
    """


@dataclass
class DriverConnection:
    """What a successful open returns: one table per family (None = that
    family is not available on this URI: its calls answer VIR_ERR_NO_SUPPORT)."""

    uri: str
    hypervisor: HypervisorConnection | None = None
    network: NetworkConnection | None = None
    storage: StorageConnection | None = None
    readonly: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        seen: set[int] = set()
        for table in (self.hypervisor, self.network, self.storage):
            if table is not None and id(table) not in seen:
                seen.add(id(table))
                closer = getattr(type(table), "connect_close", None)
                if closer is not None:
                    closer(table)


class Driver(Protocol):
    """A registered driver. ``name`` is for logs; ``open`` probes a URI."""

    name: str

    def open(self, uri: "Any", flags: int, readonly: bool) -> DriverConnection | None: ...


_REGISTRY: list[Driver] = []


def register_driver(driver: Driver) -> None:
    if all(d.name != driver.name for d in _REGISTRY):
        _REGISTRY.append(driver)


def order_drivers(rank: Callable[[Driver], int]) -> None:
    """Re-sort the probe order (stable) by ``rank``: lower probes first."""
    _REGISTRY.sort(key=rank)


def registered_drivers() -> list[Driver]:
    return list(_REGISTRY)


def open_connection(uri: Any, flags: int = 0, readonly: bool = False) -> DriverConnection:
    """Probe the drivers in registration order; the first to accept wins."""
    for driver in _REGISTRY:
        conn = driver.open(uri, flags, readonly)
        if conn is not None:
            conn.readonly = conn.readonly or readonly
            return conn
    raise error(VIR_ERR_NO_CONNECT, str(uri))

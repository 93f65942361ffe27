"""Smaller domain entry points libvirt's test driver answers: metadata, rename, time,
block info, scheduler, guest addresses and filesystems, NMI/keys, control info."""

from __future__ import annotations

from typing import Any

from lxml import etree

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.test import domxml
from pyvirt.drivers.test.checks import check_flags, delivers_events as _events
from pyvirt.drivers.test.domain_base import DomainTableBase
from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_NO_DOMAIN_METADATA, VIR_ERR_OPERATION_FAILED,
    VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, VIR_FROM_TEST, error,
)
from pyvirt.objects import numbers as n

METADATA_DESCRIPTION, METADATA_TITLE, METADATA_ELEMENT = 0, 1, 2
EVENT_ID_METADATA_CHANGE = 23
#: virDomainGetBlockInfo of every disk: capacity, allocation, physical (bytes)
BLOCK_INFO = [1099506450432, 1099511627776, 1099511627776]
GUEST_TIME = (627319920, 0)
GUEST_FILESYSTEMS = [("/", "vda1", "ext4", ["vda"]), ("/boot", "vda2", "ext4", ["vda"])]


class DomainExtrasMixin(DomainTableBase):
    """Entry points beyond the core table that the real test driver implements."""

    # --- metadata -----------------------------------------------------------------------
    @_events
    def domain_set_metadata(self, ref: DomainRef, kind: int, metadata: str | None,
                            key: str | None, uri: str | None, flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, "testDomainSetMetadata")
        with self._domains.lock:
            dom = self._dom(ref)
            live, config = self._defs_for(dom, flags)
            for ddef in (d for d in (live, config) if d is not None):
                _set_metadata(ddef, kind, metadata, key, uri)
            self.state.domain_events.queue(EVENT_ID_METADATA_CHANGE, self._ref(dom), kind,
                                           uri if kind == METADATA_ELEMENT else None)

    def domain_get_metadata(self, ref: DomainRef, kind: int, uri: str | None,
                            flags: int = 0) -> str:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, "testDomainGetMetadata")
        with self._domains.lock:
            dom = self._dom(ref)
            live, config = self._defs_for(dom, flags)
            ddef = live if live is not None else config
            value = _get_metadata(ddef, kind, uri)
        if value is None:
            raise error(VIR_ERR_NO_DOMAIN_METADATA, "Requested metadata element is not present",
                        domain=VIR_FROM_DOMAIN)
        return value

    # --- rename -------------------------------------------------------------------------
    @_events
    def domain_rename(self, ref: DomainRef, new_name: str, flags: int = 0) -> DomainRef:
        check_flags(flags, 0, "testDomainRename")
        with self._domains.lock:
            dom = self._dom(ref)
            if dom.active:
                raise error(VIR_ERR_OPERATION_INVALID, "cannot rename active domain",
                            domain=VIR_FROM_TEST)
            if not dom.persistent:
                raise error(VIR_ERR_OPERATION_INVALID, "cannot rename a transient domain",
                            domain=VIR_FROM_TEST)
            if len(dom.snapshots):
                raise error(VIR_ERR_OPERATION_INVALID,
                            "cannot rename domain with snapshots", domain=VIR_FROM_TEST)
            if self._domains.find_by_name(new_name) is not None:
                raise error(VIR_ERR_OPERATION_FAILED,
                            f"domain with name '{new_name}' already exists",
                            domain=VIR_FROM_DOMAIN)
            old = self._ref(dom)
            dom.persistent_def.node.find("name").text = new_name
            self._domains.rename(dom, new_name)
            self.state.domain_events.queue(n.EVENT_ID_LIFECYCLE, old, int(n.DomainEvent.UNDEFINED),
                                           n.UNDEFINED_RENAMED)
            self._lifecycle(dom, n.DomainEvent.DEFINED, n.DEFINED_RENAMED)
            return self._ref(dom)

    # --- guest facts --------------------------------------------------------------------
    def domain_get_time(self, ref: DomainRef, flags: int = 0) -> tuple[int, int]:
        check_flags(flags, 0, "testDomainGetTime")
        if not self._dom(ref).active:
            raise error(VIR_ERR_OPERATION_INVALID, "domain is not running", domain=VIR_FROM_TEST)
        return GUEST_TIME

    def domain_get_block_info(self, ref: DomainRef, path: str, flags: int = 0) -> list[int]:
        """[capacity, allocation, physical] as libvirt-python's blockInfo returns them."""
        check_flags(flags, 0, "testDomainGetBlockInfo")
        with self._domains.lock:
            ddef = self._dom(ref).current_def
            sources = [s.get("file") or s.get("dev") for s in
                       ddef.node.iterfind("devices/disk/source")]
            if path not in domxml.disk_targets(ddef) and path not in sources:
                raise error(VIR_ERR_INVALID_ARG,
                            f"invalid path {path} not assigned to domain", domain=VIR_FROM_TEST)
        return list(BLOCK_INFO)

    def domain_get_scheduler_type(self, ref: DomainRef) -> tuple[str, int]:
        self._dom(ref)
        return ("fair", 1)

    def domain_get_scheduler_parameters(self, ref: DomainRef, nparams: int = 1) -> dict:
        """libvirt's test driver always reports weight 50 (a set is accepted, not kept)."""
        self._dom(ref)
        return {"weight": 50}

    def domain_get_scheduler_parameters_flags(self, ref: DomainRef, nparams: int = 1,
                                              flags: int = 0) -> dict:
        check_flags(flags, 0, "testDomainGetSchedulerParametersFlags")
        return self.domain_get_scheduler_parameters(ref, nparams)

    def domain_set_scheduler_parameters_flags(self, ref: DomainRef, params: dict[str, Any],
                                              flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG,
                    "testDomainSetSchedulerParametersFlags")
        unknown = [k for k in params if k != "weight"]
        if unknown:
            raise error(VIR_ERR_INVALID_ARG, f"parameter '{unknown[0]}' not supported",
                        domain=VIR_FROM_TEST)
        self._dom(ref)

    def domain_set_scheduler_parameters(self, ref: DomainRef, params: dict[str, Any]) -> None:
        self.domain_set_scheduler_parameters_flags(ref, params, 0)

    def domain_interface_addresses(self, ref: DomainRef, source: int = 0,
                                   flags: int = 0) -> dict:
        """Each interface gets 192.168.122.(2+N)/24, as libvirt's test driver reports."""
        check_flags(flags, 0, "testDomainInterfaceAddresses")
        with self._domains.lock:
            dom = self._dom(ref)
            self._require_active(dom)
            result = {}
            for index, (dev, mac) in enumerate(domxml.interface_names(dom.live_def)):
                result[dev or f"vnet{index}"] = {
                    "addrs": [{"addr": f"192.168.122.{3 + index}", "prefix": 24, "type": 0}],
                    "hwaddr": mac}
            return result

    def domain_get_fsinfo(self, ref: DomainRef, flags: int = 0) -> list[tuple]:
        check_flags(flags, 0, "testDomainGetFSInfo")
        self._require_active(self._dom(ref))
        return [tuple(fs) for fs in GUEST_FILESYSTEMS]

    def domain_inject_nmi(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testDomainInjectNMI")
        self._require_active(self._dom(ref))

    def domain_send_key(self, ref: DomainRef, codeset: int, holdtime: int,
                        keycodes: list[int], flags: int = 0) -> None:
        check_flags(flags, 0, "testDomainSendKey")
        self._require_active(self._dom(ref))

    def domain_get_control_info(self, ref: DomainRef, flags: int = 0) -> list[int]:
        check_flags(flags, 0, "testDomainGetControlInfo")
        self._require_active(self._dom(ref))
        return [0, 0, 0]

    def domain_get_disk_errors(self, ref: DomainRef, maxerrors: int = -1,
                               flags: int = 0) -> dict[str, int]:
        """Every disk reports VIR_DOMAIN_DISK_ERROR_UNSPEC (1), as libvirt's test driver."""
        check_flags(flags, 0, "testDomainGetDiskErrors")
        with self._domains.lock:
            dom = self._dom(ref)
            self._require_active(dom)
            return {target: 1 for target in domxml.disk_targets(dom.live_def)}


def _set_metadata(ddef: Any, kind: int, metadata: str | None, key: str | None,
                  uri: str | None) -> None:
    if kind == METADATA_ELEMENT:
        if uri is None:
            raise error(VIR_ERR_INVALID_ARG, "uri must not be NULL", domain=VIR_FROM_DOMAIN)
        ddef.set_metadata(uri, key, metadata or None)
        return
    tag = "description" if kind == METADATA_DESCRIPTION else "title"
    if kind not in (METADATA_DESCRIPTION, METADATA_TITLE):
        raise error(VIR_ERR_INVALID_ARG, f"unknown metadata type '{kind}'",
                    domain=VIR_FROM_DOMAIN)
    setattr(ddef, tag, metadata or None)
    if hasattr(ddef, "sort_children"):
        ddef.sort_children()


def _without_namespace(text: str) -> str:
    """libvirt hands a metadata element back outside its namespace: ``<a>1</a>``."""
    node = etree.fromstring(text)
    for el in node.iter():
        if isinstance(el.tag, str):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(node)
    return etree.tostring(node, encoding="unicode")


def _get_metadata(ddef: Any, kind: int, uri: str | None) -> str | None:
    if kind == METADATA_ELEMENT:
        text = ddef.get_metadata(uri) if uri is not None else None
        return _without_namespace(text) if text is not None else None
    if kind not in (METADATA_DESCRIPTION, METADATA_TITLE):
        raise error(VIR_ERR_INVALID_ARG, f"unknown metadata type '{kind}'",
                    domain=VIR_FROM_DOMAIN)
    return getattr(ddef, "description" if kind == METADATA_DESCRIPTION else "title")



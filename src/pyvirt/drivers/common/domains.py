"""The domain-table entry points every stateful hypervisor driver (QEMU, LXC) answers
the same way over its :class:`~pyvirt.objects.domain_list.DomainObjList`: lookups by
name/UUID/id, the listings, and the name/UUID clash checks of define and create.
A driver mixes this in and says which error domain its lookups report."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from pyvirt.drivers.base import DomainRef
from pyvirt.errors import (VIR_ERR_NO_DOMAIN, VIR_ERR_OPERATION_FAILED,
                           VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, error)
from pyvirt.objects import numbers as n
from pyvirt.objects.domain_obj import DomainObj


class DomainTableMixin:
    """Needs ``self.drv.domains`` and ``self._ref(dom)``; sets ``_error_domain``."""

    drv: Any
    #: VIR_FROM_QEMU, VIR_FROM_LXC...: where "no domain with matching ..." comes from
    _error_domain: int

    def _ref(self, dom: DomainObj) -> DomainRef:  # provided by the driver
        raise NotImplementedError

    # --- lookup and listing ---------------------------------------------------------------
    def domain_lookup_by_name(self, name: str) -> DomainRef:
        dom = self.drv.domains.find_by_name(name)
        if dom is None:
            raise error(VIR_ERR_NO_DOMAIN, f"no domain with matching name '{name}'",
                        domain=self._error_domain)
        return self._ref(dom)

    def domain_lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        dom = self.drv.domains.find_by_uuid(bytes(uuid))
        if dom is None:
            raise error(VIR_ERR_NO_DOMAIN, "no domain with matching uuid "
                        f"'{uuidlib.UUID(bytes=bytes(uuid))}'", domain=self._error_domain)
        return self._ref(dom)

    def domain_lookup_by_id(self, dom_id: int) -> DomainRef:
        dom = self.drv.domains.find_by_id(dom_id)
        if dom is None:
            raise error(VIR_ERR_NO_DOMAIN, f"no domain with matching id {dom_id}",
                        domain=self._error_domain)
        return self._ref(dom)

    def connect_list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        return [self._ref(d) for d in self.drv.domains.list(flags)]

    def connect_num_of_domains(self) -> int:
        return len(self.drv.domains.list(n.LIST_DOMAINS_ACTIVE))

    def connect_list_domains(self, maxids: int = -1) -> list[int]:
        ids = [d.id for d in self.drv.domains.list(n.LIST_DOMAINS_ACTIVE)]
        return ids if maxids < 0 else ids[:maxids]

    def connect_num_of_defined_domains(self) -> int:
        return len(self.drv.domains.list(n.LIST_DOMAINS_INACTIVE))

    def connect_list_defined_domains(self, maxnames: int = -1) -> list[str]:
        names = [d.name for d in self.drv.domains.list(n.LIST_DOMAINS_INACTIVE)]
        return names if maxnames < 0 else names[:maxnames]

    # --- define / create ------------------------------------------------------------------
    def _check_duplicates(self, name: str, uuid: bytes, live: bool) -> DomainObj | None:
        return check_duplicates(self.drv.domains, name, uuid, live)


def check_duplicates(domains: Any, name: str, uuid: bytes, live: bool) -> DomainObj | None:
    """libvirt's virDomainObjListAdd checks over the DomainObjList ``domains``: the
    domain a definition replaces (same name and UUID), None for a new one; libvirt's
    errors for a clash of name or UUID, or (``live``) an already active domain."""
    same_uuid = domains.find_by_uuid(uuid)
    if same_uuid is not None:
        if same_uuid.name != name:
            raise error(VIR_ERR_OPERATION_FAILED,
                        f"domain '{same_uuid.name}' is already defined with uuid "
                        f"{same_uuid.uuid_str}", domain=VIR_FROM_DOMAIN)
        if live and same_uuid.active:
            raise error(VIR_ERR_OPERATION_INVALID,
                        f"domain '{name}' is already active", domain=VIR_FROM_DOMAIN)
        return same_uuid
    same_name = domains.find_by_name(name)
    if same_name is not None:
        raise error(VIR_ERR_OPERATION_FAILED,
                    f"domain '{name}' already exists with uuid {same_name.uuid_str}",
                    domain=VIR_FROM_DOMAIN)
    return None


def check_undefine(dom: DomainObj, flags: int, domain: int) -> tuple[bool, bool]:
    """libvirt's refusals before undefine (a managed save image without
    UNDEFINE_MANAGED_SAVE, snapshots of an inactive domain without
    UNDEFINE_SNAPSHOTS_METADATA), all checked before anything is dropped.
    Returns whether to drop the managed save image and the snapshot metadata."""
    drop_save = dom.managed_save is not None
    if drop_save and not flags & n.UNDEFINE_MANAGED_SAVE:
        raise error(VIR_ERR_OPERATION_INVALID,
                    "Refusing to undefine while domain managed save image exists",
                    domain=domain)
    drop_snapshots = bool(len(dom.snapshots)) and not dom.active
    if drop_snapshots and not flags & n.UNDEFINE_SNAPSHOTS_METADATA:
        raise error(VIR_ERR_OPERATION_INVALID,
                    f"cannot delete inactive domain with {len(dom.snapshots)} snapshots",
                    domain=domain)
    return drop_save, drop_snapshots

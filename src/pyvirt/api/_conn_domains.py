"""virConnect's domain calls: lookup, listing, definition, statistics.

A mixin of :class:`pyvirt.api.connect.virConnect`; it relies on the
connection's plumbing (``_hv``, ``_has``, ``_check_open``, ``_check_writable``).
"""

from __future__ import annotations

from typing import Any

from pyvirt.api._checks import (check_not_negative, check_not_none, check_uuid_bytes,
                                parse_uuid_string)
from pyvirt.api._lasterror import recorded
from pyvirt.api.domain import virDomain
from pyvirt.constants import VIR_CONNECT_LIST_DOMAINS_ACTIVE, VIR_CONNECT_LIST_DOMAINS_INACTIVE
from pyvirt.errors import VIR_FROM_DOMAIN


@recorded
class ConnectDomains:
    """Domain lookup, listing, definition and statistics on a connection."""

    _drv: Any

    # --- domains: lookup and listing -----------------------------------------
    def lookupByName(self, name) -> virDomain:  # noqa: N802
        check_not_none(name, "name", "virDomainLookupByName", VIR_FROM_DOMAIN)
        ref = self._hv("domain_lookup_by_name", "virDomainLookupByName", VIR_FROM_DOMAIN)(name)
        return virDomain(self, ref)

    def lookupByID(self, id) -> virDomain:  # noqa: N802,A002
        check_not_negative(id, "id", "virDomainLookupByID", VIR_FROM_DOMAIN)
        ref = self._hv("domain_lookup_by_id", "virDomainLookupByID", VIR_FROM_DOMAIN)(id)
        return virDomain(self, ref)

    def lookupByUUID(self, uuid) -> virDomain:  # noqa: N802
        raw = check_uuid_bytes(uuid, "virDomainLookupByUUID", VIR_FROM_DOMAIN)
        ref = self._hv("domain_lookup_by_uuid", "virDomainLookupByUUID", VIR_FROM_DOMAIN)(raw)
        return virDomain(self, ref)

    def lookupByUUIDString(self, uuidstr) -> virDomain:  # noqa: N802
        raw = parse_uuid_string(uuidstr, "virDomainLookupByUUIDString", VIR_FROM_DOMAIN)
        ref = self._hv("domain_lookup_by_uuid", "virDomainLookupByUUIDString",
                       VIR_FROM_DOMAIN)(raw)
        return virDomain(self, ref)

    def listAllDomains(self, flags: int = 0) -> list[virDomain]:  # noqa: N802
        refs = self._hv("connect_list_all_domains", "virConnectListAllDomains")(flags)
        return [virDomain(self, ref) for ref in refs]

    def listDomainsID(self) -> list[int]:  # noqa: N802
        self._check_open("virConnectNumOfDomains")
        if self._has("hypervisor", "connect_list_domains"):
            maxids = self.numOfDomains()
            return list(self._drv.hypervisor.connect_list_domains(maxids))
        return [dom.ID() for dom in self.listAllDomains(VIR_CONNECT_LIST_DOMAINS_ACTIVE)]

    def listDefinedDomains(self) -> list[str]:  # noqa: N802
        self._check_open("virConnectNumOfDefinedDomains")
        if self._has("hypervisor", "connect_list_defined_domains"):
            maxnames = self.numOfDefinedDomains()
            return list(self._drv.hypervisor.connect_list_defined_domains(maxnames))
        return [dom.name() for dom in self.listAllDomains(VIR_CONNECT_LIST_DOMAINS_INACTIVE)]

    def numOfDomains(self) -> int:  # noqa: N802
        self._check_open("virConnectNumOfDomains")
        if self._has("hypervisor", "connect_num_of_domains"):
            return self._drv.hypervisor.connect_num_of_domains()
        return len(self._hv("connect_list_all_domains", "virConnectNumOfDomains")(
            VIR_CONNECT_LIST_DOMAINS_ACTIVE))

    def numOfDefinedDomains(self) -> int:  # noqa: N802
        self._check_open("virConnectNumOfDefinedDomains")
        if self._has("hypervisor", "connect_num_of_defined_domains"):
            return self._drv.hypervisor.connect_num_of_defined_domains()
        return len(self._hv("connect_list_all_domains", "virConnectNumOfDefinedDomains")(
            VIR_CONNECT_LIST_DOMAINS_INACTIVE))

    # --- domains: definition -------------------------------------------------
    def defineXML(self, xml) -> virDomain:  # noqa: N802
        return self._define("virDomainDefineXML", xml, 0)

    def defineXMLFlags(self, xml, flags=0) -> virDomain:  # noqa: N802
        return self._define("virDomainDefineXMLFlags", xml, flags)

    def _define(self, func: str, xml: Any, flags: int) -> virDomain:
        self._check_writable(func, VIR_FROM_DOMAIN)
        check_not_none(xml, "xml", func, VIR_FROM_DOMAIN)
        ref = self._hv("domain_define_xml_flags", func, VIR_FROM_DOMAIN)(xml, flags)
        return virDomain(self, ref)

    def createXML(self, xmlDesc, flags=0) -> virDomain:  # noqa: N802,N803
        check_not_none(xmlDesc, "xmlDesc", "virDomainCreateXML", VIR_FROM_DOMAIN)
        self._check_writable("virDomainCreateXML", VIR_FROM_DOMAIN)
        ref = self._hv("domain_create_xml", "virDomainCreateXML", VIR_FROM_DOMAIN)(xmlDesc,
                                                                                  flags)
        return virDomain(self, ref)

    def createLinux(self, xmlDesc, flags=0) -> virDomain:  # noqa: N802,N803
        return self.createXML(xmlDesc, flags)

    def restore(self, frm) -> int:
        return self._restore("virDomainRestore", frm, None, 0)

    def restoreFlags(self, frm, dxml=None, flags=0) -> int:  # noqa: N802
        return self._restore("virDomainRestoreFlags", frm, dxml, flags)

    def _restore(self, func: str, frm: Any, dxml: Any, flags: int) -> int:
        self._check_writable(func, VIR_FROM_DOMAIN)
        check_not_none(frm, "from", func, VIR_FROM_DOMAIN)
        self._hv("domain_restore_flags", func, VIR_FROM_DOMAIN)(frm, dxml, flags)
        return 0

    # --- domains: statistics -------------------------------------------------
    def getAllDomainStats(self, stats: int = 0, flags: int = 0  # noqa: N802
                          ) -> list[tuple[virDomain, dict[str, Any]]]:
        rows = self._hv("connect_get_all_domain_stats", "virConnectGetAllDomainStats")(
            None, stats, flags)
        return [(virDomain(self, ref), dict(values)) for ref, values in rows]

    def domainListGetStats(self, doms: list[virDomain], stats: int = 0,  # noqa: N802
                           flags: int = 0) -> list[tuple[virDomain, dict[str, Any]]]:
        refs = [dom._ref for dom in doms]
        rows = self._hv("connect_get_all_domain_stats", "virDomainListGetStats")(
            refs, stats, flags)
        return [(virDomain(self, ref), dict(values)) for ref, values in rows]


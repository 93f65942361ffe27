"""Host capabilities (``virConnectGetCapabilities``): model, libvirt's formatter, parser.

Capabilities are built by a driver from host facts, not edited by users, so
the model is plain dataclasses and :meth:`Capabilities.to_xml` writes exactly
what libvirt's ``virCapabilitiesFormatXML`` writes (blank lines between the
sections, ``<doi></doi>``, empty ``<cells>`` printed open and closed).
:meth:`Capabilities.from_xml` reads a capabilities document back (what
libvirt does not model here — ``<cache>``, ``<memory_bandwidth>``,
``<netprefix>`` — is not kept).

:func:`test_driver_capabilities` is the fixed document of ``test:///default``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from pyvirt.conf.xmlbuilder import parse_xml
from pyvirt.errors import VIR_ERR_XML_ERROR, VIR_FROM_CAPABILITIES, error


def _esc(text: object) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&apos;").replace('"', "&quot;"))


def _attrs(pairs: list[tuple[str, object]]) -> str:
    return "".join(f" {k}='{_esc(v)}'" for k, v in pairs if v is not None)


# ================================================================================
# Host
# ================================================================================
@dataclass
class CPUTopology:
    sockets: int
    dies: int | None
    cores: int
    threads: int


@dataclass
class HostCPU:
    """``<host><cpu>``: arch, optional model data, host features, page sizes (KiB)."""

    arch: str
    host_features: list[str] = field(default_factory=list)
    model: str | None = None
    vendor: str | None = None
    microcode: int | None = None
    signature: tuple[int, int, int] | None = None
    counter: tuple[str, int, str | None] | None = None
    topology: CPUTopology | None = None
    maxphysaddr: tuple[str, int] | None = None
    features: list[str] = field(default_factory=list)
    pages_kib: list[int] = field(default_factory=list)


@dataclass
class NumaCPU:
    """One ``<cpu>`` of a NUMA cell; topology ids are None when unknown."""

    id: int
    socket_id: int | None = None
    die_id: int | None = None
    core_id: int | None = None
    siblings: str | None = None


@dataclass
class NumaCell:
    id: int
    memory_kib: int
    pages: list[tuple[int, int]] = field(default_factory=list)
    distances: list[tuple[int, int]] = field(default_factory=list)
    cpus: list[NumaCPU] = field(default_factory=list)


@dataclass
class SecModel:
    model: str
    doi: str = "0"
    baselabels: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class MigrationFeatures:
    live: bool = True
    uri_transports: list[str] = field(default_factory=list)


@dataclass
class HostCaps:
    """``<host>``. ``cells`` None means no ``<topology>``; ``power_management``
    None prints nothing, [] prints ``<power_management/>``."""

    cpu: HostCPU
    uuid: str | None = None
    power_management: list[str] | None = field(default_factory=list)
    iommu: bool | None = False
    migration: MigrationFeatures | None = None
    cells: list[NumaCell] | None = None
    secmodels: list[SecModel] = field(default_factory=list)

    @property
    def memory_kib(self) -> int:
        """Total memory of the NUMA cells."""
        return sum(c.memory_kib for c in self.cells or [])


# ================================================================================
# Guests
# ================================================================================
@dataclass
class GuestMachine:
    name: str
    canonical: str | None = None
    max_cpus: int | None = None
    deprecated: bool | None = None


@dataclass
class GuestDomain:
    """``<domain type=…>``, with its own emulator/machines when they differ."""

    type: str
    emulator: str | None = None
    machines: list[GuestMachine] = field(default_factory=list)


@dataclass
class GuestFeature:
    """``<acpi default='on' toggle='yes'/>``; ``default``/``toggle`` None print nothing."""

    name: str
    default: bool | None = None
    toggle: bool | None = None


@dataclass
class GuestCaps:
    os_type: str
    arch: str
    wordsize: int
    emulator: str | None = None
    loader: str | None = None
    machines: list[GuestMachine] = field(default_factory=list)
    domains: list[GuestDomain] = field(default_factory=list)
    features: list[GuestFeature] = field(default_factory=list)


# ================================================================================
# The document
# ================================================================================
@dataclass
class Capabilities:
    host: HostCaps
    guests: list[GuestCaps] = field(default_factory=list)

    def to_xml(self) -> str:
        """libvirt's text, byte for byte."""
        out = ["<capabilities>", ""]
        out += _format_host(self.host)
        out.append("")
        for guest in self.guests:
            out += _format_guest(guest)
            out.append("")
        out.append("</capabilities>")
        return "\n".join(out) + "\n"

    @classmethod
    def from_xml(cls, text: str | bytes) -> "Capabilities":
        root = parse_xml(text, "(capabilities)")
        if root.tag != "capabilities":
            raise error(VIR_ERR_XML_ERROR, "expecting root element of 'capabilities', not "
                                           f"'{root.tag}'", domain=VIR_FROM_CAPABILITIES)
        host = root.find("host")
        if host is None or host.find("cpu/arch") is None:
            raise error(VIR_ERR_XML_ERROR, "missing host CPU arch in capabilities",
                        domain=VIR_FROM_CAPABILITIES)
        try:
            return cls(host=_parse_host(host), guests=[_parse_guest(g)
                                                       for g in root.findall("guest")])
        except (ValueError, TypeError, AttributeError) as err:
            # a number that is not one, a required element or attribute missing
            raise error(VIR_ERR_XML_ERROR, f"malformed capabilities: {err}",
                        domain=VIR_FROM_CAPABILITIES) from err

    # --- lookups ---------------------------------------------------------------------
    def guest_lookup(self, os_type: str | None = None, arch: str | None = None,
                     domain_type: str | None = None) -> GuestCaps | None:
        """The first guest matching every given criterion, or None."""
        for guest in self.guests:
            if os_type is not None and guest.os_type != os_type:
                continue
            if arch is not None and guest.arch != arch:
                continue
            if domain_type is not None and not any(d.type == domain_type
                                                   for d in guest.domains):
                continue
            return guest
        return None

    def emulator_for(self, guest: GuestCaps, domain_type: str) -> str | None:
        """The emulator a domain of ``domain_type`` uses: its own, else the guest's."""
        for dom in guest.domains:
            if dom.type == domain_type and dom.emulator:
                return dom.emulator
        return guest.emulator


# --- formatting --------------------------------------------------------------------------
def _format_host(host: HostCaps) -> list[str]:
    out = ["  <host>"]
    if host.uuid:
        out.append(f"    <uuid>{_esc(host.uuid)}</uuid>")
    out += _format_host_cpu(host.cpu)
    if host.power_management is not None:
        if host.power_management:
            out.append("    <power_management>")
            out += [f"      <{_esc(p)}/>" for p in host.power_management]
            out.append("    </power_management>")
        else:
            out.append("    <power_management/>")
    if host.iommu is not None:
        out.append(f"    <iommu support='{'yes' if host.iommu else 'no'}'/>")
    if host.migration is not None:
        out.append("    <migration_features>")
        if host.migration.live:
            out.append("      <live/>")
        if host.migration.uri_transports:
            out.append("      <uri_transports>")
            out += [f"        <uri_transport>{_esc(t)}</uri_transport>"
                    for t in host.migration.uri_transports]
            out.append("      </uri_transports>")
        out.append("    </migration_features>")
    if host.cells is not None:
        out += ["    <topology>", f"      <cells num='{len(host.cells)}'>"]
        for cell in host.cells:
            out += _format_cell(cell)
        out += ["      </cells>", "    </topology>"]
    for sec in host.secmodels:
        out += ["    <secmodel>", f"      <model>{_esc(sec.model)}</model>",
                f"      <doi>{_esc(sec.doi)}</doi>"]
        out += [f"      <baselabel type='{_esc(t)}'>{_esc(label)}</baselabel>"
                for t, label in sec.baselabels]
        out.append("    </secmodel>")
    out.append("  </host>")
    return out


def _format_host_cpu(cpu: HostCPU) -> list[str]:
    out = ["    <cpu>", f"      <arch>{_esc(cpu.arch)}</arch>"]
    if cpu.host_features:
        out.append("      <features>")
        out += [f"        <{_esc(f)}/>" for f in cpu.host_features]
        out.append("      </features>")
    if cpu.model:
        out.append(f"      <model>{_esc(cpu.model)}</model>")
    if cpu.vendor:
        out.append(f"      <vendor>{_esc(cpu.vendor)}</vendor>")
    if cpu.microcode is not None:
        out.append(f"      <microcode version='{cpu.microcode}'/>")
    if cpu.signature is not None:
        family, model, stepping = cpu.signature
        out.append(f"      <signature family='{family}' model='{model}' "
                   f"stepping='{stepping}'/>")
    if cpu.counter is not None:
        name, freq, scaling = cpu.counter
        out.append(f"      <counter{_attrs([('name', name), ('frequency', freq)])}"
                   f"{_attrs([('scaling', scaling)])}/>")
    if cpu.topology is not None:
        t = cpu.topology
        out.append(f"      <topology{_attrs([('sockets', t.sockets), ('dies', t.dies)])}"
                   f"{_attrs([('cores', t.cores), ('threads', t.threads)])}/>")
    if cpu.maxphysaddr is not None:
        mode, bits = cpu.maxphysaddr
        out.append(f"      <maxphysaddr mode='{_esc(mode)}' bits='{bits}'/>")
    out += [f"      <feature name='{_esc(f)}'/>" for f in cpu.features]
    out += [f"      <pages unit='KiB' size='{size}'/>" for size in cpu.pages_kib]
    out.append("    </cpu>")
    return out


def _format_cell(cell: NumaCell) -> list[str]:
    out = [f"        <cell id='{cell.id}'>",
           f"          <memory unit='KiB'>{cell.memory_kib}</memory>"]
    out += [f"          <pages unit='KiB' size='{size}'>{count}</pages>"
            for size, count in cell.pages]
    if cell.distances:
        out.append("          <distances>")
        out += [f"            <sibling id='{i}' value='{v}'/>" for i, v in cell.distances]
        out.append("          </distances>")
    out.append(f"          <cpus num='{len(cell.cpus)}'>")
    for cpu in cell.cpus:
        attrs = _attrs([("id", cpu.id), ("socket_id", cpu.socket_id),
                        ("die_id", cpu.die_id), ("core_id", cpu.core_id),
                        ("siblings", cpu.siblings)])
        out.append(f"            <cpu{attrs}/>")
    out += ["          </cpus>", "        </cell>"]
    return out


def _format_machine(machine: GuestMachine, pad: str) -> str:
    attrs = _attrs([("canonical", machine.canonical), ("maxCpus", machine.max_cpus),
                    ("deprecated", None if machine.deprecated is None
                     else ("yes" if machine.deprecated else "no"))])
    return f"{pad}<machine{attrs}>{_esc(machine.name)}</machine>"


def _format_guest(guest: GuestCaps) -> list[str]:
    out = ["  <guest>", f"    <os_type>{_esc(guest.os_type)}</os_type>",
           f"    <arch name='{_esc(guest.arch)}'>",
           f"      <wordsize>{guest.wordsize}</wordsize>"]
    if guest.emulator:
        out.append(f"      <emulator>{_esc(guest.emulator)}</emulator>")
    if guest.loader:
        out.append(f"      <loader>{_esc(guest.loader)}</loader>")
    out += [_format_machine(m, "      ") for m in guest.machines]
    for dom in guest.domains:
        if not dom.emulator and not dom.machines:
            out.append(f"      <domain type='{_esc(dom.type)}'/>")
            continue
        out.append(f"      <domain type='{_esc(dom.type)}'>")
        if dom.emulator:
            out.append(f"        <emulator>{_esc(dom.emulator)}</emulator>")
        out += [_format_machine(m, "        ") for m in dom.machines]
        out.append("      </domain>")
    out.append("    </arch>")
    if guest.features:
        out.append("    <features>")
        for feat in guest.features:
            attrs = _attrs([("default", None if feat.default is None
                             else ("on" if feat.default else "off")),
                            ("toggle", None if feat.toggle is None
                             else ("yes" if feat.toggle else "no"))])
            out.append(f"      <{_esc(feat.name)}{attrs}/>")
        out.append("    </features>")
    out.append("  </guest>")
    return out


# --- parsing ---------------------------------------------------------------------------------
def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def _yes(value: str | None, true: str = "yes") -> bool | None:
    return None if value is None else value == true


def _parse_host(host: etree._Element) -> HostCaps:
    cpu = host.find("cpu")
    host_features = cpu.find("features")
    topo = cpu.find("topology")
    signature = cpu.find("signature")
    counter = cpu.find("counter")
    maxphys = cpu.find("maxphysaddr")
    microcode = cpu.find("microcode")
    host_cpu = HostCPU(
        arch=cpu.findtext("arch", ""),
        host_features=[] if host_features is None else [
            f.tag for f in host_features if isinstance(f.tag, str)],
        model=cpu.findtext("model"), vendor=cpu.findtext("vendor"),
        microcode=_int(microcode.get("version")) if microcode is not None else None,
        signature=None if signature is None else (
            int(signature.get("family")), int(signature.get("model")),
            int(signature.get("stepping"))),
        counter=None if counter is None else (
            counter.get("name"), int(counter.get("frequency")), counter.get("scaling")),
        topology=None if topo is None else CPUTopology(
            int(topo.get("sockets")), _int(topo.get("dies")), int(topo.get("cores")),
            int(topo.get("threads"))),
        maxphysaddr=None if maxphys is None else (maxphys.get("mode"),
                                                  int(maxphys.get("bits"))),
        features=[f.get("name") for f in cpu.findall("feature")],
        pages_kib=[int(p.get("size")) for p in cpu.findall("pages")],
    )
    power = host.find("power_management")
    iommu = host.find("iommu")
    migration = host.find("migration_features")
    cells = host.find("topology/cells")
    return HostCaps(
        cpu=host_cpu, uuid=host.findtext("uuid"),
        power_management=None if power is None else [p.tag for p in power
                                                     if isinstance(p.tag, str)],
        iommu=None if iommu is None else iommu.get("support") == "yes",
        migration=None if migration is None else MigrationFeatures(
            live=migration.find("live") is not None,
            uri_transports=[t.text or "" for t in migration.findall(
                "uri_transports/uri_transport")]),
        cells=None if cells is None else [_parse_cell(c) for c in cells.findall("cell")],
        secmodels=[SecModel(s.findtext("model", ""), s.findtext("doi") or "",
                            [(b.get("type"), b.text or "") for b in s.findall("baselabel")])
                   for s in host.findall("secmodel")],
    )


def _parse_cell(cell: etree._Element) -> NumaCell:
    return NumaCell(
        id=int(cell.get("id")), memory_kib=int(cell.findtext("memory", "0")),
        pages=[(int(p.get("size")), int(p.text or 0)) for p in cell.findall("pages")],
        distances=[(int(s.get("id")), int(s.get("value")))
                   for s in cell.findall("distances/sibling")],
        cpus=[NumaCPU(int(c.get("id")), _int(c.get("socket_id")), _int(c.get("die_id")),
                      _int(c.get("core_id")), c.get("siblings"))
              for c in cell.findall("cpus/cpu")],
    )


def _parse_machine(node: etree._Element) -> GuestMachine:
    return GuestMachine(node.text or "", node.get("canonical"), _int(node.get("maxCpus")),
                        _yes(node.get("deprecated")))


def _parse_guest(guest: etree._Element) -> GuestCaps:
    arch = guest.find("arch")
    features = guest.find("features")
    return GuestCaps(
        os_type=guest.findtext("os_type", ""), arch=arch.get("name", ""),
        wordsize=int(arch.findtext("wordsize", "0")), emulator=arch.findtext("emulator"),
        loader=arch.findtext("loader"),
        machines=[_parse_machine(m) for m in arch.findall("machine")],
        domains=[GuestDomain(d.get("type", ""), d.findtext("emulator"),
                             [_parse_machine(m) for m in d.findall("machine")])
                 for d in arch.findall("domain")],
        features=[] if features is None else [
            GuestFeature(f.tag, _yes(f.get("default"), "on"), _yes(f.get("toggle")))
            for f in features if isinstance(f.tag, str)],
    )


# ================================================================================
# test:///default
# ================================================================================
def test_driver_host_cells() -> list[NumaCell]:
    """The test driver's two NUMA cells: 8 CPUs each, 2 GiB and 4 GiB."""
    cells = []
    for cell_id, memory, page in ((0, 2097152, 4), (1, 4194304, 8)):
        cpus = [NumaCPU(id=n, socket_id=cell_id, die_id=0, core_id=n - 8 * cell_id,
                        siblings=str(n)) for n in range(8 * cell_id, 8 * cell_id + 8)]
        pages = [(page, memory // page), (2048, 0), (1048576, 0)]
        cells.append(NumaCell(id=cell_id, memory_kib=memory, pages=pages, cpus=cpus))
    return cells


def test_driver_capabilities_model(custom_file: bool = False) -> Capabilities:
    """The model behind :func:`test_driver_capabilities` (for drivers to adjust).

    A driver opened on a custom file (``test:///path/node.xml``) reports no NUMA
    cells (``<cells num='0'>``), whatever the file says.
    """
    host = HostCaps(
        cpu=HostCPU(arch="i686", host_features=["pae", "nonpae"],
                    pages_kib=[4, 8, 2048, 1048576]),
        power_management=[], iommu=False,
        cells=[] if custom_file else test_driver_host_cells(),
        secmodels=[SecModel(model="testSecurity", doi="")],
    )
    guests = [GuestCaps(os_type=os_type, arch="i686", wordsize=32,
                        emulator="/usr/bin/test-hv", domains=[GuestDomain("test")],
                        features=[GuestFeature("pae"), GuestFeature("nonpae")])
              for os_type in ("hvm", "xen")]
    return Capabilities(host=host, guests=guests)


def test_driver_capabilities(custom_file: bool = False) -> str:
    """Exactly what ``virsh -c test:///default capabilities`` prints (getCapabilities());
    ``custom_file`` for a driver opened on its own file."""
    return test_driver_capabilities_model(custom_file).to_xml()


# Keep pytest from collecting the two helpers above when a test module imports them.
test_driver_capabilities.__test__ = False  # type: ignore[attr-defined]
test_driver_capabilities_model.__test__ = False  # type: ignore[attr-defined]
test_driver_host_cells.__test__ = False  # type: ignore[attr-defined]

__all__ = ["Capabilities", "HostCaps", "HostCPU", "CPUTopology", "NumaCell", "NumaCPU",
           "SecModel", "MigrationFeatures", "GuestCaps", "GuestDomain", "GuestMachine",
           "GuestFeature", "test_driver_capabilities", "test_driver_capabilities_model"]

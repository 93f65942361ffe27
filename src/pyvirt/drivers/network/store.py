"""The network driver's files: persistent definitions, autostart links, live status.

==============================  ==========================================
``CONFIG/NAME.xml``             persistent definition (``net-dumpxml --inactive``)
``CONFIG/autostart/NAME.xml``   symlink to ``../NAME.xml`` when autostarted
``RUN/NAME.xml``                ``<networkstatus>``: runtime facts + live ``<network>``
``RUN/NAME.{conf,pid,...}``     dnsmasq's files (see ``pyvirt.network.dnsmasq``)
==============================  ==========================================

Every file is replaced atomically (temp file, fsync, rename, fsync of the dir).
:func:`format_status` / :func:`parse_status` convert a :class:`StatusRecord`
to and from its XML without I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from pyvirt.conf.xmlbuilder import format_element, parse_xml
from pyvirt.atomicfile import write_atomic as _write_atomic

log = logging.getLogger(__name__)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: old or new after a crash, never half."""
    _write_atomic(path, text)


@dataclass(frozen=True)
class NetworkDirs:
    config: Path
    run: Path

    @property
    def autostart(self) -> Path:
        return self.config / "autostart"

    def config_file(self, name: str) -> Path:
        return self.config / f"{name}.xml"

    def autostart_link(self, name: str) -> Path:
        return self.autostart / f"{name}.xml"

    def status_file(self, name: str) -> Path:
        return self.run / f"{name}.xml"

    def ensure(self) -> None:
        self.config.mkdir(parents=True, exist_ok=True)
        self.run.mkdir(parents=True, exist_ok=True)

    # --- persistent definitions -------------------------------------------------------
    def save_config(self, name: str, xml: str) -> None:
        write_atomic(self.config_file(name), xml)

    def delete_config(self, name: str) -> None:
        self.config_file(name).unlink(missing_ok=True)
        self.autostart_link(name).unlink(missing_ok=True)

    def configs(self) -> list[tuple[str, str]]:
        """(file name stem, XML) of every persistent definition."""
        found = []
        for path in sorted(self.config.glob("*.xml")):
            try:
                found.append((path.stem, path.read_text()))
            except OSError as err:
                log.warning("cannot read network config %s: %s", path, err)
        return found

    def set_autostart(self, name: str, enabled: bool) -> None:
        link = self.autostart_link(name)
        if enabled:
            self.autostart.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(Path("..") / f"{name}.xml")
        else:
            link.unlink(missing_ok=True)

    def is_autostart(self, name: str) -> bool:
        return self.autostart_link(name).is_symlink()

    # --- live status ------------------------------------------------------------------
    def save_status(self, record: "StatusRecord") -> None:
        write_atomic(self.status_file(record.name), format_status(record))

    def delete_status(self, name: str) -> None:
        self.status_file(name).unlink(missing_ok=True)

    def statuses(self) -> list["StatusRecord"]:
        found = []
        for path in sorted(self.run.glob("*.xml")):
            try:
                found.append(parse_status(path.read_text()))
            except Exception as err:  # noqa: BLE001 - a broken file is stale state
                log.warning("ignoring unreadable network status %s: %s", path, err)
        return found


@dataclass
class StatusRecord:
    """What survives a driver restart about a running network."""

    name: str
    network_xml: str                    # the live definition
    bridge: str | None = None
    chains: tuple[str, ...] = ()        # our nft chains
    forwarding: tuple[str, ...] = ()    # families this network needs forwarded
    dnsmasq: bool = False               # whether it runs a dnsmasq
    ports: dict[str, str] = field(default_factory=dict)   # tap -> guest MAC
    #: tap -> (class id, floor) of guest NICs with a guaranteed floor on the bridge
    floors: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Written before the host is touched: a crash half-way leaves a record that
    #: the next load treats as stale and cleans up.
    starting: bool = False


def format_status(record: StatusRecord) -> str:
    root = etree.Element("networkstatus")
    run = etree.SubElement(root, "runtime")
    if record.bridge:
        run.set("bridge", record.bridge)
    if record.chains:
        run.set("chains", " ".join(record.chains))
    if record.forwarding:
        run.set("forwarding", " ".join(record.forwarding))
    run.set("dnsmasq", "yes" if record.dnsmasq else "no")
    if record.starting:
        run.set("starting", "yes")
    for tap, mac in sorted(record.ports.items()):
        port = etree.SubElement(root, "port", tap=tap, mac=mac)
        if tap in record.floors:
            port.set("class", str(record.floors[tap][0]))
            port.set("floor", str(record.floors[tap][1]))
    root.append(parse_xml(record.network_xml, "(network_status)"))
    return format_element(root)


def parse_status(text: str) -> StatusRecord:
    root = parse_xml(text, "(network_status)")
    run = root.find("runtime")
    net = root.find("network")
    if run is None or net is None:
        raise ValueError("not a network status document")
    return StatusRecord(
        name=(net.findtext("name") or "").strip(),
        network_xml=format_element(net),
        bridge=run.get("bridge"),
        chains=tuple((run.get("chains") or "").split()),
        forwarding=tuple((run.get("forwarding") or "").split()),
        dnsmasq=run.get("dnsmasq") == "yes",
        ports={p.get("tap"): p.get("mac") for p in root.findall("port")},
        floors={p.get("tap"): (int(p.get("class")), int(p.get("floor", "0")))
                for p in root.findall("port") if p.get("class")},
        starting=run.get("starting") == "yes",
    )

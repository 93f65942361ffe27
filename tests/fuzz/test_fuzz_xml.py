"""Fuzzing the XML parsers: mutated seed documents and raw bytes through the
public parse entry points (parse, check, format again) and through
``virConnect.defineXML`` and friends on ``test:///default``.

The only acceptable outcomes are success or a ``libvirtError``.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

import pyvirt as libvirt
from pyvirt.conf.capabilities import Capabilities
from pyvirt.conf.devices import parse_device
from pyvirt.conf.domain import DomainDef
from pyvirt.conf.network import NetworkDef
from pyvirt.conf.snapshot import DomainSnapshotDef
from pyvirt.conf.storage import StoragePoolDef, StorageVolDef
from pyvirt.errors import libvirtError

from .conftest import budget_seconds, run_target
from .mutators import documents, seeds


def _domain(doc: Any) -> None:
    DomainDef.from_xml(doc).to_xml()


def _device(doc: Any) -> None:
    parse_device(doc)


def _network(doc: Any) -> None:
    NetworkDef.from_xml(doc).to_xml()


def _pool(doc: Any) -> None:
    StoragePoolDef.from_xml(doc).to_xml()


def _volume(doc: Any) -> None:
    StorageVolDef.from_xml(doc).to_xml()


def _snapshot(doc: Any) -> None:
    DomainSnapshotDef.from_xml(doc).to_xml()


def _capabilities(doc: Any) -> None:
    Capabilities.from_xml(doc).to_xml()


PARSERS: dict[str, tuple[Callable[[Any], None], tuple[str, ...]]] = {
    "xml-domain": (_domain, ("domain/*.xml", "domain/errors/*.xml")),
    "xml-device": (_device, ("domain/full-vm.xml",)),
    "xml-network": (_network, ("network/*-in.xml",)),
    "xml-pool": (_pool, ("storage/pool-*-in.xml",)),
    "xml-volume": (_volume, ("storage/vol-*-in.xml",)),
    "xml-snapshot": (_snapshot, ("snapshot/*.xml", "snapshot/redefine/*.xml")),
    "xml-capabilities": (_capabilities, ("capabilities/*.xml",)),
}


@pytest.mark.parametrize("target", sorted(PARSERS))
def test_parser_answers_libvirt_errors_only(target: str) -> None:
    parse, patterns = PARSERS[target]
    stats = run_target(target, documents(seeds(*patterns)), parse, (libvirtError,))
    assert stats.inputs > 0 and stats.crashes == 0 and stats.hangs == 0


@pytest.fixture
def conn():
    conn = libvirt.open("test:///default")
    yield conn
    conn.close()


def _text(doc: Any) -> str:
    return doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc


def test_define_entry_points_answer_libvirt_errors_only(conn) -> None:
    """defineXML / networkDefineXML / storagePoolDefineXML / createXML (volume) /
    snapshotCreateXML with hostile documents; what gets defined is undefined again."""
    dom = conn.lookupByName("test")
    pool = conn.storagePoolLookupByName("default-pool")

    def define_domain(doc: Any) -> None:
        defined = conn.defineXML(_text(doc))
        if defined.name() != "test":
            defined.undefine()

    def define_network(doc: Any) -> None:
        defined = conn.networkDefineXML(_text(doc))
        if defined.name() != "default":
            defined.undefine()

    def define_pool(doc: Any) -> None:
        defined = conn.storagePoolDefineXML(_text(doc))
        if defined.name() != "default-pool":
            defined.undefine()

    def create_volume(doc: Any) -> None:
        pool.createXML(_text(doc)).delete()

    def create_snapshot(doc: Any) -> None:
        dom.snapshotCreateXML(_text(doc)).delete()

    entry_points = [("domain/*.xml", define_domain), ("network/*-in.xml", define_network),
                    ("storage/pool-*-in.xml", define_pool),
                    ("storage/vol-*-in.xml", create_volume), ("snapshot/*.xml", create_snapshot)]
    share = 1 / len(entry_points)
    for patterns, entry in entry_points:
        stats = run_target("xml-define", documents(seeds(patterns)), entry, (libvirtError,),
                           seconds=budget_seconds() * share)
    assert stats.inputs > 0 and stats.crashes == 0 and stats.hangs == 0
    assert conn.lookupByName("test").name() == "test"

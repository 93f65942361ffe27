"""DomainSnapshotDef against `virsh snapshot-create` / `snapshot-dumpxml` output."""

from __future__ import annotations

import pathlib
import re

import pytest

from pyvirt.conf.domain import DomainDef
from pyvirt.conf.snapshot import DomainSnapshotDef
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR,
    VIR_FROM_DOMAIN_SNAPSHOT, VIR_FROM_XML, libvirtError,
)

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "conf" / "snapshot"
INPUTS = sorted(p for p in DATA.glob("*.xml") if not p.name.endswith(".out.xml"))


def golden_facts(text: str) -> tuple[int, DomainDef]:
    """The creation time and the domain the real libvirt used."""
    golden = DomainSnapshotDef.from_xml(text)
    return golden.creation_time, golden.domain.copy()


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
def test_snapshot_matches_libvirt(path: pathlib.Path) -> None:
    want = path.with_suffix(".out.xml").read_text()
    now, domain = golden_facts(want)
    snap = DomainSnapshotDef.from_xml(path.read_text())
    parent = "base" if path.stem.startswith("child") else None
    snap.normalize(now, domain=domain, state="running", parent=parent)
    assert snap.to_xml() == want


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
def test_snapshot_golden_round_trips(path: pathlib.Path) -> None:
    want = path.with_suffix(".out.xml").read_text()
    snap = DomainSnapshotDef.from_xml(want)
    assert snap.to_xml() == want
    assert snap.unknown_parts() == []


def test_fields() -> None:
    snap = DomainSnapshotDef.from_xml((DATA / "named.out.xml").read_text())
    assert (snap.name, snap.description, snap.state) == ("s1", "before the upgrade", "running")
    assert snap.memory_snapshot == "internal" and snap.parent_name is None
    assert [(d.name, d.snapshot) for d in snap.disks] == [("vda", "internal")]
    assert snap.domain.name == "test" and snap.domain.memory_kib == 8388608


def test_unnamed_takes_the_time_and_parent_is_set() -> None:
    snap = DomainSnapshotDef.from_xml("<domainsnapshot/>")
    snap.normalize(1700000000, state="shutoff", parent="s0")
    text = snap.to_xml()
    assert snap.name == "1700000000" and snap.memory_snapshot == "no"
    assert text == ("<domainsnapshot>\n  <name>1700000000</name>\n  <state>shutoff</state>\n"
                    "  <parent>\n    <name>s0</name>\n  </parent>\n"
                    "  <creationTime>1700000000</creationTime>\n"
                    "  <memory snapshot='no'/>\n</domainsnapshot>\n")


def test_alter_description() -> None:
    want = (DATA / "named.out.xml").read_text()
    snap = DomainSnapshotDef.from_xml(want)
    snap.description = "after"
    assert snap.to_xml() == want.replace("before the upgrade", "after")


def test_embedded_domain_loses_runtime_id_and_passwords_on_request() -> None:
    dom = DomainDef.from_xml((DATA.parent / "domain" / "full-vm.xml").read_text())
    snap = DomainSnapshotDef.from_xml("<domainsnapshot><name>a</name></domainsnapshot>")
    snap.normalize(5, domain=dom, state="running")
    assert [d.name for d in snap.disks] == ["vda", "vdb", "vdc", "vdd", "sda"]
    assert " id='7'" not in snap.to_xml()
    assert "passwd" in snap.to_xml() and "passwd" not in snap.to_xml(secure=False)


@pytest.mark.parametrize("text, code, domain, message", [
    ("<domainsnapshot><name>a</name>", VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN_SNAPSHOT,
     "(domain_snapshot):1: Premature end of data in tag domainsnapshot line 1\n"
     "<domainsnapshot><name>a</name>\n------------------------------^"),
    ("<domain/>", VIR_ERR_XML_ERROR, VIR_FROM_XML,
     "XML error: expecting root element of 'domainsnapshot', not 'domain'"),
    ('<domainsnapshot><name>a</name><memory snapshot="foo"/></domainsnapshot>',
     VIR_ERR_XML_ERROR, VIR_FROM_XML,
     "XML error: Invalid value for attribute 'snapshot' in element 'memory': 'foo'."),
    ('<domainsnapshot><name>c</name><disks><disk name="vda" snapshot="foo"/></disks>'
     '</domainsnapshot>', VIR_ERR_XML_ERROR, VIR_FROM_XML,
     "XML error: Invalid value for attribute 'snapshot' in element 'disk': 'foo'."),
    ('<domainsnapshot><name>f</name><disks><disk snapshot="internal"/></disks>'
     '</domainsnapshot>', VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN_SNAPSHOT,
     "internal error: missing name from disk snapshot element"),
])
def test_parse_errors(text, code, domain, message) -> None:
    # codes and messages as the real libvirt 9.0 answers snapshotCreateXML
    with pytest.raises(libvirtError) as err:
        DomainSnapshotDef.from_xml(text)
    assert (err.value.get_error_code(), err.value.get_error_domain(),
            err.value.get_error_message()) == (code, domain, message)


def test_unknown_disk_is_refused_when_aligning() -> None:
    _now, domain = golden_facts((DATA / "named.out.xml").read_text())
    snap = DomainSnapshotDef.from_xml(
        '<domainsnapshot><name>b</name><disks><disk name="vdz" snapshot="internal"/>'
        '</disks></domainsnapshot>')
    with pytest.raises(libvirtError) as err:
        snap.normalize(1, domain=domain, state="running")
    assert err.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert err.value.get_error_message() == "unsupported configuration: no disk named 'vdz'"


def test_no_clock_read_inside_conf() -> None:
    source = (pathlib.Path(__file__).resolve().parents[2] / "src" / "pyvirt" / "conf"
              / "snapshot.py").read_text()
    assert not re.search(r"\btime\.(time|monotonic)", source)


def test_redefined_snapshot_keeps_everything() -> None:
    text = (DATA / "redefine" / "external-memory.xml").read_text()
    snap = DomainSnapshotDef.from_xml(text)
    assert snap.to_xml() == text and snap.unknown_parts() == []
    assert (snap.parent_name, snap.memory_snapshot, snap.memory_file) == (
        "base", "external", "/var/lib/libvirt/qemu/snapshot/ext.mem")
    disk = snap.disks[0]
    assert (disk.name, disk.snapshot, disk.type, disk.driver_type, disk.source_file) == (
        "vda", "external", "file", "qcow2", "/var/lib/libvirt/images/vda.ext")
    assert snap.domain is None and snap.creation_time == 1700000000

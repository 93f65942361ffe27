"""Pool capabilities laid out as real libvirt 9.0 prints them (golden file from
``virsh pool-capabilities`` against a libvirtd on this machine kind)."""

from __future__ import annotations

import re
from pathlib import Path

from pyvirt.drivers.storage.capabilities import SUPPORTED, pool_capabilities_xml
from pyvirt.drivers.storage.driver import StorageDriver

GOLDEN = Path(__file__).parent / "data" / "pool-capabilities-libvirt9.xml"


def test_same_document_as_libvirt_when_the_same_types_are_supported() -> None:
    real = GOLDEN.read_text()
    theirs = tuple(re.findall(r"<pool type='([^']+)' supported='yes'>", real))
    assert pool_capabilities_xml(theirs) == real


def test_we_claim_only_our_backends() -> None:
    ours = pool_capabilities_xml()
    assert re.findall(r"<pool type='([^']+)' supported='yes'>", ours) == list(SUPPORTED)
    assert StorageDriver.connect_get_storage_pool_capabilities(None, 0) == ours  # type: ignore

"""One regression test per bug the fuzzers found (the shrunk input, kept)."""

from __future__ import annotations

import pytest

import pyvirt as libvirt
from pyvirt.conf.capabilities import Capabilities
from pyvirt.errors import VIR_ERR_XML_ERROR, libvirtError


@pytest.mark.parametrize("doc", [
    # a <pages size> that is not a number
    "<capabilities><host><cpu><arch>i686</arch><pages unit='KiB' size='204]'/></cpu>"
    "</host></capabilities>",
    # a <guest> without <arch>
    "<capabilities><host><cpu><arch>x86_64</arch></cpu></host>"
    "<guest><os_type>hvm</os_type></guest></capabilities>",
])
def test_malformed_capabilities_is_an_xml_error(doc: str) -> None:
    with pytest.raises(libvirtError) as caught:
        Capabilities.from_xml(doc)
    assert caught.value.get_error_code() == VIR_ERR_XML_ERROR
    assert "malformed capabilities" in caught.value.get_error_message()


def test_snapshot_with_malformed_creation_time_is_created() -> None:
    conn = libvirt.open("test:///default")
    try:
        dom = conn.lookupByName("test")
        snap = dom.snapshotCreateXML("<domainsnapshot><name>ct</name>"
                                     "<creationTime>'\"&lt;</creationTime></domainsnapshot>")
        assert snap.getName() == "ct"
        snap.delete()
    finally:
        conn.close()


def _dispatch(number: int, value: dict) -> bytes:
    from pyvirt.daemon.server import load_drivers
    from pyvirt.remote.dispatch import Dispatcher
    from pyvirt.remote.protocol import TABLE
    from pyvirt.remote.session import Session
    load_drivers()
    dispatcher, session = Dispatcher(), Session()
    dispatcher.dispatch(session, 1, TABLE.procedures[1].args.encode(
        {"name": "test:///default", "flags": 0}))
    try:
        return dispatcher.dispatch(session, number, TABLE.procedures[number].args.encode(value))
    finally:
        session.close()


_TEST_DOM = {"name": "test", "uuid": bytes.fromhex("6695eb01f6a4830479aa97f2502e193f"), "id": 1}


@pytest.mark.parametrize("number, value", [
    # GET_VCPUS; maxinfo = maplen = 2**31 - 1 makes the daemon zero-fill 2 GiB per
    # vCPU (and then fail with MemoryError): too slow to keep as a test
    (20, {"dom": _TEST_DOM, "maxinfo": 1, "maplen": -1}),
    (230, {"dom": _TEST_DOM, "ncpumaps": 1, "maplen": -1, "flags": 0}),      # PIN_INFO
    (230, {"dom": _TEST_DOM, "ncpumaps": -5, "maplen": 128, "flags": 0}),
])
def test_vcpu_map_sizes_are_checked_before_allocating(number: int, value: dict) -> None:
    with pytest.raises(libvirtError):
        _dispatch(number, value)

"""format_domain's copy-free path prints what formatting an edited copy prints."""

from __future__ import annotations

import pytest

from pyvirt.drivers.test import defaults, domxml

WITH_SECRET = """<domain type='test'><name>gfx</name>
<memory unit='MiB'>64</memory><os><type>hvm</type></os>
<devices><graphics type='vnc' port='5900' passwd='s3cret'/></devices></domain>"""

WITH_NAMESPACE = """<domain type='test' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
<name>ns</name><memory>65536</memory><os><type>hvm</type></os>
<qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>"""


def _normalized(xml: str):
    return domxml.normalize(domxml.parse_domain(xml))


@pytest.mark.parametrize("xml", [defaults.DEFAULT_DOMAIN_XML, WITH_SECRET, WITH_NAMESPACE])
@pytest.mark.parametrize("dom_id", [-1, 1, 42])
@pytest.mark.parametrize("secure", [True, False])
def test_format_domain_matches_formatting_a_copy(xml: str, dom_id: int, secure: bool) -> None:
    ddef = _normalized(xml)
    before = domxml._format_copy(ddef, -1, True)
    text = domxml.format_domain(ddef, dom_id, secure=secure)
    assert text == domxml._format_copy(ddef, dom_id, secure)
    assert (f" id='{dom_id}'" in text.splitlines()[0]) == (dom_id > 0)
    assert domxml._format_copy(ddef, -1, True) == before   # the definition is untouched


def test_secret_left_out_without_secure_flag() -> None:
    ddef = _normalized(WITH_SECRET)
    assert "passwd='s3cret'" in domxml.format_domain(ddef, secure=True)
    assert "passwd" not in domxml.format_domain(ddef, secure=False)

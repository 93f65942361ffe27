"""define/undefine through the driver table: the uuid a definition ends up with,
the name and raw uuid the driver files it under, and libvirt's answers for odd
<uuid> elements (checked against the real libvirt 9.0: virsh define)."""

import re
import uuid

import pytest

from pyvirt.drivers.test import domxml
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, libvirtError

DOC = ("<domain type='test'><name>{name}</name>{uuid}<!-- kept --><memory>1024</memory>"
       "<os><type>hvm</type></os></domain>")


def define(hv, name, uuid_xml=""):
    return hv.domain_define_xml_flags(DOC.format(name=name, uuid=uuid_xml))


def test_given_uuid_is_stored_canonical(hv):
    ref = define(hv, "upper", "<uuid>0123456789ABCDEF0123456789ABCDEF</uuid>")
    assert ref.uuid == bytes.fromhex("0123456789abcdef0123456789abcdef")
    xml = hv.domain_get_xml_desc(ref)
    assert "<uuid>01234567-89ab-cdef-0123-456789abcdef</uuid>" in xml


@pytest.mark.parametrize("uuid_xml", ["", "<uuid/>", "<uuid></uuid>"])
def test_missing_or_empty_uuid_is_generated(hv, uuid_xml):
    ref = define(hv, "gen", uuid_xml)
    xml = hv.domain_get_xml_desc(ref)
    found = re.findall(r"<uuid>([0-9a-f-]{36})</uuid>", xml)
    assert len(found) == 1
    assert uuid.UUID(found[0]).bytes == ref.uuid
    assert xml.index("<name>gen</name>") < xml.index("<uuid>") < xml.index("<!-- kept -->")


def test_blank_uuid_is_refused_as_libvirt_does(hv):
    with pytest.raises(libvirtError) as info:
        define(hv, "blank", "<uuid> </uuid>")
    assert info.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert info.value.get_error_domain() == VIR_FROM_DOMAIN
    assert str(info.value) == "internal error: malformed uuid element"


def test_name_and_uuid_of_a_parsed_definition():
    ddef = domxml.parse_domain(DOC.format(
        name=" spaced ", uuid="<uuid> 0123456789abcdef-0123456789abcdef </uuid>"))
    assert domxml.name_of(ddef) == "spaced"
    assert domxml.uuid_of(ddef) == bytes.fromhex("0123456789abcdef0123456789abcdef")


def test_define_undefine_many_leaves_no_trace(hv):
    before = hv.connect_list_defined_domains()
    for i in range(50):
        hv.domain_undefine_flags(define(hv, f"d{i}"), 0)
    assert hv.connect_list_defined_domains() == before


def test_new_uuid_is_a_canonical_version_4_uuid():
    seen = set()
    for _ in range(200):
        text = domxml.new_uuid()
        value = uuid.UUID(text)
        assert str(value) == text
        assert value.version == 4 and value.variant == uuid.RFC_4122
        seen.add(text)
    assert len(seen) == 200

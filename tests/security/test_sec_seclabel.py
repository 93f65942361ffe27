"""<seclabel> parsing for the DAC model."""

import pytest
from lxml import etree

from pyvirt.conf.domain import DomainDef
from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG, libvirtError
from pyvirt.security.seclabel import (
    DacSeclabel, Owner, dac_seclabel, parse_owner, set_live_label, source_relabel,
)


def dom(inner: str = "") -> etree._Element:
    return etree.fromstring(f"<domain type='qemu'><name>a</name>{inner}</domain>")


def test_default_is_dynamic_with_relabel():
    assert dac_seclabel(dom()) == DacSeclabel(type="dynamic", relabel=True, label=None)


def test_static_label_numbers():
    label = dac_seclabel(dom("<seclabel type='static' model='dac' relabel='yes'>"
                             "<label>+107:+108</label></seclabel>"))
    assert label.type == "static" and label.relabel and label.label == Owner(107, 108)


def test_relabel_no_and_none():
    off = dac_seclabel(dom("<seclabel type='static' model='dac' relabel='no'>"
                           "<label>+5:+5</label></seclabel>"))
    assert off.relabel is False
    none = dac_seclabel(dom("<seclabel type='none'/>"))
    assert none.confined is False


def test_other_models_ignored():
    label = dac_seclabel(dom("<seclabel type='dynamic' model='selinux'/>"))
    assert label == DacSeclabel()


def test_dynamic_without_relabel_refused():
    with pytest.raises(libvirtError) as info:
        dac_seclabel(dom("<seclabel type='dynamic' model='dac' relabel='no'/>"))
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED


def test_parse_owner_names_and_errors():
    assert parse_owner("root:root") == Owner(0, 0)
    assert parse_owner("+1000:+100") == Owner(1000, 100)
    for bad in ("1000", ":1", "+x:+1", "no-such-user-zz:root"):
        with pytest.raises(libvirtError) as info:
            parse_owner(bad)
        assert info.value.get_error_code() == VIR_ERR_INVALID_ARG


def test_source_relabel_off():
    src = etree.fromstring("<source file='/x'><seclabel model='dac' relabel='no'/></source>")
    assert source_relabel(src) is False
    assert source_relabel(etree.fromstring("<source file='/x'/>")) is True
    assert source_relabel(None) is True


def test_set_live_label_on_domain_def():
    d = DomainDef.from_xml("<domain type='qemu'><name>a</name><memory>1024</memory>"
                           "<os><type>hvm</type></os></domain>")
    set_live_label(d, Owner(107, 107))
    el = d.node.find("seclabel")
    assert el.get("model") == "dac" and el.get("type") == "dynamic"
    assert el.findtext("label") == "+107:+107" and el.findtext("imagelabel") == "+107:+107"
    set_live_label(d, Owner(108, 108))          # a second start replaces, never stacks
    assert [e.text for e in d.node.iter("label")] == ["+108:+108"]


def test_security_model_and_label():
    from pyvirt.security.seclabel import security_label, security_model

    assert security_model() == ["dac", "0"]
    live = dom("<seclabel type='dynamic' model='dac' relabel='yes'><label>+107:+107</label>"
               "</seclabel>")
    assert security_label(live, True) == ["+107:+107", True]
    assert security_label(live, False) == ["", False]
    assert security_label(dom("<seclabel type='none'/>"), True) == ["", False]

"""--xpath / --wrap selection, as virsh prints it."""

from __future__ import annotations

from pyvirt.cli.xpath import select


def test_xpath_selects_and_reindents():
    xml = "<domain>\n      <name>vm</name>\n  <disk type='file'>\n <a/></disk></domain>\n"
    assert select(xml, "/domain/name", False) == "<name>vm</name>\n"
    assert select(xml, "//disk/@type", False) == ' type="file"\n'
    assert select(xml, "//disk", False) == '<disk type="file">\n  <a/>\n</disk>\n'
    assert select(xml, "/domain/name", True) == "<nodes>\n  <name>vm</name>\n</nodes>\n"
    assert select(xml, None, True) == xml

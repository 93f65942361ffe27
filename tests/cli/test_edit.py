"""``edit``: editor run, unchanged detection, the re-edit prompt (fake binding)."""

from __future__ import annotations

import io
import types

from pyvirt.cli import commands  # noqa: F401 - registers the commands
from pyvirt.cli.ctl import Ctl
from pyvirt.cli.shell import run_line


class FakeError(Exception):
    def get_error_message(self) -> str:
        return str(self)


class FakeDomain:
    def __init__(self) -> None:
        self.xml = "<domain><name>vm</name></domain>\n"

    def name(self) -> str:
        return "vm"

    def XMLDesc(self, flags: int) -> str:
        return self.xml


class FakeConn:
    def __init__(self, failures: int) -> None:
        self.dom = FakeDomain()
        self.failures = failures
        self.defined: list[tuple[str, int]] = []

    def lookupByName(self, name: str) -> FakeDomain:
        if name != "vm":
            raise FakeError("no domain")
        return self.dom

    def defineXMLFlags(self, xml: str, flags: int) -> FakeDomain:
        self.defined.append((xml, flags))
        if self.failures:
            self.failures -= 1
            raise FakeError("XML error: bad")
        return self.dom


def _ctl(conn: FakeConn) -> Ctl:
    lv = types.SimpleNamespace(libvirtError=FakeError, VIR_DOMAIN_XML_SECURE=1,
                               VIR_DOMAIN_XML_INACTIVE=2, VIR_DOMAIN_DEFINE_VALIDATE=1)
    return Ctl(lv, conn=conn, out=io.StringIO(), err=io.StringIO())


def test_unchanged_xml_is_reported(monkeypatch):
    monkeypatch.setenv("EDITOR", "true")
    monkeypatch.delenv("VISUAL", raising=False)
    ctl = _ctl(FakeConn(0))
    assert run_line(ctl, "edit vm") is True
    assert ctl.out.getvalue() == "Domain 'vm' XML configuration not changed.\n\n"


def test_edited_xml_is_defined_with_validation(monkeypatch, tmp_path):
    script = tmp_path / "ed.sh"
    script.write_text("#!/bin/sh\nsed -i 's/vm/vm2/' \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    conn = FakeConn(0)
    ctl = _ctl(conn)
    assert run_line(ctl, "edit vm") is True
    assert conn.defined == [("<domain><name>vm2</name></domain>\n", 1)]
    assert ctl.out.getvalue() == "Domain 'vm' XML configuration edited.\n\n"


def test_failed_define_asks_and_i_turns_validation_off(monkeypatch, tmp_path):
    script = tmp_path / "ed.sh"
    script.write_text("#!/bin/sh\nsed -i 's/vm/vm2/' \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    monkeypatch.setattr("sys.stdin", io.StringIO("?\ni\n"))
    conn = FakeConn(1)
    ctl = _ctl(conn)
    assert run_line(ctl, "edit vm") is True
    assert [flags for _, flags in conn.defined] == [1, 0]
    assert ctl.err.getvalue() == "error: XML error: bad\n"
    out = ctl.out.getvalue()
    assert out.count("Failed. Try again? [y,n,i,f,?]: ") == 2
    assert "i - turn off validation and try to redefine again\n" in out


def test_failed_define_then_no_fails_the_command(monkeypatch, tmp_path):
    script = tmp_path / "ed.sh"
    script.write_text("#!/bin/sh\nsed -i 's/vm/vm2/' \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    ctl = _ctl(FakeConn(5))
    assert run_line(ctl, "edit vm") is False

"""The driver's files: atomic writes, autostart links, status round trip."""

from __future__ import annotations

from pyvirt.drivers.network.store import NetworkDirs, StatusRecord, format_status, parse_status

LIVE = "<network>\n  <name>n1</name>\n  <bridge name='virbr0'/>\n</network>\n"


def test_status_round_trip():
    record = StatusRecord(name="n1", network_xml=LIVE, bridge="virbr0",
                          chains=("fwd_virbr0", "nat_virbr0"), forwarding=("ipv4",),
                          dnsmasq=True, ports={"vnet0": "52:54:00:aa:bb:cc"})
    text = format_status(record)
    assert text.startswith("<networkstatus>\n  <runtime bridge='virbr0' "
                           "chains='fwd_virbr0 nat_virbr0' forwarding='ipv4' dnsmasq='yes'/>\n"
                           "  <port tap='vnet0' mac='52:54:00:aa:bb:cc'/>\n  <network>")
    back = parse_status(text)
    assert back == record


def test_config_autostart_and_status_files(tmp_path):
    dirs = NetworkDirs(tmp_path / "etc", tmp_path / "run")
    dirs.ensure()
    dirs.save_config("n1", LIVE)
    dirs.set_autostart("n1", True)
    assert dirs.is_autostart("n1")
    assert (tmp_path / "etc/autostart/n1.xml").resolve() == (tmp_path / "etc/n1.xml").resolve()
    assert dirs.configs() == [("n1", LIVE)]
    dirs.save_status(StatusRecord(name="n1", network_xml=LIVE, bridge="virbr0"))
    (tmp_path / "run/broken.xml").write_text("<nonsense/>")
    assert [s.name for s in dirs.statuses()] == ["n1"]
    dirs.delete_config("n1")
    assert not dirs.is_autostart("n1") and dirs.configs() == []
    assert not list((tmp_path / "etc").glob(".*"))          # no temp files left

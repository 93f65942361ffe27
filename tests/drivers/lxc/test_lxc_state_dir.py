"""Where the LXC driver keeps its files; the status document round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.drivers.lxc import state_dir
from pyvirt.errors import libvirtError

DOMAIN = "<domain type='lxc' id='3'><name>ct</name><uuid>00000000-0000-0000-0000-000000000001</uuid></domain>"


def test_dirs_for_uris(tmp_path, monkeypatch):
    monkeypatch.delenv(state_dir.SYSTEM_ROOT_ENV, raising=False)
    embed = state_dir.dirs_for_uri("/embed", str(tmp_path))
    assert embed.config == tmp_path / "etc" / "lxc"
    assert embed.run == tmp_path / "run" / "lxc"
    assert len(embed.key) == 8
    system = state_dir.dirs_for_uri("/", None)
    assert system.config == Path("/etc/pyvirt/lxc") and system.run == Path("/run/pyvirt/lxc")
    assert state_dir.dirs_for_uri("/system", None) == system
    with pytest.raises(libvirtError, match="Missing URI parameter 'root'"):
        state_dir.dirs_for_uri("/embed", None)
    with pytest.raises(libvirtError, match="must be an absolute path"):
        state_dir.dirs_for_uri("/embed", "relative/dir")
    with pytest.raises(libvirtError, match="unexpected LXC URI path '/session'"):
        state_dir.dirs_for_uri("/session", None)


def test_system_root_test_hook(tmp_path, monkeypatch):
    monkeypatch.setenv(state_dir.SYSTEM_ROOT_ENV, str(tmp_path))
    assert state_dir.dirs_for_uri("/", None) == state_dir.dirs_for_root(tmp_path)


def test_status_round_trip():
    rec = state_dir.StatusRecord(state="paused", reason="1", controller_pid=10,
                                 controller_start=555, init_pid=11, init_start=556,
                                 cgroup="machine/ct.pyvirt-lxc", domain_xml=DOMAIN,
                                 veths=["vethct0"])
    text = state_dir.format_status(rec)
    assert text.startswith("<domstatus state='paused' reason='1' pid='10'>") or \
        text.startswith('<domstatus state="paused" reason="1" pid="10">')
    back = state_dir.parse_status(text)
    assert back.init_pid == 11 and back.init_start == 556 and back.controller_start == 555
    assert back.veths == ["vethct0"] and back.cgroup == "machine/ct.pyvirt-lxc"
    assert "<name>ct</name>" in back.domain_xml


def test_malformed_status_is_an_error():
    with pytest.raises(libvirtError, match="malformed container status"):
        state_dir.parse_status("<domstatus/>")


def test_configs_autostart_and_atomic_write(tmp_path):
    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    state_dir.save_config(dirs, "ct", "<domain/>\n")
    assert state_dir.load_configs(dirs) == [("ct", "<domain/>\n")]
    state_dir.set_autostart(dirs, "ct", True)
    assert state_dir.is_autostart(dirs, "ct")
    assert dirs.autostart_path("ct").resolve() == dirs.config_path("ct")
    state_dir.set_autostart(dirs, "ct", False)
    assert not state_dir.is_autostart(dirs, "ct")
    state_dir.save_config(dirs, "ct", "<domain>2</domain>\n")
    assert [p.name for p in dirs.config.iterdir() if p.is_file()] == ["ct.xml"]
    state_dir.delete_config(dirs, "ct")
    assert state_dir.load_configs(dirs) == []

"""libvirt.conf: uri_default and uri_aliases, and how open() uses them."""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt.api import _clientconf

CONF = """
# a comment with "quotes"
uri_aliases = [
  "hail=fake:///hail",   # trailing comment
  "sleet=fake:///sleet",
]
uri_default = "fake:///fromconf"
"""


def test_parse_config():
    config = _clientconf.parse_config(CONF)
    assert config.uri_default == "fake:///fromconf"
    assert config.uri_aliases == ["hail=fake:///hail", "sleet=fake:///sleet"]
    assert config.alias("sleet") == "fake:///sleet"
    assert config.alias("nope") is None
    assert config.alias("fake:///x") is None


def test_missing_file_means_no_config(tmp_path):
    config = _clientconf.load_config(str(tmp_path / "absent.conf"))
    assert (config.uri_default, config.uri_aliases) == (None, [])


@pytest.fixture
def conf_file(tmp_path, monkeypatch):
    path = tmp_path / "libvirt.conf"
    path.write_text(CONF)
    monkeypatch.setattr(_clientconf, "config_path", lambda: str(path))
    return path


def test_open_follows_an_alias(conf_file):
    conn = pyvirt.open("hail")
    assert conn.getURI() == "fake:///hail"
    conn.close()


def test_environment_wins_over_uri_default(conf_file, monkeypatch):
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "fake:///fromenv")
    conn = pyvirt.open()
    assert conn.getURI() == "fake:///fromenv"
    conn.close()
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI")
    conn = pyvirt.open()
    assert conn.getURI() == "fake:///fromconf"
    conn.close()


def test_config_path_for_root_and_users(monkeypatch):
    monkeypatch.setattr(_clientconf.os, "geteuid", lambda: 0)
    assert _clientconf.config_path() == "/etc/libvirt/libvirt.conf"
    monkeypatch.setattr(_clientconf.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/cfg")
    assert _clientconf.config_path() == "/cfg/libvirt/libvirt.conf"

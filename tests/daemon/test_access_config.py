"""pyvirtd's access_rules_file: read from the config, loaded at start, refused when bad;
the client's identity as the daemon sees it."""

from __future__ import annotations

import os

import pytest

from pyvirt.daemon.config import DaemonConfig, config_from_values, parse_conf
from pyvirt.daemon.server import Daemon, load_access_rules
from pyvirt.daemon.thread import DaemonThread
from pyvirt.errors import VIR_ERR_CONF_SYNTAX, libvirtError
from pyvirt.remote.client import RemoteClient


def test_the_key_is_read():
    config = config_from_values(parse_conf('access_rules_file = "/etc/pyvirt/access.rules"\n'
                                           'access_drivers = [ "polkit" ]\n'))
    assert config.access_rules_file == "/etc/pyvirt/access.rules"
    assert any("access_drivers" in note for note in config.notes)


def test_no_file_means_no_access_control():
    assert load_access_rules("") is None


def test_a_missing_or_bad_file_stops_the_start(tmp_path):
    with pytest.raises(OSError):
        load_access_rules(str(tmp_path / "missing"))
    bad = tmp_path / "bad.rules"
    bad.write_text("allow nobody *\n")
    with pytest.raises(libvirtError) as err:
        Daemon(DaemonConfig(access_rules_file=str(bad)))
    assert err.value.get_error_code() == VIR_ERR_CONF_SYNTAX


def test_unix_peers_are_identified_by_their_credentials(tmp_path):
    rules = tmp_path / "access.rules"
    rules.write_text(f"allow uid:{os.geteuid()} connect:*\nallow uid:{os.geteuid()} "
                     "domain:getattr test\n")
    running = DaemonThread(DaemonConfig(unix_sock_dir=str(tmp_path / "run"), listen_tcp=False,
                                        listen_tls=False, access_rules_file=str(rules))).start()
    try:
        client = RemoteClient.unix(running.rw_path)
        client.open()
        assert client.call("DOMAIN_LOOKUP_BY_NAME", name="test").name == "test"
        with pytest.raises(libvirtError) as err:
            client.call("DOMAIN_GET_XML_DESC",
                        dom=client.call("DOMAIN_LOOKUP_BY_NAME", name="test"), flags=0)
        assert str(err.value) == "access denied: 'Test' denied access"
        assert client.call("CONNECT_LIST_ALL_DOMAINS", need_results=1, flags=0)["ret"] == 1
        client.close()
    finally:
        running.stop()

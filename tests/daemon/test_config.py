"""libvirtd.conf parsing and the keys pyvirtd honours or ignores."""

from __future__ import annotations

import pytest

from pyvirt.daemon.config import DaemonConfig, config_from_values, load_config, parse_conf
from pyvirt.errors import VIR_ERR_CONF_SYNTAX, VIR_ERR_CONFIG_UNSUPPORTED, libvirtError

SAMPLE = """
# libvirtd.conf as an admin writes it
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"   # loopback only
tcp_port = "16599"
unix_sock_dir = '/tmp/x'
unix_sock_rw_perms = "0770"
auth_tcp = "none"
max_clients = 50
max_workers = 4
max_client_requests = 10
keepalive_interval = -1
tls_allowed_dn_list = ["C=GB,O=Example,CN=a",
                       "C=GB,O=Example,CN=b"]
log_filters = "1:qemu"
"""


def test_parse_conf_values():
    values = parse_conf(SAMPLE)
    assert values["listen_tcp"] == 1
    assert values["listen_addr"] == "127.0.0.1"
    assert values["unix_sock_dir"] == "/tmp/x"
    assert values["tls_allowed_dn_list"] == ["C=GB,O=Example,CN=a", "C=GB,O=Example,CN=b"]
    assert values["keepalive_interval"] == -1


def test_config_from_sample():
    config = config_from_values(parse_conf(SAMPLE))
    assert config.listen_tcp and not config.listen_tls
    assert config.tcp_port == 16599
    assert config.unix_sock_rw_perms == 0o770
    assert (config.max_clients, config.max_workers, config.max_client_requests) == (50, 4, 10)
    assert config.socket_paths() == ("/tmp/x/libvirt-sock", "/tmp/x/libvirt-sock-ro")
    assert config.tls_allowed_dn_list == ["C=GB,O=Example,CN=a", "C=GB,O=Example,CN=b"]
    assert any(note.startswith("ignoring log_filters") for note in config.notes)


def test_defaults_are_libvirtds():
    config = DaemonConfig()
    assert (config.tcp_port, config.tls_port) == (16509, 16514)
    assert config.unix_sock_rw_perms == 0o700 and config.unix_sock_ro_perms == 0o777
    assert config.auth_tcp == "sasl"
    assert (config.max_workers, config.max_client_requests, config.keepalive_interval) == (20, 5, 5)


def test_tcp_with_sasl_is_refused_not_weakened():
    with pytest.raises(libvirtError) as err:
        config_from_values({"listen_tcp": 1})
    assert err.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert 'auth_tcp = "sasl"' in str(err.value)


def test_unknown_keys_are_noted():
    config = config_from_values({"no_such_key": 1})
    assert config.notes == ["ignoring unknown key no_such_key"]


@pytest.mark.parametrize("text", ["listen_tcp", "x = ", "x = [1, 2", "= 3", "x = ]"])
def test_syntax_errors(text):
    with pytest.raises(libvirtError) as err:
        parse_conf(text)
    assert err.value.get_error_code() == VIR_ERR_CONF_SYNTAX


def test_wrong_value_types():
    with pytest.raises(libvirtError):
        config_from_values({"max_clients": "many"})
    with pytest.raises(libvirtError):
        config_from_values({"listen_addr": 5})


def test_hash_inside_a_string_is_not_a_comment():
    assert parse_conf('log_outputs = "1:file:/tmp/a#b"') == {"log_outputs": "1:file:/tmp/a#b"}


def test_load_config_missing_file(tmp_path):
    with pytest.raises(libvirtError):
        load_config(str(tmp_path / "missing.conf"))
    assert load_config(None) == DaemonConfig()


def test_socket_dir_follows_libvirtd(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert DaemonConfig().socket_dir() == "/run/libvirt"
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert DaemonConfig().socket_paths() == ("/run/user/1000/libvirt/libvirt-sock",
                                             "/run/user/1000/libvirt/libvirt-sock-ro")
    assert DaemonConfig(unix_sock_dir="/x").socket_dir() == "/x"


def test_tls_settings_are_read():
    config = config_from_values(parse_conf(
        'key_file = "/k"\ncert_file = "/c"\nca_file = "/a"\ntls_no_verify_certificate = 1\n'
        'tls_allowed_dn_list = ["CN=*"]\n'))
    assert (config.key_file, config.cert_file, config.ca_file) == ("/k", "/c", "/a")
    assert config.tls_no_verify_certificate and config.tls_allowed_dn_list == ["CN=*"]
    with pytest.raises(libvirtError):
        config_from_values({"auth_tls": "polkit"})     # "sasl" is served (test_sasl_passwd)
    with pytest.raises(libvirtError):
        config_from_values({"tls_allowed_dn_list": "CN=*"})


def test_max_stream_rate_is_read_as_a_number(tmp_path):
    path = tmp_path / "pyvirtd.conf"
    path.write_text("max_stream_rate = 1048576\n")
    assert load_config(str(path)).max_stream_rate == 1048576

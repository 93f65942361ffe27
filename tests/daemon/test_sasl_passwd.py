"""The SCRAM verifier file and ``pyvirt-saslpasswd``; the config keys that
turn SASL on."""

from __future__ import annotations

import io
import os
import stat

import pytest

from pyvirt.daemon import saslpasswd
from pyvirt.daemon.config import config_from_values, parse_conf
from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, libvirtError
from pyvirt.remote.sasl_scram import ScramClient, ScramServer


def test_add_user_writes_verifiers_only_mode_0600(tmp_path):
    path = str(tmp_path / "etc" / "sasl-passwd")
    saslpasswd.add_user(path, "alice", "wonderland")
    text = open(path).read()
    assert "wonderland" not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    entries = saslpasswd.load(path)
    assert set(entries) == {("alice", "SCRAM-SHA-256"), ("alice", "SCRAM-SHA-1")}
    assert saslpasswd.users(path) == ["alice"]


def test_a_stored_verifier_authenticates_the_password(tmp_path):
    path = str(tmp_path / "pw")
    saslpasswd.add_user(path, "alice", "wonderland")
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        server = ScramServer(mech, lambda n: saslpasswd.lookup(path, n, mech), "srvnonce")
        client = ScramClient(mech, "alice", "wonderland", "clinonce")
        client.verify(server.step(client.final(server.start(client.first()))))
        assert server.authenticated


def test_change_and_delete(tmp_path):
    path = str(tmp_path / "pw")
    saslpasswd.add_user(path, "alice", "one")
    saslpasswd.add_user(path, "bob", "two")
    before = saslpasswd.lookup(path, "alice", "SCRAM-SHA-256")
    saslpasswd.add_user(path, "alice", "three")
    assert saslpasswd.lookup(path, "alice", "SCRAM-SHA-256") != before
    saslpasswd.delete_user(path, "alice")
    assert saslpasswd.users(path) == ["bob"]
    with pytest.raises(saslpasswd.PasswdFileError, match="not found"):
        saslpasswd.delete_user(path, "alice")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".sasl-passwd.")]


@pytest.mark.parametrize("name", ["", "a:b", "a\nb"])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(saslpasswd.PasswdFileError):
        saslpasswd.add_user(str(tmp_path / "pw"), name, "pw")


def test_malformed_file_is_an_error(tmp_path):
    path = tmp_path / "pw"
    path.write_text("alice:SCRAM-SHA-256:4096:notbase64!:x:y\n")
    with pytest.raises(saslpasswd.PasswdFileError, match="pw:1"):
        saslpasswd.load(str(path))
    assert saslpasswd.load(str(tmp_path / "missing")) == {}


def test_cli_adds_from_stdin_and_deletes(tmp_path, monkeypatch, capsys):
    path = str(tmp_path / "pw")
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert saslpasswd.main(["-a", "libvirt", "-f", path, "--password-stdin", "carol"]) == 0
    assert saslpasswd.users(path) == ["carol"]
    capsys.readouterr()
    assert saslpasswd.main(["-f", path, "-l"]) == 0
    assert capsys.readouterr().out == "carol\n"
    assert saslpasswd.main(["-f", path, "-d", "carol"]) == 0
    assert saslpasswd.users(path) == []
    assert saslpasswd.main(["-f", path, "-d", "carol"]) == 1
    assert "not found" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert saslpasswd.main(["-f", path, "--password-stdin", "dave"]) == 1


def test_cli_prompts_twice_on_a_tty(tmp_path, monkeypatch):
    answers = iter(["pw1", "pw2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert saslpasswd.main(["-f", str(tmp_path / "pw"), "eve"]) == 1   # mismatch
    answers = iter(["pw1", "pw1"])
    assert saslpasswd.main(["-f", str(tmp_path / "pw"), "eve"]) == 0


def test_config_accepts_sasl_on_unix_and_tls():
    config = config_from_values(parse_conf(
        'auth_unix_rw = "sasl"\nauth_unix_ro = "sasl"\nauth_tls = "sasl"\n'
        'sasl_passwd_file = "/x/pw"\nsasl_allowed_username_list = ["alice", "ops-*"]\n'))
    assert (config.auth_unix_rw, config.auth_unix_ro, config.auth_tls) == ("sasl",) * 3
    assert config.sasl_passwd_file == "/x/pw"
    assert config.sasl_allowed_username_list == ["alice", "ops-*"]
    assert not [n for n in config.notes if "sasl" in n]


def test_config_refuses_sasl_on_plain_tcp_and_says_why():
    with pytest.raises(libvirtError) as info:
        config_from_values(parse_conf('listen_tcp = 1\nauth_tcp = "sasl"\n'))
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "security layer" in str(info.value) and 'auth_tls = "sasl"' in str(info.value)
    with pytest.raises(libvirtError):
        config_from_values(parse_conf('auth_tls = "polkit"\n'))

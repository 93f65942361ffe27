"""The pyvirt-web command line: options, the users file helper, start-up errors."""

from __future__ import annotations

import io

import pytest

from pyvirt.web import main as web_main
from pyvirt.web.users import UserStore


def test_parse_listen():
    assert web_main.parse_listen("127.0.0.1:8443") == ("127.0.0.1", 8443)
    assert web_main.parse_listen("[::1]:9000") == ("::1", 9000)
    assert web_main.parse_listen(":80") == ("127.0.0.1", 80)
    with pytest.raises(Exception, match="expected HOST:PORT"):
        web_main.parse_listen("localhost")


def test_add_user_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    users = tmp_path / "users"
    monkeypatch.setattr("sys.stdin", io.StringIO("hunter22\n"))
    assert web_main.main(["--users", str(users), "--add-user", "carol", "--role",
                          "admin"]) == 0
    assert "User carol (admin) saved" in capsys.readouterr().out
    user = UserStore.load(users).authenticate("carol", "hunter22")
    assert user is not None and user.can_write


def test_add_user_refuses_an_empty_password(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert web_main.main(["--users", str(tmp_path / "u"), "--add-user", "dan"]) == 1
    assert "empty password" in capsys.readouterr().err


def test_serving_needs_a_uri_and_a_readable_users_file(tmp_path, capsys):
    assert web_main.main(["--users", str(tmp_path / "u")]) == 2
    assert "give at least one --uri" in capsys.readouterr().err
    assert web_main.main(["--users", str(tmp_path / "missing"), "--uri", "test:///default"]) == 1
    assert "No such file" in capsys.readouterr().err


def test_cert_and_key_go_together(tmp_path, capsys):
    assert web_main.main(["--uri", "test:///default", "--cert", "c.pem"]) == 2
    assert "--cert and --key go together" in capsys.readouterr().err


def test_short_session_secret_is_refused(tmp_path, capsys):
    users = tmp_path / "users"
    UserStore().save(users)
    secret = tmp_path / "secret"
    secret.write_text("short")
    assert web_main.main(["--users", str(users), "--uri", "test:///default",
                          "--secret-file", str(secret)]) == 1
    assert "at least 16 characters" in capsys.readouterr().err

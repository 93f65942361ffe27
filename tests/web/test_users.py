"""The users file: salted hashes, roles, load/save, authentication."""

from __future__ import annotations

import os

import pytest

from pyvirt.web.users import (UserStore, UsersFile, UsersFileError, hash_password,
                              verify_password)


def test_hash_is_salted_and_verifies():
    first, second = hash_password("pw", iterations=1000), hash_password("pw", iterations=1000)
    assert first != second                       # a fresh salt each time
    assert first.startswith("pbkdf2_sha256$1000$")
    assert verify_password("pw", first) and verify_password("pw", second)
    assert not verify_password("PW", first)


def test_verify_rejects_malformed_hashes():
    assert not verify_password("pw", "plain-text")
    assert not verify_password("pw", "md5$1$abc$def")
    assert not verify_password("pw", "pbkdf2_sha256$x$abc$def")


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "users"
    store = UserStore()
    store.add("alice", "admin", "one", iterations=1000)
    store.add("bob", "readonly", "two", iterations=1000)
    store.save(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "one" not in path.read_text()
    loaded = UserStore.load(path)
    alice = loaded.authenticate("alice", "one")
    assert alice is not None and alice.can_write
    bob = loaded.authenticate("bob", "two")
    assert bob is not None and not bob.can_write
    assert loaded.authenticate("bob", "one") is None
    assert loaded.authenticate("carol", "one") is None


def test_load_skips_comments_and_names_bad_lines(tmp_path):
    path = tmp_path / "users"
    path.write_text("# users\n\nalice:admin:" + hash_password("x", iterations=1000)
                    + "\nbob:superuser:xyz\n")
    with pytest.raises(UsersFileError, match=r"users:4: expected name:role:hash"):
        UserStore.load(path)


def test_add_checks_role_and_name():
    store = UserStore()
    with pytest.raises(UsersFileError, match="unknown role 'root'"):
        store.add("alice", "root", "pw")
    with pytest.raises(UsersFileError, match="invalid user name"):
        store.add("al:ice", "admin", "pw")


def test_users_file_follows_changes(tmp_path):
    path = tmp_path / "users"
    store = UserStore()
    store.add("alice", "admin", "pw", iterations=1000)
    store.save(path)
    live = UsersFile(path)
    assert live.get("alice").can_write
    store.add("alice", "readonly", "pw", iterations=1000)
    store.add("bob", "admin", "pw2", iterations=1000)
    store.save(path)
    os.utime(path, ns=(1, 1))                      # a different stamp, whatever the clock
    assert not live.get("alice").can_write          # demoted without a restart
    assert live.authenticate("bob", "pw2") is not None
    path.write_text("garbage line\n")
    os.utime(path, ns=(2, 2))
    assert live.get("bob") is not None              # a broken file keeps the last good one
    path.unlink()
    assert live.get("alice") is None                # no file: nobody

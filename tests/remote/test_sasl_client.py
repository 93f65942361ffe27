"""The client side: auth.conf (libvirt's format and search order), credential
collection from auth.conf and the openAuth callback, mechanism choice."""

from __future__ import annotations

import pytest

from pyvirt.drivers.remote import auth
from pyvirt.errors import VIR_ERR_AUTH_FAILED, VIR_FROM_REMOTE, VIR_FROM_RPC, libvirtError

CONF = """# comment
[credentials-admin]
authname=alice
password=wonder=land

[credentials-ops]
authname=bob

[auth-libvirt-host1]
credentials=admin
; another comment
[auth-libvirt-default]
credentials=ops
"""


def test_parse_and_lookup_by_host_then_default():
    groups = auth.parse_auth_conf(CONF)
    assert auth.lookup(groups, "host1", "authname") == "alice"
    assert auth.lookup(groups, "host1", "password") == "wonder=land"
    assert auth.lookup(groups, "other", "authname") == "bob"
    assert auth.lookup(groups, "other", "password") is None
    assert auth.lookup({}, "host1", "authname") is None


def test_auth_file_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", "/explicit/auth.conf")
    assert auth.auth_file_path() == "/explicit/auth.conf"
    monkeypatch.delenv("LIBVIRT_AUTH_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "libvirt").mkdir()
    (tmp_path / "libvirt" / "auth.conf").write_text(CONF)
    assert auth.auth_file_path() == str(tmp_path / "libvirt" / "auth.conf")
    assert auth.load_auth_conf()["credentials-admin"]["authname"] == "alice"


def _cb_with(answers, seen):
    def callback(creds, cbdata):
        seen.append(([c[0] for c in creds], cbdata))
        for cred in creds:
            cred[4] = answers.get(cred[0])
        return 0
    return callback


CREDS = [auth.VIR_CRED_AUTHNAME, auth.VIR_CRED_PASSPHRASE]


def test_auth_conf_first_then_the_callback_for_the_rest():
    seen = []
    groups = auth.parse_auth_conf(CONF)
    cb = _cb_with({auth.VIR_CRED_PASSPHRASE: "pw"}, seen)
    assert auth.credentials([CREDS, cb, "data"], "other", groups) == ("bob", "pw", "")
    assert seen == [([auth.VIR_CRED_PASSPHRASE], "data")]
    seen.clear()
    assert auth.credentials([CREDS, cb, None], "host1", groups) == ("alice", "wonder=land", "")
    assert seen == []                                  # nothing left to ask


def _code(info):
    return info.value.get_error_code(), info.value.get_error_domain(), str(info.value)


def test_no_callback_or_missing_credtypes_is_no_mechanism():
    for given in (None, [[auth.VIR_CRED_AUTHNAME], lambda c, d: 0, None]):
        with pytest.raises(libvirtError) as info:
            auth.credentials(given, "h", {})
        assert _code(info) == (VIR_ERR_AUTH_FAILED, VIR_FROM_RPC, "authentication failed: "
                               "Failed to start SASL negotiation: -4 (SASL(-4): no mechanism "
                               "available: No worthy mechs found)")


@pytest.mark.parametrize("callback", [lambda c, d: -1, lambda c, d: 0,
                                      lambda c, d: 1 / 0])
def test_a_callback_that_cannot_answer_fails_to_collect(callback):
    with pytest.raises(libvirtError) as info:
        auth.credentials([CREDS, callback, None], "h", {})
    assert _code(info) == (VIR_ERR_AUTH_FAILED, VIR_FROM_REMOTE,
                           "authentication failed: Failed to collect auth credentials")


def test_mechanism_choice_prefers_sha256():
    assert auth.choose_mechanism("SCRAM-SHA-1,SCRAM-SHA-256") == "SCRAM-SHA-256"
    assert auth.choose_mechanism("DIGEST-MD5,SCRAM-SHA-1") == "SCRAM-SHA-1"
    with pytest.raises(libvirtError):
        auth.choose_mechanism("GSSAPI")


def test_supplied_is_scoped_to_one_open():
    assert auth.current() is None
    with auth.supplied(["x"]):
        assert auth.current() == ["x"]
    assert auth.current() is None


def test_a_missing_libvirt_auth_file_is_libvirts_unknown_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(tmp_path / "missing.conf"))
    with pytest.raises(libvirtError) as info:
        auth.credentials([CREDS, lambda c, d: 0, None], "h")
    assert _code(info) == (1, 0, "An error occurred, but the cause is unknown")
    assert "missing.conf" in info.value.why


def test_callback_gets_libvirts_prompts_and_username_when_listed():
    got = []

    def callback(creds, cbdata):
        got.extend([list(c) for c in creds])
        for cred in creds:
            cred[4] = {1: "alice", 2: "alice", 5: "pw"}[cred[0]]
        return 0
    assert auth.credentials([[auth.VIR_CRED_USERNAME, *CREDS], callback, None], "h", {}) == \
        ("alice", "pw", "alice")
    # real libvirt-python 9.0 is handed exactly these (checked against pyvirtd)
    assert got == [[1, "Please enter your authorization name", "Authorization Name", None, None],
                   [2, "Please enter your authentication name", "Authentication Name", None,
                    None],
                   [5, "Please enter your password", "Password", None, None]]


@pytest.mark.parametrize("types, authtype, expected", [
    ([0], None, (0, None)),
    ([1], None, (1, None)),
    ([1, 0], None, (1, None)),                      # libvirt takes the first offered
    ([1], "sasl", (1, None)),
    ([1], "sasl.SCRAM-SHA-1", (1, "SCRAM-SHA-1")),
    ([], None, (0, None)),
])
def test_choose_auth_as_libvirts_client(types, authtype, expected):
    assert auth.choose_auth(types, authtype) == expected


@pytest.mark.parametrize("types, authtype, message", [
    ([1], "bogus", "unknown authentication type bogus"),
    ([0], "sasl", "requested authentication type sasl rejected"),
    ([1], "polkit", "requested authentication type polkit rejected"),
    ([2], None, "unsupported authentication type 2"),
])
def test_choose_auth_errors_are_libvirts(types, authtype, message):
    with pytest.raises(libvirtError) as info:
        auth.choose_auth(types, authtype)
    assert _code(info) == (VIR_ERR_AUTH_FAILED, VIR_FROM_REMOTE,
                           f"authentication failed: {message}")

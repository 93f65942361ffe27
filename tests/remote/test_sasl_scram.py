"""SCRAM-SHA-256 / SCRAM-SHA-1 against the RFC test vectors, both ends, and the
server's answers to malformed or hostile messages."""

from __future__ import annotations

import base64

import pytest

from pyvirt.remote.sasl_scram import (ScramClient, ScramError, ScramServer, escape_name,
                                      make_verifier, unescape_name)

# RFC 7677 section 3 (SCRAM-SHA-256)
RFC7677 = {
    "mech": "SCRAM-SHA-256", "cnonce": "rOprNGfwEbeRWgbNEkqO",
    "snonce": "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "salt": "W22ZaJ0SNY7soEsUEjb6gQ==",
    "first": b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    "server_first": b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    "final": b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
             b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "server_final": b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
}
# RFC 5802 section 5 (SCRAM-SHA-1)
RFC5802 = {
    "mech": "SCRAM-SHA-1", "cnonce": "fyko+d2lbbFgONRv9qkxdawL",
    "snonce": "3rfcNHYJY1ZVvWVs7j", "salt": "QSXCR+Q6sek8bf92",
    "first": b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    "server_first": b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    "final": b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
             b"p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    "server_final": b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
}


def _server(vector, password="pencil"):
    verifier = make_verifier(vector["mech"], password, base64.b64decode(vector["salt"]))
    return ScramServer(vector["mech"], lambda name: verifier if name == "user" else None,
                       vector["snonce"])


@pytest.mark.parametrize("vector", [RFC7677, RFC5802], ids=["sha256", "sha1"])
def test_server_reproduces_the_rfc_exchange(vector):
    server = _server(vector)
    assert server.start(vector["first"]) == vector["server_first"]
    assert server.step(vector["final"]) == vector["server_final"]
    assert server.authenticated and server.username == "user"


@pytest.mark.parametrize("vector", [RFC7677, RFC5802], ids=["sha256", "sha1"])
def test_client_reproduces_the_rfc_exchange(vector):
    client = ScramClient(vector["mech"], "user", "pencil", vector["cnonce"])
    assert client.first() == vector["first"]
    assert client.final(vector["server_first"]) == vector["final"]
    client.verify(vector["server_final"])          # no exception: server proved itself


def test_wrong_password_fails_at_the_proof():
    server = _server(RFC7677, password="not-pencil")
    server.start(RFC7677["first"])
    with pytest.raises(ScramError, match="wrong password"):
        server.step(RFC7677["final"])
    assert not server.authenticated


def test_unknown_user_gets_a_challenge_and_fails_later():
    server = _server(RFC7677)
    reply = server.start(b"n,,n=mallory,r=abcdef")
    assert reply.startswith(b"r=abcdef" + RFC7677["snonce"].encode() + b",s=")
    client = ScramClient("SCRAM-SHA-256", "mallory", "x", "abcdef")
    client.first()
    with pytest.raises(ScramError, match="unknown user"):
        server.step(client.final(reply))


def test_client_refuses_a_forged_server_signature():
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", RFC7677["cnonce"])
    client.final(RFC7677["server_first"])
    with pytest.raises(ScramError, match="not the real server"):
        client.verify(b"v=" + base64.b64encode(bytes(32)))
    with pytest.raises(ScramError, match="server says"):
        client.verify(b"e=invalid-proof")


def test_client_refuses_a_nonce_that_does_not_extend_its_own():
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", "abc")
    with pytest.raises(ScramError, match="nonce"):
        client.final(b"r=xyz123,s=QSXCR+Q6sek8bf92,i=4096")
    with pytest.raises(ScramError, match="iteration"):
        client.final(b"r=abc123,s=QSXCR+Q6sek8bf92,i=1")


@pytest.mark.parametrize("first, reason", [
    (b"p=tls-unique,,n=user,r=abc", "channel binding"),
    (b"n,,r=abc,n=user", "n= then r="),
    (b"n,,n=,r=abc", "empty user"),
    (b"n,a=admin,n=user,r=abc", "authorization identity"),
    (b"n,,n=user,r=a,bc,m=x", "malformed|mandatory"),
    (b"n,,n=us\x01er,r=abc", "control"),
    (b"\xff\xfe", "UTF-8"),
    (b"n,,n=user", "n= then r="),
])
def test_server_rejects_malformed_first_messages(first, reason):
    with pytest.raises(ScramError, match=reason):
        _server(RFC7677).start(first)


def test_server_rejects_a_replayed_or_tampered_final_message():
    server = _server(RFC7677)
    server.start(RFC7677["first"])
    with pytest.raises(ScramError, match="nonce mismatch"):
        server.step(RFC7677["final"].replace(b"k0,p", b"k1,p"))
    server = _server(RFC7677)
    server.start(RFC7677["first"])
    with pytest.raises(ScramError, match="channel binding"):
        server.step(RFC7677["final"].replace(b"c=biws", b"c=eSws"))
    with pytest.raises(ScramError, match="out of order"):
        _server(RFC7677).step(RFC7677["final"])


def test_authorization_identity_equal_to_the_user_is_accepted():
    server = _server(RFC7677)
    assert server.start(b"n,a=user,n=user,r=abc").startswith(b"r=abc")


def test_names_with_commas_and_equals_are_escaped():
    assert escape_name("a,b=c") == "a=2Cb=3Dc"
    assert unescape_name("a=2Cb=3Dc") == "a,b=c"
    with pytest.raises(ScramError):
        unescape_name("a=41")
    verifier = make_verifier("SCRAM-SHA-256", "pw", b"salt" * 4)
    server = ScramServer("SCRAM-SHA-256", lambda n: verifier if n == "a,b" else None, "srv")
    client = ScramClient("SCRAM-SHA-256", "a,b", "pw", "cli")
    final = client.final(server.start(client.first()))
    client.verify(server.step(final))
    assert server.username == "a,b"


def test_verifier_holds_no_password():
    verifier = make_verifier("SCRAM-SHA-256", "pencil", b"0123456789abcdef")
    assert b"pencil" not in verifier.stored_key + verifier.server_key + verifier.salt
    assert len(verifier.stored_key) == 32 and verifier.iterations == 4096


def test_client_sends_an_authorization_identity_only_when_it_differs():
    assert ScramClient("SCRAM-SHA-256", "u", "p", "n", authzid="u").first() == b"n,,n=u,r=n"
    other = ScramClient("SCRAM-SHA-256", "u", "p", "n", authzid="a,b")
    assert other.first() == b"n,a=a=2Cb,n=u,r=n"
    assert other.final(b"r=nXYZ,s=QSXCR+Q6sek8bf92,i=4096").startswith(
        b"c=" + base64.b64encode(b"n,a=a=2Cb,"))
    with pytest.raises(ScramError, match="authorization identity"):
        _server(RFC7677).start(other.first())

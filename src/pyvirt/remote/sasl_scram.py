"""SCRAM (RFC 5802, RFC 7677): the SASL mechanisms SCRAM-SHA-256 and SCRAM-SHA-1,
both ends, pure (bytes in, bytes out; no I/O, no clock, nonces passed in).

The server keeps only a :class:`Verifier` per user (salt, iteration count,
StoredKey, ServerKey), never the password. One exchange::

    client                                  server
    first()            n,,n=alice,r=CNONCE  ->  start()
                  <- r=CNONCE+SNONCE,s=SALT,i=4096
    final(server_first) c=biws,r=...,p=PROOF ->  step()
                  <- v=SIGNATURE
    verify(server_final)

Any problem raises :class:`ScramError` with the reason (for logs; a daemon
tells the client only "authentication failed"). No channel binding (``-PLUS``)
and no SASLprep beyond refusing non-ASCII control characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Callable

#: mechanism name -> hashlib name, strongest first
MECHANISMS: dict[str, str] = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-1": "sha1"}
DEFAULT_ITERATIONS = 4096
MIN_ITERATIONS = 4096


class ScramError(ValueError):
    """The exchange failed; the message says why."""


@dataclass(frozen=True)
class Verifier:
    """What the server stores for one user and one mechanism."""

    mechanism: str
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def _hash(mechanism: str) -> str:
    try:
        return MECHANISMS[mechanism]
    except KeyError:
        raise ScramError(f"unsupported mechanism {mechanism}") from None


def salted_password(mechanism: str, password: str, salt: bytes, iterations: int) -> bytes:
    """Hi(Normalize(password), salt, i): PBKDF2 with the mechanism's HMAC."""
    return hashlib.pbkdf2_hmac(_hash(mechanism), password.encode("utf-8"), salt, iterations)


def _hmac(name: str, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, name).digest()


def make_verifier(mechanism: str, password: str, salt: bytes,
                  iterations: int = DEFAULT_ITERATIONS) -> Verifier:
    """The server's record for ``password`` (RFC 5802 section 3)."""
    name = _hash(mechanism)
    salted = salted_password(mechanism, password, salt, iterations)
    client_key = _hmac(name, salted, b"Client Key")
    return Verifier(mechanism, salt, iterations, hashlib.new(name, client_key).digest(),
                    _hmac(name, salted, b"Server Key"))


def escape_name(name: str) -> str:
    """saslname: ``,`` -> ``=2C``, ``=`` -> ``=3D``."""
    return name.replace("=", "=3D").replace(",", "=2C")


def unescape_name(text: str) -> str:
    out, pos = [], 0
    while pos < len(text):
        if text[pos] == "=":
            code = text[pos:pos + 3]
            if code not in ("=2C", "=3D"):
                raise ScramError(f"bad escape in name {text!r}")
            out.append("," if code == "=2C" else "=")
            pos += 3
        else:
            out.append(text[pos])
            pos += 1
    return "".join(out)


def _attributes(message: str) -> list[tuple[str, str]]:
    pairs = []
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=" or not part[0].isalpha():
            raise ScramError(f"malformed attribute {part!r}")
        pairs.append((part[0], part[2:]))
    return pairs


def _text(data: bytes, what: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScramError(f"{what} is not UTF-8") from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ScramError(f"{what} holds control characters")
    return text


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ScramError(f"{what} is not base64") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _check_nonce(nonce: str) -> str:
    if not nonce or "," in nonce or any(not (33 <= ord(ch) <= 126) for ch in nonce):
        raise ScramError("bad nonce")
    return nonce


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right))


class ScramServer:
    """The server side of one exchange. ``lookup(name)`` returns the user's
    :class:`Verifier` for this mechanism or None; an unknown user still gets a
    plausible challenge (salt from ``decoy_key``) and fails at the proof, so the
    exchange does not reveal which names exist."""

    def __init__(self, mechanism: str, lookup: Callable[[str], Verifier | None],
                 server_nonce: str, decoy_key: bytes = b""):
        self.mechanism = mechanism
        self._name = _hash(mechanism)
        self._lookup = lookup
        self._server_nonce = _check_nonce(server_nonce)
        self._decoy_key = decoy_key
        self.username: str | None = None      # known once the exchange started
        self.authenticated = False
        self._verifier: Verifier | None = None
        self._known = False
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""
        self._gs2_header = ""

    def start(self, client_first: bytes) -> bytes:
        """client-first-message -> server-first-message."""
        if self._server_first:
            raise ScramError("exchange already started")
        text = _text(client_first, "client-first-message")
        parts = text.split(",", 2)
        if len(parts) != 3:
            raise ScramError("client-first-message lacks the GS2 header")
        flag, authzid, bare = parts
        if flag not in ("n", "y"):             # "p=": channel binding, never offered
            raise ScramError(f"channel binding {flag!r} not supported")
        attrs = _attributes(bare)
        if len(attrs) < 2 or attrs[0][0] != "n" or attrs[1][0] != "r":
            raise ScramError("client-first-message needs n= then r=")
        if attrs[0][1] == "" or any(key == "m" for key, _ in attrs):
            raise ScramError("empty user name or mandatory extension")
        name = unescape_name(attrs[0][1])
        if authzid:
            if not authzid.startswith("a=") or unescape_name(authzid[2:]) != name:
                raise ScramError("authorization identity differs from the user name")
        client_nonce = _check_nonce(attrs[1][1])
        self.username = name
        verifier = self._lookup(name)
        self._known = verifier is not None and verifier.mechanism == self.mechanism
        if not self._known:
            salt = _hmac("sha256", self._decoy_key, name.encode("utf-8"))[:16]
            size = hashlib.new(self._name).digest_size
            verifier = Verifier(self.mechanism, salt, DEFAULT_ITERATIONS, bytes(size),
                                bytes(size))
        self._verifier = verifier
        self._gs2_header = f"{flag},{authzid},"
        self._client_first_bare = bare
        self._nonce = client_nonce + self._server_nonce
        self._server_first = (f"r={self._nonce},s={_b64(verifier.salt)},"
                              f"i={verifier.iterations}")
        return self._server_first.encode("ascii")

    def step(self, client_final: bytes) -> bytes:
        """client-final-message -> server-final-message (``v=``); raises on a
        wrong proof."""
        if not self._server_first or self.authenticated or self._verifier is None:
            raise ScramError("step out of order")
        text = _text(client_final, "client-final-message")
        without_proof, sep, proof_text = text.rpartition(",p=")
        if not sep:
            raise ScramError("client-final-message lacks the proof")
        attrs = _attributes(without_proof)
        if len(attrs) < 2 or attrs[0][0] != "c" or attrs[1][0] != "r":
            raise ScramError("client-final-message needs c= then r=")
        binding = _b64decode(attrs[0][1], "channel binding")
        if binding != self._gs2_header.encode("utf-8"):
            raise ScramError("channel binding data does not match the GS2 header")
        if attrs[1][1] != self._nonce:
            raise ScramError("nonce mismatch")
        proof = _b64decode(proof_text, "proof")
        verifier = self._verifier
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}"
        signature = _hmac(self._name, verifier.stored_key, auth_message.encode("utf-8"))
        if len(proof) != len(signature):
            raise ScramError("proof has the wrong length")
        client_key = _xor(proof, signature)
        computed = hashlib.new(self._name, client_key).digest()
        if not (hmac.compare_digest(computed, verifier.stored_key) and self._known):
            raise ScramError(f"wrong password for {self.username!r}" if self._known
                             else f"unknown user {self.username!r}")
        self.authenticated = True
        server_signature = _hmac(self._name, verifier.server_key, auth_message.encode("utf-8"))
        return f"v={_b64(server_signature)}".encode("ascii")


class ScramClient:
    """The client side of one exchange."""

    def __init__(self, mechanism: str, username: str, password: str, client_nonce: str,
                 authzid: str = ""):
        self.mechanism = mechanism
        self._name = _hash(mechanism)
        self._username = username
        self._password = password
        self._nonce = _check_nonce(client_nonce)
        self._bare = f"n={escape_name(username)},r={client_nonce}"
        # an authorization identity only when it differs (as Cyrus SASL's client)
        self._gs2 = f"n,a={escape_name(authzid)}," if authzid and authzid != username \
            else "n,,"
        self._server_signature = b""

    def first(self) -> bytes:
        return f"{self._gs2}{self._bare}".encode("utf-8")

    def final(self, server_first: bytes) -> bytes:
        text = _text(server_first, "server-first-message")
        attrs = dict(_attributes(text))
        nonce, salt_text, count = attrs.get("r", ""), attrs.get("s"), attrs.get("i", "")
        if not nonce.startswith(self._nonce) or nonce == self._nonce:
            raise ScramError("server nonce does not extend the client's")
        if salt_text is None or not count.isdigit() or int(count) < 1:
            raise ScramError("server-first-message lacks salt or iteration count")
        if int(count) < MIN_ITERATIONS:
            raise ScramError(f"iteration count {count} is below {MIN_ITERATIONS}")
        salted = salted_password(self.mechanism, self._password,
                                 _b64decode(salt_text, "salt"), int(count))
        without_proof = f"c={_b64(self._gs2.encode('utf-8'))},r={nonce}"
        auth_message = f"{self._bare},{text},{without_proof}".encode("utf-8")
        client_key = _hmac(self._name, salted, b"Client Key")
        stored_key = hashlib.new(self._name, client_key).digest()
        proof = _xor(client_key, _hmac(self._name, stored_key, auth_message))
        self._server_signature = _hmac(self._name, _hmac(self._name, salted, b"Server Key"),
                                       auth_message)
        return f"{without_proof},p={_b64(proof)}".encode("ascii")

    def verify(self, server_final: bytes) -> None:
        """Check the server's signature (mutual authentication)."""
        text = _text(server_final, "server-final-message")
        attrs = dict(_attributes(text))
        if "e" in attrs:
            raise ScramError(f"server says: {attrs['e']}")
        signature = _b64decode(attrs.get("v", ""), "server signature")
        if not self._server_signature or not hmac.compare_digest(signature,
                                                                 self._server_signature):
            raise ScramError("server signature does not match: not the real server")

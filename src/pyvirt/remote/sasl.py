"""The daemon's side of libvirt's authentication procedures, per client.

:class:`AuthGate` answers AUTH_LIST (66), AUTH_SASL_INIT (67), AUTH_SASL_START
(68) and AUTH_SASL_STEP (69) as libvirtd does, and until a SASL client has
authenticated every other call is refused with libvirtd's ``VIR_ERR_RPC``
"authentication required". Each failure is libvirtd's ``VIR_ERR_AUTH_FAILED``
"authentication failed: authentication failed" (the reason only goes to the
daemon log and the audit record). Mechanisms: SCRAM-SHA-256, SCRAM-SHA-1
(:mod:`pyvirt.remote.sasl_scram`).

Brute force: a client is disconnected after ``max_failures`` failed exchanges
(libvirtd has no such limit), and :class:`FailureLimiter` (daemon-wide) refuses
every exchange for a user name after too many failures in a window.

No I/O: the verifier lookup, the audit hook and the clock are passed in.
The SCRAM code (hashlib, hmac) and the random key are loaded only by a gate
whose listener asks for SASL: every unauthenticated client gets a gate too.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from pyvirt.errors import VIR_ERR_AUTH_FAILED, VIR_ERR_RPC, VIR_FROM_RPC, error
from pyvirt.remote.protocol import TABLE
from pyvirt.rpc.xdr import XdrError

if TYPE_CHECKING:
    from pyvirt.remote.sasl_scram import ScramServer, Verifier

log = logging.getLogger(__name__)

REMOTE_AUTH_NONE, REMOTE_AUTH_SASL, REMOTE_AUTH_POLKIT = 0, 1, 2
AUTH_LIST, AUTH_SASL_INIT, AUTH_SASL_START, AUTH_SASL_STEP = 66, 67, 68, 69
AUTH_PROCEDURES = frozenset({AUTH_LIST, AUTH_SASL_INIT, AUTH_SASL_START, AUTH_SASL_STEP})
#: libvirtd.conf auth_* values pyvirtd serves
SCHEMES = {"none": REMOTE_AUTH_NONE, "sasl": REMOTE_AUTH_SASL}


def auth_required() -> Exception:
    """libvirtd's answer to any call before authentication (VIR_ERR_RPC, not
    AUTH_FAILED, for old clients)."""
    return error(VIR_ERR_RPC, "authentication required", domain=VIR_FROM_RPC)


def auth_failed() -> Exception:
    return error(VIR_ERR_AUTH_FAILED, "authentication failed", domain=VIR_FROM_RPC)


def _new_nonce() -> str:
    import secrets
    return secrets.token_urlsafe(18)


def to_wire(data: bytes) -> list[int]:
    """bytes -> ``char data<>`` elements (signed chars)."""
    return [b - 256 if b > 127 else b for b in data]


def from_wire(items: list[int]) -> bytes:
    return bytes(b & 0xFF for b in items)


class FailureLimiter:
    """Daemon-wide: after ``limit`` failures of one user name within ``window``
    seconds, that name is locked for ``lockout`` seconds (every exchange fails,
    even with the right password). Thread-safe."""

    def __init__(self, limit: int = 10, window: float = 60.0, lockout: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.lockout = limit, window, lockout
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def locked(self, name: str) -> bool:
        with self._lock:
            return self._locked_until.get(name, 0.0) > self._clock()

    def failed(self, name: str) -> None:
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now - t < self.window]
            recent.append(now)
            self._failures[name] = recent
            if len(recent) >= self.limit:
                self._locked_until[name] = now + self.lockout
                self._failures[name] = []
                log.warning("SASL user %r locked for %ds after %d failures", name,
                            self.lockout, len(recent))

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


def username_allowed(name: str, allowed: list[str] | None) -> bool:
    """libvirtd's ``sasl_allowed_username_list``: None allows all, else globs."""
    return allowed is None or any(fnmatch.fnmatchcase(name, glob) for glob in allowed)


class AuthGate:
    """One client's authentication state (see the module docstring).

    ``lookup(name, mechanism)`` gives a :class:`Verifier` or None;
    ``on_result(procedure, username, err)`` is called after each finished or
    failed exchange (the daemon writes the audit log there)."""

    def __init__(self, scheme: str = "none", *,
                 lookup: Callable[[str, str], Verifier | None] = lambda n, m: None,
                 allowed_usernames: list[str] | None = None,
                 limiter: FailureLimiter | None = None, max_failures: int = 3,
                 on_result: Callable[[str, str | None, Exception | None], None] | None = None,
                 mechanisms: tuple[str, ...] | None = None,
                 nonce: Callable[[], str] = _new_nonce,
                 decoy_key: bytes | None = None):
        if scheme not in SCHEMES:
            raise ValueError(f"unsupported auth scheme {scheme}")
        if scheme == "sasl":
            import secrets

            from pyvirt.remote.sasl_scram import MECHANISMS
            mechanisms = tuple(MECHANISMS) if mechanisms is None else mechanisms
            decoy_key = secrets.token_bytes(32) if decoy_key is None else decoy_key
        self.scheme = scheme
        self._lookup = lookup
        self._allowed = allowed_usernames
        self._limiter = limiter or FailureLimiter()
        self.max_failures = max_failures
        self._on_result = on_result
        self.mechanisms = mechanisms or ()          # a "none" gate offers none
        self._nonce = nonce
        self._decoy_key = decoy_key or b""
        self.username: str | None = None      # the authenticated SASL user
        self.failures = 0
        self._initialised = False
        self._exchange: ScramServer | None = None
        self._lock = threading.Lock()

    @property
    def authenticated(self) -> bool:
        return self.scheme == "none" or self.username is not None

    @property
    def exhausted(self) -> bool:
        """Too many failures: the daemon drops the client."""
        return self.failures >= self.max_failures

    def handles(self, number: int) -> bool:
        return number in AUTH_PROCEDURES

    def check(self, number: int) -> None:
        """Raise libvirtd's "authentication required" for a call made too early."""
        if not self.authenticated and number not in AUTH_PROCEDURES:
            raise auth_required()

    def dispatch(self, number: int, body: bytes) -> bytes:
        """Run one auth procedure on its encoded args; the encoded ret."""
        proc = TABLE.procedures[number]
        try:
            args = proc.args.decode(body, exact=False) if proc.args is not None else {}
        except XdrError as err:
            raise error(VIR_ERR_RPC, "Unable to decode message payload",
                        domain=VIR_FROM_RPC) from err
        with self._lock:
            ret = self._call(number, args)
        return proc.ret.encode(ret)

    # --- the procedures ---------------------------------------------------------------
    def _call(self, number: int, args: dict[str, Any]) -> Any:
        if number == AUTH_LIST:
            return [[SCHEMES[self.scheme]]]
        if self.scheme != "sasl" or self.username is not None:
            return self._fail(number, None, "client tried an invalid SASL request")
        if number == AUTH_SASL_INIT:
            if self._initialised:
                return self._fail(number, None, "client tried invalid SASL init request")
            self._initialised = True
            return [",".join(self.mechanisms)]
        if number == AUTH_SASL_START:
            return self._start(args)
        return self._step(args)

    def _start(self, args: dict[str, Any]) -> list[Any]:
        if not self._initialised or self._exchange is not None:
            return self._fail(AUTH_SASL_START, None, "client tried invalid SASL start request")
        from pyvirt.remote.sasl_scram import ScramError, ScramServer
        mech = args["mech"]
        if mech not in self.mechanisms:
            return self._fail(AUTH_SASL_START, None, f"unsupported mechanism {mech!r}")
        self._exchange = ScramServer(mech, lambda name: self._safe_lookup(name, mech),
                                     self._nonce(), self._decoy_key)
        if args["nil"]:                      # SCRAM is client-first: data is required
            return self._fail(AUTH_SASL_START, None, "no initial client response")
        try:
            reply = self._exchange.start(from_wire(args["data"]))
        except ScramError as err:
            return self._fail(AUTH_SASL_START, self._exchange.username, str(err))
        return [0, 0, to_wire(reply)]

    def _safe_lookup(self, name: str, mech: str) -> Verifier | None:
        try:
            return self._lookup(name, mech)
        except Exception as err:          # an unreadable store fails the exchange
            log.error("SASL verifier lookup failed: %s", err)
            return None

    def _step(self, args: dict[str, Any]) -> list[Any]:
        exchange = self._exchange
        if exchange is None or exchange.username is None:
            return self._fail(AUTH_SASL_STEP, None, "client tried invalid SASL step request")
        from pyvirt.remote.sasl_scram import ScramError
        name = exchange.username
        if args["nil"]:
            return self._fail(AUTH_SASL_STEP, name, "no client response")
        try:
            reply = exchange.step(from_wire(args["data"]))
        except ScramError as err:
            return self._fail(AUTH_SASL_STEP, name, str(err))
        if self._limiter.locked(name):
            return self._fail(AUTH_SASL_STEP, name, f"user {name!r} is locked after "
                              "repeated failures")
        if not username_allowed(name, self._allowed):
            return self._fail(AUTH_SASL_STEP, name, f"SASL client identity '{name}' not "
                              "allowed in sasl_allowed_username_list")
        self._limiter.succeeded(name)
        self.username = name
        log.info("SASL client authenticated as %r (%s)", name, exchange.mechanism)
        self._report(AUTH_SASL_STEP, name, None)
        return [1, 0, to_wire(reply)]

    def _fail(self, number: int, name: str | None, why: str) -> Any:
        """Count the failure, reset the exchange (a client may start again),
        log why, raise libvirt's sanitized error."""
        self.failures += 1
        self._exchange = None
        self._initialised = False
        if name is not None:
            self._limiter.failed(name)
        log.warning("SASL authentication failed%s: %s", f" for {name!r}" if name else "", why)
        err = auth_failed()
        err.why = why                                      # type: ignore[attr-defined]
        self._report(number, name, err)
        raise err

    def _report(self, number: int, name: str | None, err: Exception | None) -> None:
        if self._on_result is not None:
            self._on_result(TABLE.procedures[number].name, name, err)

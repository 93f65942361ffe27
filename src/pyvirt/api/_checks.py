"""Checks the public API makes before it dispatches to a driver.

Each helper raises the ``libvirtError`` libvirt raises for the same mistake:
malformed UUIDs, calls on a read-only connection, entry points the driver
does not implement.
"""

from __future__ import annotations

import uuid as _uuid
from typing import Any, Callable

from pyvirt.errors import (VIR_ERR_INVALID_ARG, VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_DENIED,
                           VIR_FROM_DOMAIN, error, libvirtError)

UUID_BUFLEN = 16


def format_uuid(raw: bytes) -> str:
    """16 raw bytes -> ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``."""
    return str(_uuid.UUID(bytes=bytes(raw)))


def parse_uuid_string(text: Any, func: str, domain: int) -> bytes:
    """A UUID string (with or without dashes, libvirt's virUUIDParse) -> 16 bytes.

    Fails like libvirt: ``"uuidstr in <func> must be a valid UUID"`` (domain
    lookups say ``"Invalid UUID"``), VIR_ERR_INVALID_ARG.
    """
    hexdigits = "".join(ch for ch in str(text or "").strip() if ch != "-")
    if len(hexdigits) == 32 and all(ch in "0123456789abcdefABCDEF" for ch in hexdigits):
        return bytes.fromhex(hexdigits)
    message = ("Invalid UUID" if domain == VIR_FROM_DOMAIN
               else f"uuidstr in {func} must be a valid UUID")
    raise invalid_arg(message, "uuidstr", func, domain)


def invalid_arg(message: str, arg: str, func: str, domain: int) -> libvirtError:
    """libvirt's virReportInvalidArg: the message alone (no "invalid argument:"
    prefix), ``str1`` the function, ``str2`` the argument, ints 0."""
    return libvirtError(message, code=VIR_ERR_INVALID_ARG, domain=domain,
                        str1=func, str2=arg, int1=0, int2=0)


def check_uuid_bytes(raw: Any, func: str, domain: int) -> bytes:
    """A raw UUID argument must be 16 bytes."""
    if isinstance(raw, (bytes, bytearray)) and len(raw) == UUID_BUFLEN:
        return bytes(raw)
    raise invalid_arg(f"uuid in {func} must be {UUID_BUFLEN} raw bytes", "uuid", func, domain)


def check_not_none(value: Any, name: str, func: str, domain: int) -> None:
    """libvirt's virCheckNonNullArg: ``<name> in <func> must not be NULL``."""
    if value is None:
        raise invalid_arg(f"{name} in {func} must not be NULL", name, func, domain)


def check_nonzero(value: Any, name: str, func: str, domain: int) -> None:
    """libvirt's virCheckNonZeroArg: ``<name> in <func> must not be zero``."""
    if value == 0:
        raise invalid_arg(f"{name} in {func} must not be zero", name, func, domain)


def check_not_negative(value: Any, name: str, func: str, domain: int) -> None:
    """libvirt's virCheckNonNegativeArg: ``<name> in <func> must be zero or greater``."""
    if value < 0:
        raise invalid_arg(f"{name} in {func} must be zero or greater", name, func, domain)


def check_event_id(event_id: int, last: int, func: str, domain: int) -> None:
    """libvirt's eventID range check: ``eventID in <func> must be less than <last>``."""
    if event_id < 0:
        raise invalid_arg(f"eventID in {func} must be zero or greater", "eventID", func, domain)
    if event_id >= last:
        raise invalid_arg(f"eventID in {func} must be less than {last}", "eventID", func, domain)


def check_writable(readonly: bool, func: str, domain: int) -> None:
    """A mutating call on a read-only connection is VIR_ERR_OPERATION_DENIED."""
    if readonly:
        raise error(VIR_ERR_OPERATION_DENIED, f"read only access prevents {func}",
                    domain=domain)


def implements(table: Any, entry: str) -> bool:
    """Whether ``table`` really provides ``entry`` (not the NO_SUPPORT fallback)."""
    return table is not None and getattr(type(table), entry, None) is not None


def entry_point(table: Any, entry: str, func: str, domain: int) -> Callable[..., Any]:
    """The driver's bound entry point, or libvirt's NO_SUPPORT error naming ``func``."""
    if not implements(table, entry):
        raise error(VIR_ERR_NO_SUPPORT, func, domain=domain)
    return getattr(table, entry)

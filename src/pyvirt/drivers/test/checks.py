"""Argument checks and error shapes shared by the test driver's tables."""

from __future__ import annotations

import functools
from typing import Any, Callable

from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_FROM_TEST, libvirtError


def unsupported_flags(flags: int, function: str) -> libvirtError:
    """libvirt's virCheckFlags failure (its message carries no prefix)."""
    return bare_error(VIR_ERR_INVALID_ARG,
                      f"unsupported flags (0x{flags:x}) in function {function}", VIR_FROM_TEST)


def bare_error(code: int, message: str, where: int) -> libvirtError:
    """An error whose message libvirt prints without the code's prefix (its
    argument checks in libvirt.c and virCheckFlags)."""
    return libvirtError(message, code=code, domain=where)


def check_flags(flags: int, allowed: int, function: str) -> None:
    if flags & ~allowed:
        raise unsupported_flags(flags & ~allowed, function)


def delivers_events(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run an entry point, then deliver the events it queued (locks released)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.state.flush_events()

    return wrapper

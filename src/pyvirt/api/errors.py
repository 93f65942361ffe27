"""libvirt-python's module-level error functions (last error, error handler)."""

from __future__ import annotations

from typing import Any, Callable

from pyvirt.api import _lasterror


def registerErrorHandler(f: Callable[[Any, Any], None] | None, ctx: Any) -> int:  # noqa: N802
    """Call ``f(ctx, err_tuple)`` on every API error (None removes the handler)."""
    _lasterror.set_handler(f, ctx)
    return 1


def virGetLastError() -> tuple[Any, ...] | None:  # noqa: N802
    """The calling thread's last error tuple, or None."""
    return _lasterror.last_error()


def virGetLastErrorMessage() -> str:  # noqa: N802
    err = _lasterror.last_error()
    return err[2] if err else "no error"


def virGetLastErrorCode() -> int:  # noqa: N802
    err = _lasterror.last_error()
    return err[0] if err else 0


def virGetLastErrorDomain() -> int:  # noqa: N802
    err = _lasterror.last_error()
    return err[1] if err else 0


def virResetLastError() -> None:  # noqa: N802
    _lasterror.reset_last_error()


def virInitialize() -> int:  # noqa: N802
    """Nothing to initialise; kept for scripts that call it."""
    return 0

"""libvirt's per-thread "last error" and the global error handler.

Every public API method is wrapped by :func:`recorded`: it clears the calling
thread's last error on entry (as libvirt's public functions do), and on a
``libvirtError`` stores it and calls the handler set by ``registerErrorHandler``
with ``(ctx, err_tuple)`` before the exception propagates. Unlike the C
library, no handler means silence: nothing is printed to stderr.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

from pyvirt.errors import libvirtError

_state = threading.local()
_handler: tuple[Callable[[Any, Any], None], Any] | None = None


def last_error() -> tuple[Any, ...] | None:
    """The calling thread's last error tuple, or None."""
    return getattr(_state, "err", None)


def reset_last_error() -> None:
    _state.err = None


def set_handler(func: Callable[[Any, Any], None] | None, ctx: Any) -> None:
    """Install (or with None, remove) the global error handler."""
    global _handler
    _handler = None if func is None else (func, ctx)


def report(err: libvirtError) -> None:
    """Record ``err`` as the thread's last error and call the handler."""
    _state.err = err.err
    if _handler is not None:
        func, ctx = _handler
        func(ctx, err.err)


def _wrap(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def api_call(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_state, "depth", 0)
        if depth == 0:
            _state.err = None
        _state.depth = depth + 1
        try:
            return func(*args, **kwargs)
        except libvirtError as err:
            if depth == 0:          # only the outermost API call reports
                report(err)
            raise
        finally:
            _state.depth = depth

    return api_call


def not_recorded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a method that must leave the last error alone (the error getters)."""
    func._pyvirt_not_recorded = True  # type: ignore[attr-defined]
    return func


def recorded(cls: type) -> type:
    """Class decorator: every public method records its failures as above."""
    for name, member in list(vars(cls).items()):
        if (not name.startswith("_") and callable(member)
                and not getattr(member, "_pyvirt_not_recorded", False)):
            setattr(cls, name, _wrap(member))
    return cls


def recorded_function(func: Callable[..., Any]) -> Callable[..., Any]:
    """The same, for module-level API functions."""
    return _wrap(func)

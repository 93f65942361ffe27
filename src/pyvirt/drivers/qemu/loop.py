"""One asyncio loop in a daemon thread: the bridge from sync callers to async code.

The libvirt-python surface is synchronous; the QMP monitor and process watchers
are asyncio. Every sync facade in this package runs its coroutines here, so
there is one loop, one thread, and callbacks always fire on that thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, Callable, TypeVar

from pyvirt.errors import VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU, error

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in its own daemon thread."""

    _shared: "LoopThread | None" = None
    _shared_lock = threading.Lock()

    def __init__(self, name: str = "pyvirt-qemu-loop") -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=name, daemon=True)
        self._thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    @classmethod
    def shared(cls) -> "LoopThread":
        """The process-wide loop thread, started on first use."""
        with cls._shared_lock:
            if cls._shared is None or not cls._shared._thread.is_alive():
                cls._shared = cls()
            return cls._shared

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def run(self, coro: Awaitable[T], timeout: float | None = None, what: str = "operation") -> T:
        """Run ``coro`` on the loop and wait for its result (from another thread)."""
        if self.in_loop_thread():
            raise RuntimeError("LoopThread.run called from its own loop thread")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise error(VIR_ERR_OPERATION_TIMEOUT, f"{what} did not finish within {timeout} s",
                        domain=VIR_FROM_QEMU) from None

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule a plain callable on the loop thread (thread-safe)."""
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        """Stop the loop and join the thread (tests; the shared loop lives forever)."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()

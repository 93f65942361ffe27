"""Run a :class:`~pyvirt.daemon.server.Daemon` on an event loop in a thread of
this process: for tests and tools that want a pyvirtd next to them without a
second process. ``stop()`` always cleans up (listeners, sockets, clients)."""

from __future__ import annotations

import asyncio
import threading

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.server import Daemon, load_drivers


class DaemonThread:
    """A started daemon (``DaemonThread(config).start()``) and its addresses."""

    def __init__(self, config: DaemonConfig, listen: bool = True):
        self.daemon = Daemon(config, listen=listen)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="pyvirtd-thread")

    def start(self) -> "DaemonThread":
        load_drivers()
        self.thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.daemon.start(), self.loop).result(10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.daemon.stop(), self.loop).result(10)
        asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def rw_path(self) -> str:
        return self.daemon.config.socket_paths()[0]

    @property
    def ro_path(self) -> str:
        return self.daemon.config.socket_paths()[1]

    def port(self, kind: str = "tcp") -> int:
        """The port a ``tcp`` or ``tls`` listener got (``tcp_port = 0`` picks one)."""
        found = [lst for lst in self.daemon.listeners if lst.kind == kind]
        return int(found[0].address.rsplit(":", 1)[1])

    @property
    def tcp_port(self) -> int:
        return self.port("tcp")


async def _cancel_the_rest() -> None:
    """Cancel and await the tasks a stopped daemon left (clients mid-handshake)."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

"""The serial worker and autostart pass a stateful hypervisor driver (QEMU, LXC) runs:
one thread takes tasks (monitor events, process exits) in order, each under the
driver's lock, delivering the events it queued; autostart starts every inactive
domain marked so, logging (not raising) what fails."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

from pyvirt.errors import libvirtError
from pyvirt.objects import numbers as n

log = logging.getLogger(__name__)


class DriverWorker:
    """Mixed into a driver state that has ``lock``, ``events`` and ``domains``."""

    lock: Any
    events: Any
    domains: Any

    def _init_worker(self, thread_name: str) -> None:
        self._tasks: queue.Queue[Callable[[], None]] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name=thread_name, daemon=True)

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            try:
                with self.lock:
                    task()
            except Exception:  # noqa: BLE001 - keep serving the other domains
                log.exception("%s task failed", self._worker.name)
            self.events.flush()

    def post(self, task: Callable[[], None]) -> None:
        """Run ``task`` on the worker thread, after the tasks posted before it."""
        self._tasks.put(task)

    def _autostart_each(self, start: Callable[[Any], None], what: str) -> None:
        """``start(dom)`` under the lock for every inactive autostart domain."""
        for dom in self.domains.list(n.LIST_DOMAINS_INACTIVE | n.LIST_DOMAINS_AUTOSTART):
            try:
                with self.lock:
                    start(dom)
            except libvirtError as err:
                log.error("failed to autostart %s '%s': %s", what, dom.name,
                          err.get_error_message())
        self.events.flush()

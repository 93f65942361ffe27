"""Where one QEMU process keeps its files (chosen by the driver, read by command.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RunPaths:
    """A domain's per-run files.

    ``monitor_fd`` is set when the caller created the QMP listening socket itself
    and passes it to QEMU (``-chardev socket,fd=N,server=on``): then there is no
    race between QEMU creating the socket and us connecting. Otherwise QEMU
    listens on ``monitor`` itself.
    """

    run_dir: str
    monitor: str
    log: str
    monitor_fd: int | None = None
    tap_fds: tuple[int, ...] = ()   # one per tap-backed <interface>, in document order
    incoming_fd: int | None = None  # a restore: QEMU reads the migration stream from it

    @classmethod
    def under(cls, run_dir: str, monitor_fd: int | None = None) -> "RunPaths":
        return cls(run_dir=run_dir, monitor=os.path.join(run_dir, "monitor.sock"),
                   log=os.path.join(run_dir, "qemu.log"), monitor_fd=monitor_fd)

    def with_monitor_fd(self, fd: int | None) -> "RunPaths":
        return RunPaths(self.run_dir, self.monitor, self.log, fd, self.tap_fds,
                        self.incoming_fd)

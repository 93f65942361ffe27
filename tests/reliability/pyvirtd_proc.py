"""pyvirtd as a child process on a unix socket in a folder, for the reliability
runs: start, RSS, kill -9, stop; always reaped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class PyvirtdProcess:
    """One ``pyvirtd -f FOLDER/pyvirtd.conf`` serving ``FOLDER/libvirt-sock``."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.config = folder / "pyvirtd.conf"
        self.config.write_text(f'listen_tcp = 0\nlisten_tls = 0\nunix_sock_dir = "{folder}"\n')
        self.socket = folder / "libvirt-sock"
        self.log = folder / "pyvirtd.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "PyvirtdProcess":
        # a socket file left by a killed daemon must not pass for the new one
        for stale in (self.socket, self.folder / "libvirt-sock-ro"):
            if stale.exists():
                stale.unlink()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pyvirt.daemon.main", "-f", str(self.config)],
                stdout=log, stderr=log, env=self.env, cwd=self.folder)
        for _ in range(1200):
            if self.socket.exists():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"pyvirtd exited {self.proc.returncode}: "
                                   f"{self.log.read_text()[-2000:]}")
            time.sleep(0.01)
        self.stop()
        raise RuntimeError("pyvirtd did not create its socket in 12 s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

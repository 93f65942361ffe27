"""Helpers for real-container tests: the rootfs check, container XML, waiting,
a console reader and the leftovers check (imported by conftest and tests)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ROOTFS = REPO / "var" / "rootfs"


def can_run_containers() -> str | None:
    """Why real containers cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root"
    if not shutil.which("busybox") and not Path("/bin/busybox").exists():
        return "needs busybox-static"
    if not Path("/proc/self/ns/user").exists():
        return "needs user namespaces"
    return None


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate`` until it is truthy (returns it) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class ConsoleReader:
    """A non-blocking console stream and the text read from it so far."""

    def __init__(self, conn, dom) -> None:
        import pyvirt

        self.stream = conn.newStream(pyvirt.VIR_STREAM_NONBLOCK)
        dom.openConsole(None, self.stream, 0)
        self.text = ""

    def pump(self) -> str:
        while True:
            data = self.stream.recv(65536)
            if data == -2 or data == b"":
                return self.text
            self.text += data.decode(errors="replace")

    def expect(self, needle: str, timeout: float = 10.0) -> str:
        wait_for(lambda: needle in self.pump(), timeout, f"{needle!r} on the console "
                 f"(got {self.text[-300:]!r})")
        return self.text

    def run(self, command: str, marker: str, timeout: float = 10.0) -> str:
        """Send ``command``; wait for ``marker`` in its output (after the terminal's
        echo of the command line itself, which may contain the marker too)."""
        start = len(self.pump())
        self.stream.send(command.encode() + b"\n")

        def seen() -> bool:
            after = self.pump()[start:]
            return "\n" in after and marker in after.split("\n", 1)[1]

        wait_for(seen, timeout, f"{marker!r} after {command!r} (got {self.text[-300:]!r})")
        return self.text

    def close(self) -> None:
        try:
            self.stream.finish()
        except Exception:  # noqa: BLE001 - the container may be gone
            self.stream.abort()


def container_xml(name: str, rootfs: Path, *, init: str = "/sbin/ct-init", memory_mib: int = 64,
                  idmap: bool = True, extra_devices: str = "", extra: str = "") -> str:
    idmap_xml = ("<idmap><uid start='0' target='100000' count='65536'/>"
                 "<gid start='0' target='100000' count='65536'/></idmap>") if idmap else ""
    return f"""<domain type='lxc'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <os><type>exe</type><init>{init}</init></os>
  {idmap_xml}
  {extra}
  <devices>
    <filesystem type='mount'><source dir='{rootfs}'/><target dir='/'/></filesystem>
    {extra_devices}
    <console type='pty'/>
  </devices>
</domain>"""


def leftovers(drv_dirs, name: str, init_pid: int, cgroup_dirs: list[Path]) -> list[str]:
    """What a stopped container left behind (empty when nothing)."""
    found = []
    if init_pid > 0 and Path(f"/proc/{init_pid}").exists():
        state = Path(f"/proc/{init_pid}/stat").read_text().split()[2] \
            if Path(f"/proc/{init_pid}/stat").exists() else "?"
        if state != "Z":
            found.append(f"process {init_pid}")
    for path in cgroup_dirs:
        if path.exists():
            found.append(f"cgroup {path}")
    if drv_dirs.status_path(name).exists():
        found.append("status file")
    if str(ROOTFS) in Path("/proc/self/mountinfo").read_text():
        found.append("mount of the rootfs in the host's namespace")
    if drv_dirs.console_path(name).exists():
        found.append("console socket")
    return found

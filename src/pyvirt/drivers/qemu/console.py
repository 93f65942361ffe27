"""A domain's serial console as a stream (virDomainOpenConsole).

The console must be a ``pty`` (its ``/dev/pts/N`` comes from QMP
``query-chardev`` at start and is recorded in the live XML, as libvirt does)
or a ``unix`` socket. One session at a time per domain; ``FORCE`` takes over
an open one (which is aborted). A thread per session copies the guest's output
into the stream; what the application sends goes straight to the device.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import termios
import threading
import tty
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_ERR_RPC,
    VIR_FROM_QEMU, VIR_FROM_STREAMS, error,
)

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState
    from pyvirt.objects.domain_obj import DomainObj

log = logging.getLogger(__name__)

CONSOLE_FORCE, CONSOLE_SAFE = 1, 2


@dataclass
class ConsoleSession:
    """One open console: the device fd and the stream it feeds."""

    fd: int
    end: Any
    closed: bool = False
    _wake_r: int = -1
    _wake_w: int = -1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        self.end.on_data(self.send, finish=self.close, abort=self.close)
        threading.Thread(target=self._pump, name="qemu-console", daemon=True).start()

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.closed:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                select.select([], [self.fd], [], 1.0)
                continue
            except OSError:
                break
            view = view[written:]

    def _pump(self) -> None:
        try:
            while not self.closed:
                ready = select.select([self.fd, self._wake_r], [], [])[0]
                if self._wake_r in ready:
                    break
                try:
                    data = os.read(self.fd, 65536)
                except BlockingIOError:
                    continue
                except OSError as err:
                    if err.errno == errno.EIO:   # pty: the other side is gone
                        break
                    raise
                if not data:
                    break
                self.end.write(data)
        except OSError as err:
            log.debug("console read ended: %s", err)
        finally:
            if not self.closed:
                self.end.finish()
            self._release()

    def close(self) -> None:
        """End the session (application finished or aborted, or taken over)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            if self._wake_w >= 0:
                try:
                    os.write(self._wake_w, b"x")
                except OSError:
                    pass

    def hangup(self) -> None:
        """The domain stopped: the application reads end of stream."""
        if not self.closed:
            self.end.finish()
        self.close()

    def _release(self) -> None:
        with self._lock:
            for fd in (self.fd, self._wake_r, self._wake_w):
                if fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self.fd = self._wake_r = self._wake_w = -1


def record_pty_paths(drv: "QemuDriverState", dom: "DomainObj", rt: Any) -> None:
    """Write each pty's ``/dev/pts/N`` into the live XML, as libvirt shows it:
    ``<source path=.../>`` on the serial, ``tty=`` + source on its console."""
    ptys = [dev for dev in _char_devices(dom) if dev.get("type", "pty") == "pty"]
    if not ptys:
        return
    chardevs = {c["label"]: c.get("filename", "") for c in rt.monitor.execute("query-chardev")}
    first_path = None
    for index, dev in enumerate(_char_devices(dom)):
        target = dev.find("target")
        port = target.get("port", str(index)) if target is not None else str(index)
        filename = chardevs.get(f"charserial{port}", "")
        if dev.get("type", "pty") != "pty" or not filename.startswith("pty:"):
            continue
        _set_source(dev, filename[4:])
        if index == 0:
            first_path = filename[4:]
    for console in dom.live_def.node.iterfind("devices/console"):
        if first_path and console.get("type", "pty") == "pty":
            console.set("tty", first_path)
            _set_source(console, first_path)
        break


def _set_source(dev: Any, path: str) -> None:
    from lxml import etree

    source = dev.find("source")
    if source is None:
        source = etree.Element("source")
        dev.insert(0, source)
    source.set("path", path)


def _char_devices(dom: "DomainObj") -> list[Any]:
    return list(dom.live_def.node.iterfind("devices/serial"))


def _find_device(dom: "DomainObj", dev_name: str | None) -> Any:
    serials = _char_devices(dom)
    consoles = list(dom.live_def.node.iterfind("devices/console"))
    if dev_name is None:
        if consoles and serials:
            return serials[0]            # the first console is serial 0 itself
        if consoles:
            return consoles[0]
        if serials:
            return serials[0]
        raise error(VIR_ERR_INTERNAL_ERROR, "cannot find default console device",
                    domain=VIR_FROM_QEMU)
    for kind, devices in (("serial", serials), ("console", consoles)):
        for index, dev in enumerate(devices):
            alias = dev.find("alias")
            names = {f"{kind}{index}"} | ({alias.get("name")} if alias is not None else set())
            if dev_name in names:
                # a serial console is the serial port itself
                if kind == "console" and serials and index == 0:
                    return serials[0]
                return dev
    raise error(VIR_ERR_INTERNAL_ERROR, f"cannot find character device {dev_name}",
                domain=VIR_FROM_QEMU)


def _not_pty(name: str) -> Exception:
    return error(VIR_ERR_INTERNAL_ERROR, f"character device {name} is not using a PTY",
                 domain=VIR_FROM_QEMU)


def _open_device(dev: Any, name: str) -> int:
    kind = dev.get("type", "pty")
    source = dev.find("source")
    path = source.get("path") if source is not None else None
    if kind == "pty":
        if not path:
            raise _not_pty(name)
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            tty.setraw(fd, termios.TCSANOW)
        except termios.error:
            pass
        return fd
    if kind == "unix" and path:
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        sock.setblocking(False)
        return sock.detach()
    raise _not_pty(name)


def open_console(drv: "QemuDriverState", dom: "DomainObj", dev_name: str | None, end: Any,
                 flags: int) -> None:
    if not dom.active:
        raise error(VIR_ERR_OPERATION_INVALID, "domain is not running", domain=VIR_FROM_QEMU)
    dev = _find_device(dom, dev_name)
    has_console = dom.live_def.node.find("devices/console") is not None
    name = dev_name or ("console0" if has_console else "serial0")
    sessions: dict[bytes, ConsoleSession] = drv.consoles
    current = sessions.get(dom.uuid)
    if current is not None and not current.closed:
        if not flags & CONSOLE_FORCE:
            raise error(VIR_ERR_OPERATION_FAILED,
                        "Active console session exists for this domain", domain=VIR_FROM_QEMU)
        # libvirt aborts the old stream; its daemon reports that to the old client
        # as the stream's I/O failure (virsh: "error: stream had I/O failure")
        current.end.abort(error(VIR_ERR_RPC, "stream had I/O failure",
                                domain=VIR_FROM_STREAMS))
        current.close()
    session = ConsoleSession(fd=_open_device(dev, name), end=end)
    sessions[dom.uuid] = session
    session.start()

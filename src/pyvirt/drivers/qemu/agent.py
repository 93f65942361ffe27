"""The QEMU guest agent: a virtio-serial channel ``org.qemu.guest_agent.0``.

QEMU serves the channel on a unix socket (``<channel type='unix'>``; without a
path it is ``RUN/domain-NAME/org.qemu.guest_agent.0.sock``). One short
connection per request: ``guest-sync`` with a random id first (so a reply left
over from an earlier request is skipped), then the command. ``guest-shutdown``
gets no reply when the guest powers off at once; its completion is QEMU's
``SHUTDOWN`` event, as for ACPI.
"""

from __future__ import annotations

import json
import os
import random
import socket
import time
from typing import Any

from pyvirt.errors import (
    VIR_ERR_AGENT_UNRESPONSIVE, VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR,
    VIR_FROM_QEMU, error,
)

AGENT_CHANNEL = "org.qemu.guest_agent.0"
#: seconds to wait for the agent's answer to guest-sync (libvirt: 5 s)
SYNC_TIMEOUT_S = 5.0


def channel_path(live_def: Any, run_dir: str) -> str | None:
    """The host socket of the guest agent channel, None when not configured."""
    devs = live_def.node.find("devices")
    if devs is None:
        return None
    for chan in devs.findall("channel"):
        target = chan.find("target")
        if target is None or target.get("type") != "virtio" \
                or target.get("name") != AGENT_CHANNEL:
            continue
        if chan.get("type") != "unix":
            return None
        source = chan.find("source")
        path = source.get("path") if source is not None else None
        return path or os.path.join(run_dir, f"{AGENT_CHANNEL}.sock")
    return None


def not_configured() -> Exception:
    return error(VIR_ERR_ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured",
                 domain=VIR_FROM_QEMU)


def sync_request(sync_id: int) -> bytes:
    return json.dumps({"execute": "guest-sync", "arguments": {"id": sync_id}}).encode() + b"\n"


def parse_replies(buffer: bytes) -> tuple[list[dict], bytes]:
    """Complete JSON lines of ``buffer`` (garbage lines skipped) and the rest."""
    *lines, rest = buffer.split(b"\n")
    replies = []
    for line in lines:
        line = line.strip().lstrip(b"\xff")
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            replies.append(value)
    return replies, rest


class AgentLink:
    """One connection to a guest agent socket."""

    def __init__(self, path: str, timeout: float = SYNC_TIMEOUT_S) -> None:
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.buffer = b""
        try:
            self.sock.connect(path)
        except OSError as err:
            self.sock.close()
            raise error(VIR_ERR_AGENT_UNRESPONSIVE, "QEMU guest agent is not connected",
                        domain=VIR_FROM_QEMU) from err

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "AgentLink":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _reply(self, deadline: float, want: Any = None) -> dict | None:
        """The next reply (the one whose ``return`` is ``want`` when given), or
        None when the guest closed the channel."""
        while True:
            replies, self.buffer = parse_replies(self.buffer)
            for reply in replies:
                if want is None or reply.get("return") == want:
                    return reply
            left = deadline - time.monotonic()
            if left <= 0:
                raise error(VIR_ERR_AGENT_UNRESPONSIVE, "Guest agent not available for now",
                            domain=VIR_FROM_QEMU)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            self.buffer += chunk

    def sync(self) -> None:
        """guest-sync: the agent answers with our id (older answers are skipped)."""
        sync_id = random.randint(1, 2**31 - 1)
        self.sock.sendall(sync_request(sync_id))
        if self._reply(time.monotonic() + self.timeout, sync_id) is None:
            raise error(VIR_ERR_AGENT_UNRESPONSIVE, "Guest agent not available for now",
                        domain=VIR_FROM_QEMU)

    def command(self, name: str, arguments: dict | None = None,
                expect_reply: bool = True) -> Any:
        msg: dict[str, Any] = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        if not expect_reply:
            return None
        reply = self._reply(time.monotonic() + self.timeout)
        if reply is None:
            raise error(VIR_ERR_AGENT_UNRESPONSIVE, "Guest agent disappeared while executing "
                        "command", domain=VIR_FROM_QEMU)
        if "error" in reply:
            detail = reply["error"].get("desc", "unknown error")
            raise error(VIR_ERR_INTERNAL_ERROR, f"unable to execute QEMU agent command "
                        f"'{name}': {detail}", domain=VIR_FROM_QEMU)
        return reply.get("return")


def ping(path: str) -> None:
    with AgentLink(path) as link:
        link.sync()
        link.command("guest-ping")


def shutdown(path: str, mode: str = "powerdown") -> None:
    """Ask the agent to power the guest off (``powerdown``) or reboot it."""
    with AgentLink(path) as link:
        link.sync()
        link.command("guest-shutdown", {"mode": mode}, expect_reply=False)

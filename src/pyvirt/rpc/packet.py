"""Message framing of libvirt's RPC layer, without I/O.

A frame is a 4-byte big-endian length that counts itself, a 24-byte header
(six words: program, version, procedure, type, serial, status) and a
payload. :class:`FrameSplitter` is fed bytes as they arrive and returns whole
messages; it checks the length word against the limit before buffering a
body, so a peer cannot make us allocate more than :data:`MESSAGE_MAX`.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

#: Limits (virnetprotocol.x). MESSAGE_MAX counts header + payload, not the
#: length word.
MESSAGE_INITIAL = 65536
MESSAGE_MAX = 33554432
MESSAGE_HEADER_MAX = 24
MESSAGE_LEN_MAX = 4
MESSAGE_PAYLOAD_MAX = MESSAGE_MAX - MESSAGE_HEADER_MAX
MESSAGE_STRING_MAX = 4194304
MESSAGE_NUM_FDS_MAX = 32

_LEN = struct.Struct(">I")
_HEADER = struct.Struct(">IIiiIi")


class MessageType(enum.IntEnum):
    CALL = 0
    REPLY = 1
    MESSAGE = 2
    STREAM = 3
    CALL_WITH_FDS = 4
    REPLY_WITH_FDS = 5
    STREAM_HOLE = 6


class MessageStatus(enum.IntEnum):
    OK = 0
    ERROR = 1
    CONTINUE = 2


class FrameError(ValueError):
    """A frame that cannot be read: the connection must be dropped."""


@dataclass(frozen=True, slots=True)
class Header:
    prog: int
    vers: int
    proc: int
    type: int
    serial: int
    status: int

    def reply(self, status: int = MessageStatus.OK, type_: int = MessageType.REPLY) -> "Header":
        """The header answering this one: same program, procedure and serial."""
        return Header(self.prog, self.vers, self.proc, type_, self.serial, status)


@dataclass(frozen=True, slots=True)
class Message:
    header: Header
    body: bytes


def encode_header(header: Header) -> bytes:
    return _HEADER.pack(header.prog, header.vers, header.proc, header.type,
                        header.serial, header.status)


def decode_header(data: bytes | memoryview) -> Header:
    if len(data) < MESSAGE_HEADER_MAX:
        raise FrameError(f"message of {len(data)} bytes is shorter than its header")
    return Header(*_HEADER.unpack_from(data, 0))


def encode_message(header: Header, body: bytes = b"") -> bytes:
    """One whole frame: length word, header, body."""
    total = MESSAGE_LEN_MAX + MESSAGE_HEADER_MAX + len(body)
    if total - MESSAGE_LEN_MAX > MESSAGE_MAX:
        raise FrameError(f"message of {total} bytes exceeds the maximum {MESSAGE_MAX}")
    return _LEN.pack(total) + _HEADER.pack(header.prog, header.vers, header.proc,
                                           header.type, header.serial, header.status) + body


def check_length(length: int, limit: int = MESSAGE_MAX) -> None:
    """Validate a frame's length word (which counts itself)."""
    if length < MESSAGE_LEN_MAX + MESSAGE_HEADER_MAX:
        raise FrameError(f"packet length {length} is too small for a header")
    if length - MESSAGE_LEN_MAX > limit:
        raise FrameError(f"packet length {length} exceeds maximum {limit + MESSAGE_LEN_MAX}")


class FrameSplitter:
    """Sans-IO reader: ``feed(bytes)`` returns the whole messages now complete."""

    def __init__(self, limit: int = MESSAGE_MAX):
        self._buf = bytearray()
        self._limit = limit
        self._need: int | None = None  # length of the frame being read

    @property
    def pending(self) -> int:
        """Bytes buffered that do not yet make a whole frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        messages: list[Message] = []
        buf = self._buf
        pos = 0
        while True:
            if self._need is None:
                if len(buf) - pos < MESSAGE_LEN_MAX:
                    break
                length = _LEN.unpack_from(buf, pos)[0]
                check_length(length, self._limit)
                self._need = length
            if len(buf) - pos < self._need:
                break
            frame = bytes(buf[pos + MESSAGE_LEN_MAX:pos + self._need])
            pos += self._need
            self._need = None
            messages.append(Message(decode_header(frame), frame[MESSAGE_HEADER_MAX:]))
        if pos:
            del buf[:pos]
        return messages


# --- stream holes (virnetprotocol.x: virNetStreamHole) ---------------------------------
_HOLE = struct.Struct(">qI")


def encode_stream_hole(length: int, flags: int = 0) -> bytes:
    """The body of a STREAM_HOLE message: ``hyper length; unsigned int flags``."""
    return _HOLE.pack(length, flags)


def decode_stream_hole(body: bytes) -> tuple[int, int]:
    """(length, flags) of a STREAM_HOLE body; FrameError when malformed."""
    if len(body) != _HOLE.size:
        raise FrameError(f"stream hole of {len(body)} bytes, expected {_HOLE.size}")
    return _HOLE.unpack(body)

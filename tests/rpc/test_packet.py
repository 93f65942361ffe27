"""Framing: length word, header, limits, and the sans-IO splitter."""

from __future__ import annotations

import struct

import pytest

from pyvirt.rpc import packet
from pyvirt.rpc.packet import FrameError, FrameSplitter, Header, MessageStatus, MessageType

PROGRAM = 0x20008086


def frame(proc: int, body: bytes = b"", serial: int = 1, type_: int = 0, status: int = 0,
          prog: int = PROGRAM, vers: int = 1) -> bytes:
    """A frame built by hand, byte by byte."""
    return struct.pack(">IIIiiIi", 28 + len(body), prog, vers, proc, type_, serial, status) + body


def test_encode_message_matches_the_hand_built_frame():
    header = Header(PROGRAM, 1, 66, MessageType.CALL, 1, MessageStatus.OK)
    assert packet.encode_message(header) == frame(66)
    assert packet.encode_message(header, b"\0\0\0\1") == frame(66, b"\0\0\0\1")


def test_length_counts_itself():
    raw = frame(3, b"abcd")
    assert struct.unpack(">I", raw[:4])[0] == len(raw) == 32


def test_header_round_trip_and_reply():
    header = packet.decode_header(frame(23, serial=9)[4:])
    assert header == Header(PROGRAM, 1, 23, 0, 9, 0)
    reply = header.reply(MessageStatus.ERROR)
    assert (reply.proc, reply.serial, reply.type, reply.status) == (23, 9, 1, 1)


def test_splitter_handles_byte_at_a_time_and_many_per_read():
    splitter = FrameSplitter()
    data = frame(1, b"\0\0\0\0", serial=1) + frame(2, serial=2)
    seen = []
    for i in range(len(data)):
        seen += splitter.feed(data[i:i + 1])
    assert [(m.header.proc, m.header.serial, m.body) for m in seen] == [
        (1, 1, b"\0\0\0\0"), (2, 2, b"")]
    assert splitter.pending == 0
    both = FrameSplitter().feed(data)
    assert [m.header.proc for m in both] == [1, 2]


def test_oversized_length_is_refused_before_the_body_arrives():
    splitter = FrameSplitter()
    with pytest.raises(FrameError, match="exceeds maximum"):
        splitter.feed(struct.pack(">I", packet.MESSAGE_MAX + 5))


def test_length_smaller_than_a_header_is_refused():
    with pytest.raises(FrameError, match="too small"):
        FrameSplitter().feed(struct.pack(">I", 27) + b"\0" * 24)


def test_limit_is_configurable():
    splitter = FrameSplitter(limit=100)
    with pytest.raises(FrameError):
        splitter.feed(frame(1, b"\0" * 100))


def test_frame_at_the_maximum_is_accepted():
    body = b"\0" * packet.MESSAGE_PAYLOAD_MAX
    messages = FrameSplitter().feed(frame(1, body))
    assert len(messages) == 1 and len(messages[0].body) == packet.MESSAGE_PAYLOAD_MAX


def test_encode_refuses_oversized_message():
    header = Header(PROGRAM, 1, 1, 0, 1, 0)
    with pytest.raises(FrameError):
        packet.encode_message(header, b"\0" * (packet.MESSAGE_PAYLOAD_MAX + 1))


def test_limits_match_virnetprotocol():
    assert packet.MESSAGE_HEADER_MAX == 24
    assert packet.MESSAGE_LEN_MAX == 4
    assert packet.MESSAGE_PAYLOAD_MAX == packet.MESSAGE_MAX - 24
    assert [t.value for t in MessageType] == [0, 1, 2, 3, 4, 5, 6]
    assert [s.value for s in MessageStatus] == [0, 1, 2]

"""Fuzzing the RPC decoder: packet framing, the XDR args struct of every
procedure (valid, then damaged), the dispatcher in-process on test:///default,
and a real pyvirtd process on a unix socket fed hostile frames.

Acceptable: FrameError / XdrError from the codecs, libvirtError from the
dispatcher, error replies or a disconnect from the daemon, which stays up.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import strategies as st

from pyvirt.errors import libvirtError
from pyvirt.remote.dispatch import Dispatcher
from pyvirt.remote.protocol import TABLE
from pyvirt.remote.schema import REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, remote_error
from pyvirt.remote.session import Session
from pyvirt.rpc.packet import (FrameError, FrameSplitter, Header, Message, MessageStatus,
                               MessageType, decode_header, encode_message)
from pyvirt.rpc.xdr import XdrError

from .conftest import run_target
from .xdr_values import damaged_bytes, values_for

#: procedures never fuzzed with live effects: they name host paths (save images,
#: core dumps), open or close the connection, or need a data stream
_UNSAFE = {"CONNECT_OPEN", "CONNECT_CLOSE", "DOMAIN_SAVE", "DOMAIN_SAVE_FLAGS", "DOMAIN_RESTORE",
           "DOMAIN_RESTORE_FLAGS", "DOMAIN_CORE_DUMP", "DOMAIN_CORE_DUMP_WITH_FORMAT",
           "DOMAIN_SAVE_IMAGE_GET_XML_DESC", "DOMAIN_SAVE_IMAGE_DEFINE_XML"}
SAFE = sorted(p.number for p in TABLE.procedures.values()
              if p.name not in _UNSAFE and p.stream is None)
WITH_ARGS = sorted(p.number for p in TABLE.procedures.values() if p.args is not None)


# --- framing -----------------------------------------------------------------------
headers = st.builds(Header, st.sampled_from((REMOTE_PROGRAM, 0x6B656570, 0, 0xFFFFFFFF)),
                    st.integers(0, 2**32 - 1), st.integers(-2**31, 2**31 - 1),
                    st.integers(-2**31, 2**31 - 1), st.integers(0, 2**32 - 1),
                    st.integers(-2**31, 2**31 - 1))
frames = st.builds(encode_message, headers, st.binary(max_size=64))
lying_lengths = st.builds(lambda n, rest: n.to_bytes(4, "big") + rest,
                          st.sampled_from((0, 1, 27, 28, 29, 2**25 + 4, 2**25 + 5, 2**32 - 1)),
                          st.binary(max_size=40))
streams = st.lists(st.one_of(frames, frames, lying_lengths, st.binary(max_size=40)),
                   min_size=1, max_size=6).map(b"".join)


def test_frame_splitter_answers_frames_or_frame_errors() -> None:
    def feed(case: tuple[bytes, list[int]]) -> None:
        data, cuts = case
        splitter = FrameSplitter()
        pos = 0
        for cut in sorted(cuts) + [len(data)]:
            for message in splitter.feed(data[pos:cut]):
                assert isinstance(message.header, Header)
            pos = max(pos, cut)
        decode_header(data[:24])

    cases = streams.flatmap(lambda d: st.tuples(st.just(d), st.lists(
        st.integers(0, len(d)), max_size=5)))
    stats = run_target("rpc-packet", cases, feed, (FrameError,))
    assert stats.inputs > 0 and stats.crashes == 0 and stats.hangs == 0


def test_whole_frames_come_back_whatever_the_chunking() -> None:
    def split(case: tuple[list[bytes], int]) -> None:
        parts, step = case
        data = b"".join(parts)
        splitter = FrameSplitter()
        got = []
        for at in range(0, len(data), step):
            got += splitter.feed(data[at:at + step])
        assert [encode_message(m.header, m.body) for m in got] == parts
        assert splitter.pending == 0

    stats = run_target("rpc-packet-chunks", st.tuples(st.lists(frames, max_size=5),
                                                      st.integers(1, 64)), split, ())
    assert stats.inputs > 0 and stats.crashes == 0 and stats.hangs == 0


# --- XDR of every args struct -------------------------------------------------------
def _encoded_args(number: int) -> st.SearchStrategy[tuple[int, bytes]]:
    args = TABLE.procedures[number].args
    return values_for(args).map(lambda value: (number, args.encode(value)))


valid_args = st.sampled_from(WITH_ARGS).flatmap(_encoded_args)


def test_every_args_struct_decodes_or_answers_xdr_errors() -> None:
    """Valid bodies round-trip byte for byte; damaged ones and raw bytes decode or
    raise XdrError."""
    def decode(case: tuple[tuple[int, bytes], bytes, bytes]) -> None:
        (number, body), damaged, raw = case
        args = TABLE.procedures[number].args
        assert args.encode(args.decode(body)) == body
        for data in (damaged, raw):
            try:
                args.decode(data, exact=False)
            except XdrError:
                pass

    cases = valid_args.flatmap(lambda nb: st.tuples(st.just(nb), damaged_bytes(nb[1]),
                                                    st.binary(max_size=64)))
    stats = run_target("rpc-xdr", cases, decode, (XdrError,))
    assert stats.inputs > 0 and stats.crashes == 0 and stats.hangs == 0


# --- the dispatcher in-process --------------------------------------------------------
def _open_session(dispatcher: Dispatcher) -> Session:
    from pyvirt.daemon.server import load_drivers
    load_drivers()
    session = Session()
    dispatcher.dispatch(session, 1, TABLE.procedures[1].args.encode(
        {"name": "test:///default", "flags": 0}))
    return session


def _call_body(number: int) -> st.SearchStrategy[bytes]:
    args = TABLE.procedures[number].args
    if args is None:
        return st.binary(max_size=8)
    valid = values_for(args, known=True).map(args.encode)
    return st.one_of(valid, valid.flatmap(damaged_bytes), st.binary(max_size=48))


calls = st.one_of(st.sampled_from(SAFE).flatmap(lambda n: st.tuples(st.just(n), _call_body(n))),
                  st.tuples(st.integers(-2**31, 2**31 - 1), st.binary(max_size=16)))


def test_dispatcher_answers_libvirt_errors_only() -> None:
    """Every safe procedure with valid, damaged and raw args against
    test:///default: an encoded reply or a libvirtError, never another exception."""
    from pyvirt.drivers.test.state import SHARED_DEFAULT
    dispatcher = Dispatcher()
    session = _open_session(dispatcher)

    def call(case: tuple[int, bytes]) -> None:
        number, body = case
        if number in TABLE.procedures and number not in SAFE:
            return
        reply = dispatcher.dispatch(session, number, body)
        assert isinstance(reply, bytes)

    try:
        stats = run_target("rpc-dispatch", calls, call, (libvirtError,))
    finally:
        session.close()
        SHARED_DEFAULT.reset_for_tests()
    assert stats.inputs > 0 and stats.crashes == 0 and stats.hangs == 0


# --- a real pyvirtd --------------------------------------------------------------------
class RawClient:
    """A bare socket speaking frames to pyvirtd."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(str(path))
        self.splitter = FrameSplitter()
        self.serial = 0

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, number: int, body: bytes = b"") -> int:
        self.serial += 1
        self.send(encode_message(Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, number,
                                        MessageType.CALL, self.serial, MessageStatus.OK), body))
        return self.serial

    def replies(self) -> list[Message]:
        """Every frame until the daemon closes the connection, each checked: whole
        frames, error replies carrying a proper remote_error."""
        got: list[Message] = []
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return got
            for message in self.splitter.feed(chunk):
                header = message.header
                if header.type == MessageType.REPLY and header.status == MessageStatus.ERROR:
                    remote_error.decode(message.body)
                got.append(message)

    def reply_to(self, serial: int) -> Message | None:
        """The reply with ``serial``; None when the daemon closed the connection."""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            for message in self.splitter.feed(chunk):
                if message.header.type == MessageType.REPLY and message.header.serial == serial:
                    return message

    def close(self) -> None:
        self.sock.close()


def _open(client: RawClient) -> None:
    serial = client.call(1, TABLE.procedures[1].args.encode({"name": "test:///default",
                                                             "flags": 0}))
    answer = client.reply_to(serial)
    assert answer is not None and answer.header.status == MessageStatus.OK


@pytest.fixture
def pyvirtd(tmp_path):
    config = tmp_path / "pyvirtd.conf"
    config.write_text(f'listen_tcp = 0\nlisten_tls = 0\nunix_sock_dir = "{tmp_path}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "pyvirt.daemon.main", "-f", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = tmp_path / "libvirt-sock"
    try:
        for _ in range(400):
            if sock.exists() or proc.poll() is not None:
                break
            time.sleep(0.025)
        assert sock.exists(), f"pyvirtd did not start (exit {proc.poll()})"
        yield proc, sock
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


DAEMON_SAFE = SAFE
daemon_headers = headers.filter(lambda h: h.proc not in TABLE.procedures
                                or h.proc in DAEMON_SAFE)

hostile_frames = st.one_of(
    st.tuples(daemon_headers, st.sampled_from(DAEMON_SAFE).flatmap(_call_body)).map(
        lambda hb: encode_message(hb[0], hb[1])),
    st.sampled_from(DAEMON_SAFE).flatmap(lambda n: _call_body(n).map(lambda b: encode_message(
        Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, n, MessageType.CALL, 4242,
               MessageStatus.OK), b))),
    lying_lengths, st.binary(max_size=40))


def test_pyvirtd_answers_hostile_frames_and_stays_up(pyvirtd) -> None:
    """Each hostile frame goes on a fresh opened connection, followed by a
    getVersion call and the end of our writing: every frame the daemon sends back
    is whole and every error reply a proper remote_error, until it closes the
    connection. A second connection checks after each input that the daemon
    still answers; the process lives throughout."""
    proc, sock = pyvirtd
    watcher = RawClient(sock)
    _open(watcher)
    answered = {"probes": 0}

    def send(frame: bytes) -> None:
        client = RawClient(sock)
        try:
            _open(client)
            try:
                client.send(frame)
                serial = client.call(4)
                client.sock.shutdown(socket.SHUT_WR)
                for message in client.replies():
                    if message.header.serial == serial and message.header.status == 0:
                        answered["probes"] += 1
            except (BrokenPipeError, ConnectionResetError):   # dropped: fine
                pass
        finally:
            client.close()
        answer = watcher.reply_to(watcher.call(4))
        assert answer is not None and answer.header.status == MessageStatus.OK
        assert proc.poll() is None, "pyvirtd died"

    try:
        stats = run_target("rpc-daemon", hostile_frames, send, ())
    finally:
        watcher.close()
    assert proc.poll() is None
    print(f"rpc-daemon: probes answered after {answered['probes']} of {stats.inputs} inputs")
    assert stats.inputs > 0 and stats.crashes == 0 and stats.hangs == 0

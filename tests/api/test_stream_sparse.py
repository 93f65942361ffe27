"""Sparse streams on the in-process StreamEnd: holes both ways, libvirt-python's
recvFlags / recvHole / sendHole / sparseRecvAll / sparseSendAll semantics."""

from __future__ import annotations

import pytest

import pyvirt as libvirt
from pyvirt.api.stream import STREAM_BUF_SIZE, Hole, StreamEnd, virStream
from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID, libvirtError


def bound(sparse: bool = True) -> tuple[virStream, StreamEnd]:
    stream = virStream(None)
    end = stream._attach()
    end.sparse = sparse
    return stream, end


def test_buffer_size_is_the_real_bindings():
    assert STREAM_BUF_SIZE == 262120           # libvirt-python 9.0's virStorageVol.streamBufSize


def test_recv_flags_stops_at_a_hole_and_recv_hole_consumes_it():
    stream, end = bound()
    end.write(b"ab")
    end.write_hole(5000)
    end.write(b"cd")
    end.finish()
    stop = libvirt.VIR_STREAM_RECV_STOP_AT_HOLE
    assert stream.recvFlags(10, stop) == b"ab"
    assert stream.recvFlags(10, stop) == -3
    assert stream.recvFlags(10, stop) == -3            # still at the hole
    assert stream.recvHole() == 5000
    assert stream.recvHole() == 0                      # consumed, as libvirt's client
    assert stream.recvFlags(10, stop) == b"cd"
    assert stream.recvFlags(10, stop) == b""


def test_plain_recv_reads_a_hole_as_zeros():
    stream, end = bound()
    end.write_hole(6)
    end.write(b"x")
    end.finish()
    assert stream.recv(4) == bytes(4)
    assert stream.recv(4) == bytes(2)
    assert stream.recv(4) == b"x"
    assert stream.recv(4) == b""


def test_holes_need_a_sparse_stream():
    stream, _end = bound(sparse=False)
    with pytest.raises(libvirtError) as err:
        stream.sendHole(10)
    assert err.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert str(err.value) == ("Requested operation is not valid: "
                              "Skipping is not supported with this stream")
    with pytest.raises(libvirtError) as err:
        stream.recvHole()
    assert str(err.value).endswith(": Holes are not supported with this stream")


def test_bad_flags_are_refused():
    stream, _end = bound()
    with pytest.raises(libvirtError) as err:
        stream.recvFlags(10, 2)
    assert err.value.get_error_code() == VIR_ERR_INVALID_ARG
    assert str(err.value) == "unsupported flags (0x2) in function remoteStreamRecvFlags"
    with pytest.raises(libvirtError) as err:
        stream.recvHole(1)
    assert str(err.value) == "unsupported flags (0x1) in function remoteStreamRecvHole"


def test_send_hole_reaches_the_driver_in_order():
    stream, end = bound()
    got: list = []
    stream.send(b"early")
    stream.sendHole(100)
    end.on_data(lambda d: got.append(d), hole=lambda n: got.append(Hole(n)))
    stream.send(b"late")
    stream.sendHole(7)
    assert got == [b"early", Hole(100), b"late", Hole(7)]


def test_a_driver_without_hole_support_gets_zeros():
    stream, end = bound()
    got: list = []
    end.on_data(got.append)
    stream.sendHole(3)
    assert got == [bytes(3)]


def test_unbound_stream_has_no_holes():
    stream = virStream(None)
    with pytest.raises(libvirtError):
        stream.sendHole(1)
    with pytest.raises(libvirtError):
        stream.recvHole()


def test_sparse_recv_all_gives_data_and_holes():
    stream, end = bound()
    end.write(b"head")
    end.write_hole(1 << 30)
    end.write(b"tail")
    end.write_hole(10)
    end.finish()
    seen: list = []
    stream.sparseRecvAll(lambda st, data, op: op.append(data),
                         lambda st, length, op: op.append(Hole(length)), seen)
    assert seen == [b"head", Hole(1 << 30), b"tail", Hole(10)]


def test_sparse_recv_all_aborts_when_a_handler_fails():
    stream, end = bound()
    end.write_hole(10)
    end.finish()
    with pytest.raises(RuntimeError, match="holeHandler handler returned -1"):
        stream.sparseRecvAll(lambda *a: 0, lambda *a: -1, None)
    assert end.aborted_by_app


def test_sparse_send_all_walks_sections_like_the_binding():
    source = [(True, 3), (False, 1000), (True, 2), (True, 0)]
    data = iter([b"abc", b"de", b""])
    stream, end = bound()
    got: list = []
    end.on_data(got.append, hole=lambda n: got.append(Hole(n)))
    skipped: list = []
    wants: list = []

    def read(_st, nbytes, _op):
        wants.append(nbytes)
        return next(data)

    stream.sparseSendAll(read, lambda _st, _op: source.pop(0),
                         lambda _st, n, _op: skipped.append(n) or 0, None)
    assert got == [b"abc", Hole(1000), b"de"]
    assert skipped == [1000] and wants == [3, 2, 0]

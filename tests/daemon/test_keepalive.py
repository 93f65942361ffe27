"""Keepalive while a call runs long: the daemon reads and answers PINGs with
calls running and queued, and does not count a client's silence as missed
pongs while the client waits for the daemon's own replies."""

from __future__ import annotations

import time

from pyvirt.remote.client import RemoteClient
from pyvirt.remote.protocol import KEEPALIVE_PING, KEEPALIVE_PONG, KEEPALIVE_PROGRAM
from pyvirt.rpc.packet import Header, MessageStatus, MessageType

from .conftest import SlowHypervisor

GET_HOSTNAME, GET_TYPE = 59, 3          # the slow call; a cheap one
KEEPALIVE_FEATURE = 10


def call(client: RemoteClient, proc: int, serial: int) -> None:
    client.send(Header(0x20008086, 1, proc, MessageType.CALL, serial, MessageStatus.OK))


def ping(client: RemoteClient) -> None:
    client.send(Header(KEEPALIVE_PROGRAM, 1, KEEPALIVE_PING, MessageType.MESSAGE, 0,
                       MessageStatus.OK))


def start_slow_call(running, serial: int = 100) -> RemoteClient:
    SlowHypervisor.release.clear()
    SlowHypervisor.entered.clear()
    client = RemoteClient.unix(running.rw_path, timeout=15)
    assert client.call("CONNECT_SUPPORTS_FEATURE", feature=KEEPALIVE_FEATURE) == 1
    client.open("slow:///")
    call(client, GET_HOSTNAME, serial)
    assert SlowHypervisor.entered.wait(10)
    return client


def test_pings_are_answered_while_every_request_slot_is_taken(make_daemon):
    running = make_daemon(max_client_requests=1, keepalive_interval=0)
    client = start_slow_call(running)
    try:
        call(client, GET_TYPE, 101)         # waits for the slot the slow call holds
        ping(client)
        pong = client.receive()
        assert (pong.header.prog, pong.header.proc) == (KEEPALIVE_PROGRAM, KEEPALIVE_PONG)
        SlowHypervisor.release.set()
        assert client.wait_reply(100).header.status == MessageStatus.OK
        assert client.wait_reply(101).header.status == MessageStatus.OK
    finally:
        SlowHypervisor.release.set()
        client.close()


def test_a_client_waiting_on_a_long_call_is_not_dropped(make_daemon):
    running = make_daemon(keepalive_interval=1, keepalive_count=1)
    client = start_slow_call(running)
    try:
        # the client reads nothing (so answers no PING) for longer than the
        # daemon's interval * (count + 1): it is waiting for the daemon's reply
        time.sleep(3.5)
        assert running.client_count() == 1
        SlowHypervisor.release.set()
        assert client.wait_reply(100).header.status == MessageStatus.OK
        assert client.call("CONNECT_GET_TYPE") == "SLOW"
        pings = [m for m in client.other if m.header.prog == KEEPALIVE_PROGRAM]
        assert all(m.header.proc == KEEPALIVE_PING for m in pings)
    finally:
        SlowHypervisor.release.set()
        client.close()


def test_a_flood_beyond_twice_the_slots_still_gets_every_answer(make_daemon):
    running = make_daemon(max_client_requests=1, keepalive_interval=0)
    client = start_slow_call(running)
    try:
        for serial in range(200, 210):          # reading pauses past one running + one waiting
            call(client, GET_TYPE, serial)
        ping(client)
        SlowHypervisor.release.set()
        assert client.wait_reply(100).header.status == MessageStatus.OK
        answered = [client.wait_reply(serial).header.serial for serial in range(200, 210)]
        assert answered == list(range(200, 210))
        keepalive = [m for m in client.other if m.header.prog == KEEPALIVE_PROGRAM]
        pong = keepalive[0] if keepalive else client.receive()
        assert (pong.header.prog, pong.header.proc) == (KEEPALIVE_PROGRAM, KEEPALIVE_PONG)
    finally:
        SlowHypervisor.release.set()
        client.close()

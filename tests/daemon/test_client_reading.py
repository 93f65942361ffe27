"""A connection pauses reading for two reasons, a flood of calls and a stream
over its rate: reading resumes only when neither holds (a fake transport
records what the connection asked of it)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from pyvirt.daemon.client import ClientConnection
from pyvirt.remote.dispatch import Dispatcher


class FakeTransport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.calls: list[str] = []
        self.closed = False

    def pause_reading(self):
        self.calls.append("pause")

    def resume_reading(self):
        self.calls.append("resume")

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    def get_extra_info(self, name, default=None):
        return default


def with_connection(check) -> None:
    async def run():
        pool = ThreadPoolExecutor(1)
        client = ClientConnection(dispatcher=Dispatcher(), workers=pool, prio_workers=pool,
                                  readonly=False, secure=True, keepalive_interval=0)
        transport = FakeTransport()
        client.connection_made(transport)
        try:
            check(client, transport)
        finally:
            await client.close()
            pool.shutdown()
    asyncio.run(run())


def test_reading_resumes_only_when_flood_and_rate_limit_are_both_over():
    def check(client, transport):
        client._flooded = True
        client._update_reading()
        client._rate_paused = True
        client._update_reading()
        assert transport.calls == ["pause"]          # one pause for both reasons
        client._flooded = False
        client._update_reading()
        assert transport.calls == ["pause"]          # the rate limit still holds
        client._rate_resume()
        assert transport.calls == ["pause", "resume"]
    with_connection(check)


def test_an_admission_refused_closes_the_transport_and_serves_nothing():
    async def run():
        pool = ThreadPoolExecutor(1)
        gone = []
        client = ClientConnection(dispatcher=Dispatcher(), workers=pool, prio_workers=pool,
                                  readonly=False, secure=True,
                                  admit=lambda c, t: False, gone=gone.append)
        transport = FakeTransport()
        client.connection_made(transport)
        client.data_received(b"\0\0\0\x1c" + bytes(24))   # ignored: not served
        pool.shutdown()
        return transport, client, gone
    transport, client, gone = asyncio.run(run())
    assert transport.closed and client.session is None and gone == []

"""WebSockets: live events + stats (``/ws``) and the serial console proxy.

``/ws?hosts=0,1`` pushes lifecycle events the moment pyvirt delivers them and
a stats message per host at most once a second (one shared poller per host,
running only while someone watches).  The console socket bridges xterm.js to
``virDomain.openConsole`` over a non-blocking ``virStream``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import pyvirt

from . import vnc
from .auth import same_origin, session_user
from .events import Subscriber, ensure_event_loop
from .hosts import UnknownHost
from .stats import StatsPoller
from .workspace import Workspace, workspace_of

POLICY_VIOLATION = 1008


async def _authorised(websocket: WebSocket, permission: str | None = None) -> Any:
    """The session's user, or None after refusing the handshake (no session, another
    origin, or ``permission`` on the path's domain not allowed)."""
    user = session_user(websocket, websocket.app.state.users)
    name = websocket.path_params.get("name")
    if user is None or not same_origin(websocket) or (
            permission and not user.may(permission, name)):
        await websocket.close(code=POLICY_VIOLATION)
        return None
    return user


def _still_used(websocket: WebSocket) -> None:
    """An open page keeps its daemon-mode login from counting as idle."""
    logins = websocket.app.state.logins
    if logins is not None:
        logins.user_of(websocket.session)


def _host_indexes(websocket: WebSocket) -> list[int]:
    hosts = workspace_of(websocket).hosts
    wanted = websocket.query_params.get("hosts", "")
    out = []
    for part in wanted.split(","):
        if part.strip().isdigit() and int(part) < len(hosts):
            out.append(int(part))
    return out or list(range(len(hosts)))


def _poller(app: Any, space: Workspace, index: int) -> StatsPoller:
    pollers = space.pollers
    if index not in pollers:
        pollers[index] = StatsPoller(space.hosts.get(index), space.hub.publish,
                                     app.state.stats_interval)
    return pollers[index]


async def _until_disconnect(websocket: WebSocket) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except WebSocketDisconnect:
        return


async def events_socket(websocket: WebSocket) -> None:
    if await _authorised(websocket) is None:
        return
    await websocket.accept()
    app = websocket.app
    space = workspace_of(websocket)
    indexes = _host_indexes(websocket)
    sub = Subscriber(frozenset(indexes), asyncio.get_running_loop())
    space.hub.subscribe(sub)
    try:
        for index in indexes:
            host = space.hosts.get(index)
            try:
                await asyncio.to_thread(space.hub.watch, host)
            except pyvirt.libvirtError as err:
                await websocket.send_json({"type": "error", "host": index, "message": str(err)})
                continue
            _poller(app, space, index).start()
        await websocket.send_json({"type": "hello", "hosts": indexes})
        watcher = asyncio.ensure_future(_until_disconnect(websocket))
        while not watcher.done():
            getter = asyncio.ensure_future(sub.queue.get())
            done, _ = await asyncio.wait({getter, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_json(getter.result())
                _still_used(websocket)
            else:
                getter.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        space.hub.unsubscribe(sub)
        for index in indexes:
            if not space.hub.subscribers_of(index) and index in space.pollers:
                space.pollers[index].stop()


class ConsoleBridge:
    """One console stream: stream data -> asyncio queue, text from the page -> stream."""

    READ_EVENTS = (pyvirt.VIR_STREAM_EVENT_READABLE | pyvirt.VIR_STREAM_EVENT_HANGUP
                   | pyvirt.VIR_STREAM_EVENT_ERROR)

    def __init__(self, conn: Any, name: str, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self.closed = False
        ensure_event_loop()
        dom = conn.lookupByName(name)
        self.stream = conn.newStream(pyvirt.VIR_STREAM_NONBLOCK)
        dom.openConsole(None, self.stream, pyvirt.VIR_DOMAIN_CONSOLE_FORCE)
        self.stream.eventAddCallback(self.READ_EVENTS, self._on_event, None)

    def _push(self, item: bytes | None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:
            pass

    def _on_event(self, stream: Any, events: int, _opaque: Any) -> None:
        """Runs in pyvirt's event loop thread: drain what is readable."""
        while not self.closed:
            try:
                data = stream.recv(4096)
            except pyvirt.libvirtError:
                self._hang_up()
                return
            if data == -2:
                break
            if not data:
                self._hang_up()
                return
            self._push(data)
        if events & (pyvirt.VIR_STREAM_EVENT_HANGUP | pyvirt.VIR_STREAM_EVENT_ERROR):
            self._hang_up()

    def _hang_up(self) -> None:
        if not self.closed:
            self.closed = True
            self._push(None)

    def send(self, data: bytes) -> None:
        self.stream.send(data)

    def close(self) -> None:
        self.closed = True
        try:
            self.stream.eventRemoveCallback()
        except pyvirt.libvirtError:
            pass
        try:
            self.stream.abort()
        except pyvirt.libvirtError:
            pass


async def console_socket(websocket: WebSocket) -> None:
    if await _authorised(websocket, "domain:open_device") is None:
        return
    name = websocket.path_params["name"]
    try:
        host = workspace_of(websocket).hosts.get(websocket.path_params["host"])
        bridge = await asyncio.to_thread(ConsoleBridge, host.conn, name,
                                         asyncio.get_running_loop())
    except (pyvirt.libvirtError, UnknownHost) as err:
        await websocket.accept()
        await websocket.send_json({"type": "error", "message": str(err)})
        await websocket.close()
        return
    await websocket.accept()
    reader = asyncio.ensure_future(_console_to_page(websocket, bridge))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes") or (message.get("text") or "").encode()
            if data:
                await asyncio.to_thread(bridge.send, data)
    except (WebSocketDisconnect, pyvirt.libvirtError):
        pass
    finally:
        reader.cancel()
        await asyncio.to_thread(bridge.close)


async def _console_to_page(websocket: WebSocket, bridge: ConsoleBridge) -> None:
    while True:
        data = await bridge.queue.get()
        if data is None:
            await websocket.send_json({"type": "closed", "message": "console closed"})
            await websocket.close()
            return
        await websocket.send_bytes(data)


async def vnc_socket(websocket: WebSocket) -> None:
    """Bridge noVNC (binary frames) to the domain's VNC server, found via its live XML."""
    if await _authorised(websocket, "domain:open_graphics") is None:
        return
    name = websocket.path_params["name"]
    try:
        host = workspace_of(websocket).hosts.get(websocket.path_params["host"])
        xml = await asyncio.to_thread(lambda: host.conn.lookupByName(name).XMLDesc(0))
        target = vnc.vnc_target(host.uri, xml)
        channel = await vnc.open_vnc(target)
    except (pyvirt.libvirtError, UnknownHost, OSError) as err:
        await websocket.close(code=POLICY_VIOLATION if isinstance(err, UnknownHost)
                              else 1011, reason=str(err)[:120])
        return
    await websocket.accept()

    async def vnc_to_page() -> None:
        try:
            while data := await channel.reader.read(65536):
                await websocket.send_bytes(data)
            await websocket.close()              # the VNC server went away
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    pump = asyncio.ensure_future(vnc_to_page())
    try:
        while not pump.done():
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes") or (message.get("text") or "").encode()
            if data:
                channel.writer.write(data)
                await channel.writer.drain()
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        pump.cancel()
        await channel.close()


ROUTES = [
    WebSocketRoute("/ws", events_socket),
    WebSocketRoute("/hosts/{host}/domains/{name}/console/ws", console_socket),
    WebSocketRoute("/hosts/{host}/domains/{name}/vnc/ws", vnc_socket),
]

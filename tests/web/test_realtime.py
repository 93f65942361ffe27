"""WebSockets: lifecycle events pushed at once, stats, the serial console proxy."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from .conftest import Browser


def receive_until(ws, kind: str, limit: int = 50) -> dict:
    """The first message of type ``kind`` (stats keep arriving meanwhile)."""
    for _ in range(limit):
        message = ws.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message in {limit} messages")


def test_lifecycle_event_is_pushed(admin):
    admin.get("/hosts/0/domains/test")
    with admin.client.websocket_connect("/ws?hosts=0") as ws:
        assert ws.receive_json() == {"type": "hello", "hosts": [0]}
        admin.post("/hosts/0/domains/test/action/suspend")
        event = receive_until(ws, "lifecycle")
        assert event == {"type": "lifecycle", "host": 0, "domain": "test",
                         "event": "Suspended", "detail": 0, "state": "paused",
                         "state_class": "paused"}
        admin.post("/hosts/0/domains/test/action/destroy")
        event = receive_until(ws, "lifecycle")
        assert (event["event"], event["state"]) == ("Stopped", "shut off")


def test_undefine_event_marks_the_domain_gone(admin):
    admin.get("/hosts/0/domains/test")
    admin.post("/hosts/0/domains/test/action/destroy")
    with admin.client.websocket_connect("/ws") as ws:
        receive_until(ws, "hello")
        admin.post("/hosts/0/domains/test/action/undefine")
        event = receive_until(ws, "lifecycle")
        assert (event["event"], event["state_class"]) == ("Undefined", "gone")


def test_stats_are_pushed_with_rates(admin):
    with admin.client.websocket_connect("/ws?hosts=0") as ws:
        receive_until(ws, "stats")
        stats = receive_until(ws, "stats")
        test = stats["domains"]["test"]
        assert stats["host"] == 0
        assert test["state"] == "running" and test["vcpus"] == 2
        assert test["mem_kib"] == 2097152
        assert 0 < test["cpu"] <= 100 and test["disk_rd"] > 0 and test["net_rx"] > 0


def test_a_reader_receives_events_too(reader):
    with reader.client.websocket_connect("/ws?hosts=0") as ws:
        assert receive_until(ws, "hello")["hosts"] == [0]


def test_reconnect_after_a_dropped_socket(admin):
    admin.get("/hosts/0/domains/test")
    with admin.client.websocket_connect("/ws?hosts=0") as ws:
        receive_until(ws, "hello")
    with admin.client.websocket_connect("/ws?hosts=0") as ws:
        receive_until(ws, "hello")
        admin.post("/hosts/0/domains/test/action/suspend")
        assert receive_until(ws, "lifecycle")["event"] == "Suspended"


def test_socket_without_a_session_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws"):
            pass
    assert refused.value.code == 1008


def test_socket_with_a_forged_session_is_refused(client):
    client.cookies.set("pyvirt_session", "eyJ1c2VyIjogImFsaWNlIn0=.x.y")
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws"):
            pass


def test_cross_site_socket_is_refused(admin):
    with pytest.raises(WebSocketDisconnect):
        with admin.client.websocket_connect("/ws", headers={"origin": "http://evil.example"}):
            pass
    with admin.client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        assert receive_until(ws, "hello")


@pytest.fixture
def console_admin(app_factory):
    with TestClient(app_factory(uris=["webfake:///"])) as client:
        browser = Browser(client)
        browser.login("alice")
        yield browser


def test_console_proxies_both_ways(console_admin):
    page = console_admin.get("/hosts/0/domains/guest/console")
    assert page.status_code == 200
    assert 'data-ws="/hosts/0/domains/guest/console/ws"' in page.text
    with console_admin.client.websocket_connect("/hosts/0/domains/guest/console/ws") as ws:
        assert ws.receive_bytes() == b"login: "
        ws.send_bytes(b"root\r")
        assert ws.receive_bytes() == b"echo:root\r"
        ws.send_text("ls")
        assert ws.receive_bytes() == b"echo:ls"


def test_console_of_a_driver_without_consoles_says_so(admin):
    with admin.client.websocket_connect("/hosts/0/domains/test/console/ws") as ws:
        message = ws.receive_json()
    assert message == {"type": "error", "message": "this function is not supported by the "
                       "connection driver: virDomainOpenConsole"}


def test_console_of_a_missing_domain_says_so(console_admin):
    with console_admin.client.websocket_connect("/hosts/0/domains/nosuch/console/ws") as ws:
        assert ws.receive_json()["message"] == "Domain not found: no domain with matching " \
                                               "name 'nosuch'"


def test_console_socket_refuses_readers(reader):
    with pytest.raises(WebSocketDisconnect) as refused:
        with reader.client.websocket_connect("/hosts/0/domains/test/console/ws"):
            pass
    assert refused.value.code == 1008


def test_two_sockets_share_one_registration_and_each_get_the_event_once(admin):
    admin.get("/hosts/0/domains/test")
    with admin.client.websocket_connect("/ws?hosts=0") as first, \
            admin.client.websocket_connect("/ws?hosts=0") as second:
        receive_until(first, "hello")
        receive_until(second, "hello")
        assert len(admin.client.app.state.workspace.hub._registered) == 1
        admin.post("/hosts/0/domains/test/action/suspend")
        admin.post("/hosts/0/domains/test/action/resume")
        for ws in (first, second):
            events = [receive_until(ws, "lifecycle")["event"],
                      receive_until(ws, "lifecycle")["event"]]
            assert events == ["Suspended", "Resumed"]          # not doubled

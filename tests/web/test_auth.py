"""Login, sessions, CSRF and roles: the server refuses, not only the page."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from pyvirt.web.app import SESSION_COOKIE

from .conftest import Browser, flashes


def test_pages_redirect_to_login_without_a_session(client):
    response = client.get("/hosts/0/domains?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fhosts%2F0%2Fdomains%3Fq%3Dx"
    page = client.get(response.headers["location"])
    assert 'name="next" value="/hosts/0/domains?q=x"' in page.text


def test_post_without_a_session_is_refused(client):
    response = client.post("/hosts/0/domains/test/action/destroy", data={"csrf": "x"})
    assert response.status_code == 401
    assert flashes(response.text) == ["not logged in: log in first"]


def test_login_with_a_wrong_password_fails_readably(client):
    response = Browser(client).login("alice", "wrong")
    assert response.status_code == 401
    assert flashes(response.text) == ["Login failed: unknown user or wrong password"]
    assert 'value="alice"' in response.text                 # the name is kept
    odd = Browser(client).login('"><script>x</script>')
    assert odd.status_code == 401 and "<script>x" not in odd.text   # and escaped
    assert Browser(client).login("mallory").status_code == 401


def test_login_goes_to_next_but_never_off_site(client):
    response = client.post("/login", data={"username": "alice", "password": "s3cret pass",
                                           "next": "/hosts/0/networks"},
                           follow_redirects=False)
    assert response.headers["location"] == "/hosts/0/networks"
    client.cookies.clear()
    response = client.post("/login", data={"username": "alice", "password": "s3cret pass",
                                           "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_session_cookie_is_signed_and_strict(admin):
    cookie = admin.client.cookies.get(SESSION_COOKIE)
    assert cookie and cookie.count(".") == 2          # payload.timestamp.signature
    response = admin.client.post("/login", data={"username": "alice", "password": "s3cret pass"},
                                 follow_redirects=False)
    assert "samesite=strict" in response.headers["set-cookie"].lower()
    assert "httponly" in response.headers["set-cookie"].lower()


def test_forged_session_cookie_is_ignored(app_factory):
    with TestClient(app_factory()) as client:
        client.cookies.set(SESSION_COOKIE, "eyJ1c2VyIjogImFsaWNlIn0=.forged.signature")
        response = client.get("/hosts/0", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_cookie_signed_with_another_key_is_ignored(app_factory):
    with TestClient(app_factory(secret_key="one-key-one-key-one")) as first:
        Browser(first).login("alice")
        stolen = first.cookies.get(SESSION_COOKIE)
    with TestClient(app_factory(secret_key="another-key-entirely")) as second:
        second.cookies.set(SESSION_COOKIE, stolen)
        assert second.get("/", follow_redirects=False).status_code == 303


def test_logout_needs_csrf_and_ends_the_session(admin):
    assert admin.client.post("/logout", data={"csrf": "bad"}).status_code == 403
    admin.get("/")
    response = admin.post("/logout", follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert admin.client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_mutations_need_the_csrf_token(admin, token):
    data = {} if token is None else {"csrf": token}
    response = admin.client.post("/hosts/0/domains/test/action/suspend", data=data)
    assert response.status_code == 403
    assert flashes(response.text) == [
        "invalid or missing CSRF token: reload the page and try again"]
    page = admin.get("/hosts/0/domains/test")
    assert 'id="dom-state" data-field="state">running' in page.text


def test_csrf_token_in_header_is_accepted(admin):
    admin.get("/hosts/0/domains/test")
    response = admin.client.post("/hosts/0/domains/test/action/suspend",
                                 headers={"X-CSRF-Token": admin.csrf})
    assert flashes(response.text) == ["Domain 'test' suspended"]
    admin.post("/hosts/0/domains/test/action/resume")


def test_reader_sees_no_buttons_that_would_fail(reader):
    for url in ["/hosts/0/domains", "/hosts/0/domains/test", "/hosts/0/networks",
                "/hosts/0/storage/default-pool", "/hosts/0/domains/test/xml"]:
        page = reader.get(url).text
        assert "/action/" not in page, url
        assert 'name="action"' not in page, url
        assert "Create VM" not in page and "Take snapshot" not in page, url
        assert "Validate and save" not in page and "Show changes" not in page, url
        assert "Create volume" not in page and "Create network" not in page, url
        assert "/devices/" not in page and "/resize" not in page, url
        assert "data-upload" not in page, url
    assert "readonly" in reader.get("/hosts/0/domains/test/xml").text


@pytest.mark.parametrize("url, data, what", [
    ("/hosts/0/domains/test/action/destroy", {}, "destroy domain 'test'"),
    ("/hosts/0/domains/bulk", {"action": "destroy", "names": "test"}, "destroy domains"),
    ("/hosts/0/domains/new", {"name": "x", "memory": "1", "vcpus": "1"}, "create domains"),
    ("/hosts/0/domains/test/snapshots", {"snap_name": "s"}, "snapshot domain 'test'"),
    ("/hosts/0/domains/test/xml/save", {"xml": "<domain/>"}, "redefine domain 'test'"),
    ("/hosts/0/networks", {"name": "n", "cidr": "10.1.0.0/24"}, "create networks"),
    ("/hosts/0/networks/default/action/stop", {}, "stop network 'default'"),
    ("/hosts/0/storage/default-pool/volumes", {"name": "v", "size_mib": "1"},
     "create volumes"),
    ("/hosts/0/storage/default-pool/action/stop", {}, "stop pool 'default-pool'"),
    ("/hosts/0/domains/test/devices/disk", {"volume": "p/v"},
     "change devices of domain 'test'"),
    ("/hosts/0/domains/test/devices/disk/vda/detach", {}, "change devices of domain 'test'"),
    ("/hosts/0/storage/default-pool/volumes/v/resize", {"size_mib": "1"},
     "resize volume 'v'"),
    ("/hosts/0/storage/default-pool/volumes/v/upload", {}, "upload to volume 'v'"),
])
def test_server_refuses_mutations_from_readers(reader, url, data, what):
    reader.get("/")
    response = reader.post(url, data)
    assert response.status_code == 403
    assert flashes(response.text) == [
        f"operation forbidden: user 'bob' has read-only access and may not {what}"]
    page = reader.get("/hosts/0/domains/test").text
    assert 'data-field="state">running' in page


def test_reader_may_not_open_a_console(reader):
    response = reader.get("/hosts/0/domains/test/console")
    assert response.status_code == 403
    assert "may not use consoles" in flashes(response.text)[0]

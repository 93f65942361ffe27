"""Every page renders for both roles; API errors render as readable messages."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from .conftest import Browser, flashes

PAGES = [
    ("/", "test:///default"),
    ("/hosts/0", "Running VMs"),
    ("/hosts/0/domains", 'data-domain="test"'),
    ("/hosts/0/domains/test", "6695eb01-f6a4-8304-79aa-97f2502e193f"),
    ("/hosts/0/domains/test/xml", "&lt;name&gt;test&lt;/name&gt;"),
    ("/hosts/0/networks", 'data-network="default"'),
    ("/hosts/0/networks/default", "DHCP leases"),
    ("/hosts/0/storage", 'data-pool="default-pool"'),
    ("/hosts/0/storage/default-pool", "Pool default-pool"),
]


@pytest.mark.parametrize("url, expected", PAGES)
def test_every_page_renders_for_admins(admin, url, expected):
    response = admin.get(url)
    assert response.status_code == 200
    assert expected in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("url, expected", PAGES)
def test_every_page_renders_for_readers(reader, url, expected):
    response = reader.get(url)
    assert response.status_code == 200 and expected in response.text


def test_admin_pages_show_the_tools(admin):
    assert "Create VM" in admin.get("/hosts/0/domains").text
    page = admin.get("/hosts/0/domains/test").text
    for action in ["shutdown", "destroy", "reboot", "suspend", "save"]:
        assert f'id="action-{action}"' in page
    wizard = admin.get("/hosts/0/domains/new").text
    assert '<option >test</option>' in wizard           # the driver's domain type
    assert 'value="default-pool/' in wizard or "default-pool" in wizard


def test_host_overview_shows_node_info(admin):
    page = admin.get("/hosts/0").text
    assert "16 CPUs" in page and "3072 MiB" in page and "i686" in page


def test_domain_page_buttons_follow_the_state(admin):
    page = admin.get("/hosts/0/domains/test").text
    start = page.split('action/start"')[1].split(">")[0]
    assert "hidden" in start                             # running: no Start button
    shutdown = page.split('action/shutdown"')[1].split(">")[0]
    assert "hidden" not in shutdown


def test_vm_list_filters_by_name_and_state(admin):
    assert 'data-domain="test"' not in admin.get("/hosts/0/domains?q=zzz").text
    assert 'data-domain="test"' in admin.get("/hosts/0/domains?q=TE").text
    assert 'data-domain="test"' in admin.get("/hosts/0/domains?state=running").text
    assert 'data-domain="test"' not in admin.get("/hosts/0/domains?state=shutoff").text


@pytest.mark.parametrize("url, message", [
    ("/hosts/0/domains/nosuch", "Domain not found"),
    ("/hosts/0/domains/nosuch/xml", "Domain not found"),
    ("/hosts/0/networks/nosuch", "Network not found"),
    ("/hosts/0/storage/nosuch", "Storage pool not found"),
    ("/hosts/7/domains", "no host number '7' (this manager has 1)"),
    ("/hosts/x", "no host number 'x' (this manager has 1)"),
])
def test_missing_objects_render_404_with_libvirts_message(admin, url, message):
    response = admin.get(url)
    assert response.status_code == 404
    assert any(message in text for text in flashes(response.text))
    assert "Traceback" not in response.text


def test_several_hosts_and_an_unreachable_one(app_factory):
    app = app_factory(uris=["test:///default", "nosuchdriver:///x"])
    with TestClient(app) as client:
        browser = Browser(client)
        browser.login("alice")
        page = browser.get("/").text
        assert "test:///default" in page and "nosuchdriver:///x" in page
        assert "Failed to connect socket to " in page
        response = browser.get("/hosts/1/domains")
        assert response.status_code == 500
        assert flashes(response.text) == [
            "Failed to connect socket to '/var/run/libvirt/libvirt-sock': "
            "No such file or directory"]
        assert 'href="/hosts/1/networks"' in page           # both hosts in the menu


def test_static_assets_are_served(client):
    assert "PV" in client.get("/static/app.js").text
    assert ".state-running" in client.get("/static/app.css").text


def test_security_headers_and_no_inline_scripts(admin):
    response = admin.get("/hosts/0/domains/test")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "connect-src 'self' ws://testserver wss://testserver" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text                 # only <script src=...>
    assert 'data-live-hosts="0"' in response.text
    static = admin.client.get("/static/app.js")
    assert static.headers.get("cache-control") != "no-store" and "etag" in static.headers


def test_error_pages_link_back_to_where_the_user_was(admin):
    response = admin.get("/hosts/0/domains/nosuch",
                         headers={"referer": "http://testserver/hosts/0/domains?q=x"})
    assert 'href="/hosts/0/domains?q=x" id="error-back"' in response.text
    response = admin.get("/hosts/0/domains/nosuch",
                         headers={"referer": "http://evil.example/phish"})
    assert 'id="error-back"' not in response.text
    assert "javascript:" not in response.text


def test_logout_without_a_session_just_goes_to_login(client):
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"

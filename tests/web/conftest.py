"""Fixtures for the web manager: an app on test:///default, logged-in clients."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from pyvirt.drivers.test.state import SHARED_DEFAULT
from pyvirt.web.app import WebConfig, create_app
from pyvirt.web.users import UserStore

from . import fakedriver

fakedriver.register()

PASSWORD = "s3cret pass"


def make_users() -> UserStore:
    users = UserStore()
    users.add("alice", "admin", PASSWORD, iterations=1000)
    users.add("bob", "readonly", PASSWORD, iterations=1000)
    return users


def csrf_of(html: str) -> str:
    found = re.search(r'data-csrf="([^"]*)"', html)
    assert found, "page carries no CSRF token"
    return found.group(1)


def flashes(html: str) -> list[str]:
    """Messages shown in the page (flash boxes, error pages), unescaped."""
    import html as htmllib
    found = re.findall(r'<(?:div|p) class="[^"]*" role="(?:alert|status)"[^>]*>([^<]*)<', html)
    return [htmllib.unescape(text).strip() for text in found]


class Browser:
    """A TestClient plus the CSRF token of the last page it loaded."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        if 'data-csrf="' in response.text:
            self.csrf = csrf_of(response.text)
        return response

    def post(self, url: str, data: dict | None = None, **kwargs):
        form = {"csrf": self.csrf, **(data or {})}
        response = self.client.post(url, data=form, **kwargs)
        if 'data-csrf="' in response.text:
            self.csrf = csrf_of(response.text)
        return response

    def login(self, name: str, password: str = PASSWORD):
        response = self.client.post("/login", data={"username": name, "password": password,
                                                    "next": "/"})
        if 'data-csrf="' in response.text:
            self.csrf = csrf_of(response.text)
        return response


@pytest.fixture(autouse=True)
def fresh_test_driver():
    """Each test starts from libvirt's test:///default contents, whatever an earlier
    test's not-yet-collected handles still hold."""
    SHARED_DEFAULT.reset_for_tests()
    yield


@pytest.fixture
def app_factory():
    made = []

    def make(uris=("test:///default",), **kwargs):
        config = WebConfig(uris=list(uris), users=make_users(), stats_interval=0.05, **kwargs)
        app = create_app(config)
        made.append(app)
        return app

    return make


@pytest.fixture
def client(app_factory):
    with TestClient(app_factory()) as test_client:
        yield test_client


@pytest.fixture
def admin(client):
    browser = Browser(client)
    assert browser.login("alice").status_code == 200
    return browser


@pytest.fixture
def reader(client):
    browser = Browser(client)
    assert browser.login("bob").status_code == 200
    return browser

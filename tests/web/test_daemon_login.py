"""Daemon mode with a fake daemon: logins checked through openAuth, one set of
connections per login, buttons from the daemon's access rules, the daemon's refusals
shown as it words them."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

import pyvirt
from pyvirt.errors import VIR_ERR_AUTH_FAILED, VIR_FROM_REMOTE, error
from pyvirt.remote.access import AccessRules, Rule, denied
from pyvirt.web import main as web_main
from pyvirt.web.app import WebConfig, create_app
from pyvirt.web.daemon_login import DaemonLogins, LoginFailed, credential_callback
from pyvirt.web.daemon_rules import DaemonUser, RulesFile, SaslIdentity

from .conftest import Browser, flashes

PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw"}
RULES = AccessRules([Rule(True, "sasl:alice", "*"),
                     Rule(True, "sasl:bob", "domain:read"),
                     Rule(True, "sasl:bob", "domain:getattr"),
                     Rule(True, "sasl:bob", "domain:search_domains"),
                     Rule(True, "*", "connect:*")])
MUTATING = ("create", "destroy", "shutdown", "reboot", "suspend", "resume", "managedSave",
            "undefineFlags", "snapshotCreateXML", "attachDeviceFlags", "detachDeviceFlags")


class DaemonDomain:
    """A domain as the fake daemon hands it out: refused calls raise its error."""

    def __init__(self, dom, user: str) -> None:
        self._dom, self._user = dom, user

    def __getattr__(self, attr):
        real = getattr(self._dom, attr)
        if attr in MUTATING and not RULES.allowed(SaslIdentity(self._user), "domain:start",
                                                  self._dom.name()):
            def refuse(*_args, **_kwargs):
                raise denied("QEMU")
            return refuse
        return real


class DaemonConnection:
    """test:///default behind a fake daemon that enforces RULES for its user."""

    def __init__(self, user: str) -> None:
        self.user = user
        self._conn = pyvirt.open("test:///default")
        self.closed = False

    def lookupByName(self, name):      # noqa: N802
        return DaemonDomain(self._conn.lookupByName(name), self.user)

    def close(self):
        self.closed = True
        return self._conn.close()

    def __getattr__(self, attr):
        return getattr(self._conn, attr)


class FakeDaemon:
    """The opener: checks the password like pyvirtd's SASL would, records each open."""

    def __init__(self) -> None:
        self.opened: list[DaemonConnection] = []

    def __call__(self, uri: str, name: str, password: str):
        if PASSWORDS.get(name) != password:
            raise error(VIR_ERR_AUTH_FAILED, "SCRAM-SHA-256 "
                        "verification failed", domain=VIR_FROM_REMOTE)
        conn = DaemonConnection(name)
        self.opened.append(conn)
        return conn


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def daemon():
    return FakeDaemon()


@pytest.fixture
def clock():
    return Clock()


def make_client(daemon, clock, rules=RULES):
    logins = DaemonLogins(["test:///default"], rules, max_age=600, opener=daemon, clock=clock)
    return TestClient(create_app(WebConfig(uris=["test:///default"], logins=logins,
                                           stats_interval=0.05))), logins


def log_in(client, name: str) -> Browser:
    browser = Browser(client)
    response = client.post("/login", data={"username": name, "password": PASSWORDS[name],
                                           "next": "/"})
    assert response.status_code == 200
    browser.csrf = browser.get("/").text.split('data-csrf="')[1].split('"')[0]
    return browser


def test_credential_callback_answers_name_and_passphrase_only():
    creds = [[pyvirt.VIR_CRED_AUTHNAME, "Name:", "", "", None],
             [pyvirt.VIR_CRED_PASSPHRASE, "Password:", "", "", None]]
    assert credential_callback("alice", "pw")(creds, None) == 0
    assert [c[4] for c in creds] == ["alice", "pw"]
    assert credential_callback("a", "b")([[pyvirt.VIR_CRED_ECHOPROMPT, "", "", "", None]],
                                         None) == -1


def test_a_wrong_password_shows_the_daemons_refusal(daemon, clock):
    client, logins = make_client(daemon, clock)
    with client:
        response = client.post("/login", data={"username": "bob", "password": "nope"})
        assert response.status_code == 401
        assert "Login failed: authentication failed: SCRAM-SHA-256 verification failed" \
            in flashes(response.text)[0]
        assert len(logins) == 0 and daemon.opened == []
        with pytest.raises(LoginFailed, match="give a user name"):
            logins.login("", "")


def test_each_login_has_its_own_connections_closed_at_logout(daemon, clock):
    client, logins = make_client(daemon, clock)
    with client:
        alice = log_in(client, "alice")
        assert [c.user for c in daemon.opened] == ["alice"]
        assert alice.get("/hosts/0/domains").status_code == 200
        other = TestClient(client.app)
        log_in(other, "bob")
        assert [c.user for c in daemon.opened] == ["alice", "bob"]     # never shared
        assert len(logins) == 2
        response = alice.post("/logout")
        assert response.status_code == 200 and "login-button" in response.text
        assert daemon.opened[0].closed and not daemon.opened[1].closed
        assert alice.get("/hosts/0").url.path == "/login"
        assert len(logins) == 1


def test_a_login_expires_and_its_connections_close(daemon, clock):
    client, logins = make_client(daemon, clock)
    with client:
        bob = log_in(client, "bob")
        assert bob.get("/hosts/0/domains").url.path == "/hosts/0/domains"
        clock.now += 601
        assert bob.get("/hosts/0/domains").url.path == "/login"
        assert daemon.opened[0].closed and len(logins) == 0


def test_an_idle_login_closes_but_a_used_one_stays(daemon, clock):
    client, logins = make_client(daemon, clock)
    logins.idle_timeout = 100
    with client:
        bob = log_in(client, "bob")
        for _ in range(3):
            clock.now += 60
            assert bob.get("/hosts/0").url.path == "/hosts/0"      # used: not idle
        alice = log_in(TestClient(client.app), "alice")
        clock.now += 101
        assert logins.expire() == 2 and len(logins) == 0
        assert all(conn.closed for conn in daemon.opened)
        assert alice.get("/hosts/0").url.path == "/login"


def test_rules_hide_what_the_daemon_would_refuse(daemon, clock):
    client, _ = make_client(daemon, clock)
    with client:
        bob = log_in(client, "bob")
        page = bob.get("/hosts/0/domains/test").text
        assert 'id="lifecycle"' not in page and 'id="snapshot-create"' not in page
        assert 'id="new-vm"' not in bob.get("/hosts/0/domains").text
        assert "read-only" in page
        assert bob.get("/hosts/0/domains/test/vnc").status_code == 403
        alice = log_in(TestClient(client.app), "alice")
        page = alice.get("/hosts/0/domains/test").text
        assert 'id="lifecycle"' in page and 'id="action-destroy"' in page
        assert 'id="new-vm"' in alice.get("/hosts/0/domains").text


def test_a_forged_post_is_refused_by_the_daemon_and_shown(daemon, clock):
    client, _ = make_client(daemon, clock)
    with client:
        bob = log_in(client, "bob")
        response = bob.post("/hosts/0/domains/test/action/destroy")
        assert response.status_code == 200          # the manager let it through ...
        assert flashes(response.text) == [
            "access denied: 'QEMU' denied access (the daemon's access rules do not let "
            "'bob' destroy domain 'test')"]
        conn = pyvirt.open("test:///default")
        assert conn.lookupByName("test").isActive()  # ... and the daemon refused it
        alice = log_in(TestClient(client.app), "alice")
        done = alice.post("/hosts/0/domains/test/action/destroy")
        assert "Domain 'test' destroyed" in flashes(done.text)
        assert not conn.lookupByName("test").isActive()
        conn.close()


def test_without_rules_every_button_shows_and_the_daemon_decides(daemon, clock):
    client, _ = make_client(daemon, clock, rules=None)
    with client:
        bob = log_in(client, "bob")
        assert 'id="action-destroy"' in bob.get("/hosts/0/domains/test").text
        response = bob.post("/hosts/0/domains/test/action/destroy")
        assert flashes(response.text)[0].startswith("access denied: 'QEMU' denied access")


def test_daemon_user_permissions_follow_the_rules():
    bob, alice = DaemonUser("bob", RULES), DaemonUser("alice", RULES)
    assert bob.may("domain:read", "vm") and not bob.may("domain:start", "vm")
    assert not bob.can_write and alice.can_write and alice.may("domain:delete", "vm")
    assert DaemonUser("carol").may("domain:start") and not DaemonUser("carol").enforced_here
    assert SaslIdentity("bob").matches("sasl:b*") and not SaslIdentity("bob").matches("uid:0")


def test_command_line_daemon_mode_checks(tmp_path, capsys):
    assert web_main.main(["--uri", "test:///default", "--access-rules", "r"]) == 2
    assert "--access-rules goes with --auth daemon" in capsys.readouterr().err
    bad = tmp_path / "rules"
    bad.write_text("permit everyone\n")
    assert web_main.main(["--auth", "daemon", "--uri", "test:///default",
                          "--access-rules", str(bad)]) == 1
    assert f"{bad}:1" in capsys.readouterr().err


def test_the_rules_file_is_reread_when_it_changes(tmp_path):
    import os
    path = tmp_path / "access.rules"
    path.write_text("allow sasl:bob domain:read\n")
    rules = RulesFile(str(path))
    bob = DaemonUser("bob", rules)
    assert bob.may("domain:read", "vm") and not bob.may("domain:start", "vm")
    path.write_text("allow sasl:bob domain:*   # promoted\n")
    os.utime(path, ns=(1, 2))                   # a new stamp, whatever the clock
    assert bob.may("domain:start", "vm") and bob.can_write
    path.write_text("permit bob\n")              # malformed: the last good rules stay
    os.utime(path, ns=(3, 4))
    assert bob.may("domain:start", "vm")


class HalfDown(FakeDaemon):
    """Host 1 is unreachable (not an authentication problem)."""

    def __call__(self, uri, name, password):
        if uri == "test:///default#down":
            raise error(pyvirt.VIR_ERR_SYSTEM_ERROR, "Failed to connect socket to "
                        "'/run/none': No such file or directory", domain=VIR_FROM_REMOTE)
        return super().__call__(uri, name, password)


def test_one_unreachable_host_does_not_stop_the_login_but_all_down_does(clock):
    daemon = HalfDown()
    uris = ["test:///default", "test:///default#down"]
    logins = DaemonLogins(uris, None, opener=daemon, clock=clock)
    with TestClient(create_app(WebConfig(uris=uris, logins=logins))) as client:
        alice = log_in(client, "alice")
        hosts = alice.get("/").text
        assert "Failed to connect socket to &#39;/run/none&#39;" in hosts
        assert [c.user for c in daemon.opened] == ["alice"]
    only_down = DaemonLogins(["test:///default#down"], None, opener=daemon, clock=clock)
    with pytest.raises(LoginFailed, match="Login failed: .*Failed to connect socket"):
        only_down.login("alice", PASSWORDS["alice"])


def test_live_events_flow_on_the_logins_own_connection(daemon, clock):
    from starlette.websockets import WebSocketDisconnect
    client, logins = make_client(daemon, clock)
    with client:
        with pytest.raises(WebSocketDisconnect) as refused:      # no login: no socket
            with client.websocket_connect("/ws?hosts=0"):
                pass
        assert refused.value.code == 1008
        alice = log_in(client, "alice")
        with alice.client.websocket_connect("/ws?hosts=0") as ws:
            assert ws.receive_json() == {"type": "hello", "hosts": [0]}
            workspace = logins.workspace_of(_session_of(logins))
            assert workspace is not None and len(workspace.hub._registered) == 1


def _session_of(logins):
    (sid, login), = logins._logins.items()
    return {"sid": sid, "user": login.user.name}

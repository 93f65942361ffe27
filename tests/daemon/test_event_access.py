"""Events pass the access rules: a client sees an event only when its identity
has ``domain:getattr`` on the event's domain (libvirt's
remoteRelayDomainEventCheckACL)."""

from __future__ import annotations

from pyvirt.remote.client import RemoteClient

LIFECYCLE = 0
STARTED, STOPPED = 2, 5

# the TCP client (addr 127.0.0.1) may not see domain "secret"; unix clients see all
RULES = ("deny  addr:127.0.0.1  domain:getattr  secret\n"
         "allow *               *\n")


def domain_xml(name: str) -> str:
    return (f"<domain type='test'><name>{name}</name><memory>8192</memory>"
            "<os><type>hvm</type></os></domain>")


def watch(client: RemoteClient) -> int:
    client.open()
    return client.call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=LIFECYCLE,
                       dom=None)


def test_a_client_denied_getattr_gets_no_event_for_that_domain(make_daemon, tmp_path):
    rules = tmp_path / "access.rules"
    rules.write_text(RULES)
    running = make_daemon(access_rules_file=str(rules))
    denied = RemoteClient.tcp("127.0.0.1", running.tcp_port, timeout=10)
    allowed = RemoteClient.unix(running.rw_path, timeout=10)
    actor = RemoteClient.unix(running.rw_path, timeout=10)
    try:
        denied_id, allowed_id = watch(denied), watch(allowed)
        actor.open()
        secret = actor.call("DOMAIN_CREATE_XML", xml_desc=domain_xml("secret"), flags=0)
        public = actor.call("DOMAIN_CREATE_XML", xml_desc=domain_xml("public"), flags=0)
        actor.call("DOMAIN_DESTROY", dom=secret)
        actor.call("DOMAIN_DESTROY", dom=public)

        seen_by_allowed = [allowed.wait_event()[1] for _ in range(4)]
        assert [(e["callbackID"], e["dom"].name, e["event"]) for e in seen_by_allowed] == [
            (allowed_id, "secret", STARTED), (allowed_id, "public", STARTED),
            (allowed_id, "secret", STOPPED), (allowed_id, "public", STOPPED)]
        # events are relayed in order: had "secret" got through, it would come first
        seen_by_denied = [denied.wait_event()[1] for _ in range(2)]
        assert [(e["callbackID"], e["dom"].name, e["event"]) for e in seen_by_denied] == [
            (denied_id, "public", STARTED), (denied_id, "public", STOPPED)]
        # and the denied client is told nothing about "secret" afterwards either
        assert denied.call("CONNECT_GET_TYPE") == "TEST"
        assert denied.events == []
    finally:
        for client in (denied, allowed, actor):
            client.close()

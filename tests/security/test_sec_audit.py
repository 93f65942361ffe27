"""The audit log: one whole JSON line per mutating call."""

import datetime
import json
import os
import stat
import threading

from pyvirt.drivers.base import DomainRef
from pyvirt.errors import VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, error
from pyvirt.security.audit import AuditLog, encode, is_mutating, object_of, record

WHO = {"uid": 0, "pid": 42, "transport": "unix"}


def test_is_mutating():
    for name in ("DOMAIN_CREATE", "REMOTE_PROC_DOMAIN_DEFINE_XML", "DOMAIN_UNDEFINE_FLAGS",
                 "NETWORK_DESTROY", "STORAGE_VOL_DELETE", "DOMAIN_SET_MEMORY",
                 "DOMAIN_SNAPSHOT_CREATE_XML"):
        assert is_mutating(name), name
    for name in ("CONNECT_LIST_ALL_DOMAINS", "DOMAIN_LOOKUP_BY_NAME", "DOMAIN_GET_XML_DESC",
                 "DOMAIN_GET_INFO", "CONNECT_OPEN", "NODE_GET_INFO", "DOMAIN_IS_ACTIVE",
                 "CONNECT_NUM_OF_DOMAINS", "AUTH_LIST"):
        assert not is_mutating(name), name


def test_record_shapes():
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)
    ok = record("DOMAIN_CREATE", WHO, {"type": "domain", "name": "a"}, "success", when=when)
    assert ok == {"time": "2026-01-02T03:04:05.000006Z", "identity": WHO,
                  "procedure": "DOMAIN_CREATE", "object": {"type": "domain", "name": "a"},
                  "outcome": "success"}
    err = error(VIR_ERR_NO_DOMAIN, "no domain with matching name 'x'", domain=VIR_FROM_QEMU)
    bad = record("DOMAIN_CREATE", WHO, None, "failure", err)
    assert bad["error"]["code"] == VIR_ERR_NO_DOMAIN and "x" in bad["error"]["message"]
    line = encode({"a": "multi\nline"})
    assert line.count(b"\n") == 1 and json.loads(line) == {"a": "multi\nline"}


def test_object_of_refs_and_dicts():
    ref = DomainRef("vm", bytes(range(16)), 3)
    assert object_of({"dom": ref, "flags": 0}) == {
        "type": "domain", "name": "vm", "uuid": "00010203-0405-0607-0809-0a0b0c0d0e0f"}
    assert object_of({"net": {"name": "default"}}) == {"type": "network", "name": "default"}
    assert object_of({"flags": 0}) == {}


def test_log_call_appends_only_mutating(tmp_path):
    log = AuditLog(str(tmp_path / "audit.log"))
    assert log.log_call("DOMAIN_CREATE", WHO, {"type": "domain", "name": "a"}) is True
    assert log.log_call("DOMAIN_LOOKUP_BY_NAME", WHO, None) is False
    assert log.log_call("DOMAIN_GET_INFO", WHO, None, mutating=True) is True
    failed = error(VIR_ERR_NO_DOMAIN, "no domain", domain=VIR_FROM_QEMU)
    log.log_call("DOMAIN_DESTROY", WHO, None, failed)
    lines = log.read()
    assert [(l["procedure"], l["outcome"]) for l in lines] == [
        ("DOMAIN_CREATE", "success"), ("DOMAIN_GET_INFO", "success"),
        ("DOMAIN_DESTROY", "failure")]
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600


def test_concurrent_writers_never_interleave(tmp_path):
    log = AuditLog(str(tmp_path / "audit.log"))
    big = {"type": "domain", "name": "x" * 5000}

    def writer(n):
        for i in range(25):
            log.append(record("DOMAIN_CREATE", {"uid": n, "i": i}, big, "success"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    raw = (tmp_path / "audit.log").read_bytes().split(b"\n")
    assert raw[-1] == b"" and len(raw) == 101
    assert all(json.loads(chunk)["object"]["name"] == "x" * 5000 for chunk in raw[:-1])


def test_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "audit.log"
    log = AuditLog(str(path))
    log.log_call("DOMAIN_CREATE", WHO, None)
    with open(path, "ab") as fh:
        fh.write(b'{"procedure": "DOM')
    assert [l["procedure"] for l in log.read()] == ["DOMAIN_CREATE"]


def test_identity_of():
    from types import SimpleNamespace

    from pyvirt.security.audit import identity_of

    who = SimpleNamespace(pid=7, uid=0, gid=0, addr=None, dn="", groups={0})
    assert identity_of(who) == {"pid": 7, "uid": 0, "gid": 0}
    assert identity_of({"addr": "127.0.0.1", "uid": -1}) == {"addr": "127.0.0.1"}
    assert identity_of(None) == {}

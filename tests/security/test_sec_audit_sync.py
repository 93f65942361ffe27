"""The audit log's lines are in the file at once and synced in batches."""

from __future__ import annotations

import os

from pyvirt.security import audit


def counting_fsync(monkeypatch, path, real=False) -> list:
    """Patch fsync (os.fsync: for every thread of the process) to record the calls
    on ``path`` only: threads other tests left may sync their own files meanwhile."""
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        ours = os.path.exists(path) and os.path.samestat(os.fstat(fd), os.stat(path))
        if ours:
            synced.append(fd)
        if real or not ours:            # other files are synced for real
            real_fsync(fd)
    monkeypatch.setattr(audit.os, "fsync", fsync)
    return synced


def test_lines_are_written_at_once_and_synced_later(tmp_path, monkeypatch):
    synced = counting_fsync(monkeypatch, str(tmp_path / "audit.log"), real=True)
    log = audit.AuditLog(str(tmp_path / "audit.log"), sync_delay=30)
    for n in range(3):
        log.log_call("DOMAIN_CREATE", {"uid": 0}, {"type": "domain", "name": f"vm{n}"})
    assert [line["object"]["name"] for line in log.read()] == ["vm0", "vm1", "vm2"]
    assert synced == []                       # nothing synced yet: one timer pending
    log.sync()
    assert len(synced) == 1 and log._sync_timer is None


def test_sync_delay_zero_syncs_every_line(tmp_path, monkeypatch):
    synced = counting_fsync(monkeypatch, str(tmp_path / "audit.log"))
    log = audit.AuditLog(str(tmp_path / "audit.log"), sync_delay=0)
    log.log_call("DOMAIN_CREATE", {"uid": 0}, None)
    log.log_call("DOMAIN_DESTROY", {"uid": 0}, None)
    assert len(synced) == 2

"""pyvirtd's audit log: config keys, and real virsh's calls recorded as JSON lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from pyvirt.daemon.config import DaemonConfig, config_from_values, parse_conf
from pyvirt.daemon.server import open_audit_log

VIRSH = shutil.which("virsh")

DOM_XML = """<domain type='test'>
  <name>audited</name>
  <memory>1048576</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>
"""


def test_audit_log_defaults_to_the_state_dir(tmp_path):
    config = DaemonConfig(unix_sock_dir=str(tmp_path / "run"))
    assert config.audit_path() == str(tmp_path / "run" / "audit.log")
    audit = open_audit_log(config)
    assert audit is not None and audit.path == config.audit_path()
    assert os.path.isdir(tmp_path / "run")


def test_audit_keys_in_libvirtd_conf_style(tmp_path):
    path = str(tmp_path / "a" / "audit.json")
    config = config_from_values(parse_conf(f'audit_log = "{path}"\n'))
    assert config.audit_path() == path and not config.notes
    off = config_from_values(parse_conf("audit_logging = 0\n"))
    assert off.audit_path() is None
    assert open_audit_log(off) is None


def test_daemon_passes_its_audit_log_to_the_dispatcher(make_daemon, tmp_path):
    running = make_daemon(audit_log=str(tmp_path / "audit.log"))
    assert running.daemon.dispatcher.audit.path == str(tmp_path / "audit.log")
    quiet = make_daemon(audit_logging=False, unix_sock_dir=str(tmp_path / "run2"))
    assert quiet.daemon.dispatcher.audit is None


@pytest.mark.skipif(VIRSH is None, reason="real virsh (libvirt-clients) not installed")
def test_real_virsh_define_start_destroy_are_recorded(make_daemon, tmp_path):
    log_path = tmp_path / "audit.log"
    running = make_daemon(audit_log=str(log_path))
    (tmp_path / "dom.xml").write_text(DOM_XML)
    uri = f"test+unix:///default?socket={running.rw_path}"
    script = ("define dom.xml; start audited; list --all; destroy audited; "
              "destroy audited; undefine audited")
    done = subprocess.run([VIRSH, "-c", uri, script], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert "Domain 'audited' started" in done.stdout
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [(line["procedure"], line["outcome"]) for line in lines] == [
        ("DOMAIN_DEFINE_XML", "success"), ("DOMAIN_CREATE", "success"),
        ("DOMAIN_DESTROY", "success"), ("DOMAIN_DESTROY", "failure"),
        ("DOMAIN_UNDEFINE_FLAGS", "success")]
    assert all(line["identity"]["uid"] == os.getuid() for line in lines)
    assert all(line["identity"]["pid"] > 0 for line in lines)
    assert lines[1]["object"]["name"] == "audited"
    assert "domain is not running" in lines[3]["error"]["message"]
    assert (log_path.stat().st_mode & 0o777) == 0o600


def test_reads_are_not_recorded(make_daemon, tmp_path):
    """Only mutating procedures are audited: a list and a dominfo leave no line."""
    import pyvirt
    from pyvirt.api._registry import load_drivers
    from pyvirt.drivers import base
    from pyvirt.drivers.remote import RemoteDriver
    load_drivers()
    added = not any(d.name == "remote" for d in base.registered_drivers())
    if added:
        base.register_driver(RemoteDriver())
    log_path = tmp_path / "audit.log"
    running = make_daemon(audit_log=str(log_path))
    try:
        conn = pyvirt.open(f"test+unix:///default?socket={running.rw_path}")
        try:
            conn.listAllDomains(0)
            conn.lookupByName("test").info()
            conn.lookupByName("test").suspend()
        finally:
            conn.close()
    finally:
        if added:
            base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != "remote"]
    (line,) = [json.loads(text) for text in log_path.read_text().splitlines()]
    assert line["procedure"] == "DOMAIN_SUSPEND" and line["outcome"] == "success"

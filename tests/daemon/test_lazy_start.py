"""pyvirtd's start loads only what its configuration uses: no SCRAM code or password
file modules before a SASL login, no json/datetime/uuid before an audit line, and
not the client API (``pyvirt.open`` and the classes); the collector is off during
start-up and on again once it listens."""

from __future__ import annotations

import ast
import asyncio
import gc
import os
import subprocess
import sys

from pyvirt.daemon import main
from pyvirt.daemon.config import DaemonConfig

PROBE = """
import asyncio, os, sys
from pyvirt.daemon.config import load_config
from pyvirt.daemon.main import serve
config = load_config(sys.argv[1])
def listening():
    print(sorted(m for m in sys.modules if m in sys.argv[2:]), flush=True)
    os._exit(0)
asyncio.run(serve(config, False, 0, listening=listening))
"""
#: modules that only a configuration asking for them may load
OPTIONAL = ["pyvirt.remote.sasl_scram", "pyvirt.daemon.saslpasswd", "pyvirt.atomicfile",
            "pyvirt.api.connect", "pyvirt.api.domain", "pyvirt.api.event",
            "pyvirt.api.stream"]


def loaded_at_listen(tmp_path, conf: str) -> list[str]:
    config = tmp_path / "pyvirtd.conf"
    config.write_text(f'unix_sock_dir = "{tmp_path}/run"\n{conf}')
    out = subprocess.run([sys.executable, "-c", PROBE, str(config), *OPTIONAL],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return ast.literal_eval(out.stdout)


def test_a_plain_start_loads_neither_sasl_nor_the_client_api(tmp_path):
    assert loaded_at_listen(tmp_path, "audit_logging = 0\n") == []


def test_a_sasl_listener_loads_no_scram_code_before_its_first_client(tmp_path):
    # the gate is made per client: the start itself still loads nothing of SASL
    assert loaded_at_listen(tmp_path, 'auth_unix_rw = "sasl"\naudit_logging = 0\n') == []


def test_the_audit_writer_loads_json_datetime_uuid_with_its_first_line(tmp_path):
    probe = ("import sys, pyvirt.errors\n"
             "before = set(sys.modules)\n"
             "from pyvirt.security.audit import AuditLog, object_of\n"
             f"log = AuditLog({str(tmp_path / 'audit.log')!r})\n"
             "print(sorted({'json', 'datetime', 'uuid'} & (set(sys.modules) - before)))\n"
             "obj = object_of({'dom': {'name': 'd', 'uuid': bytes(16)}})\n"
             "log.log_call('DOMAIN_CREATE', {'uid': 0}, obj)\n"
             "print([(line['procedure'], line['object']['uuid']) for line in log.read()])\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out == ["[]", "[('DOMAIN_CREATE', '00000000-0000-0000-0000-000000000000')]"]


def test_a_login_reads_the_password_file_without_the_writers_modules(tmp_path):
    from pyvirt.daemon import saslpasswd
    path = str(tmp_path / "sasl-passwd")
    saslpasswd.add_user(path, "alice", "pw", iterations=64)
    probe = ("import sys\nfrom pyvirt.daemon import saslpasswd\n"
             f"found = saslpasswd.lookup({path!r}, 'alice', 'SCRAM-SHA-256')\n"
             "print(found.iterations, [m for m in ('pyvirt.atomicfile', 'getpass')\n"
             "                         if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split(None, 1)
    assert out == ["64", "[]\n"]


def test_serve_reports_when_it_listens(tmp_path):
    config = DaemonConfig(unix_sock_dir=str(tmp_path / "run"), audit_logging=False)
    seen: list[bool] = []

    async def run() -> None:
        ready: asyncio.Future = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(main.serve(config, False, 0, ready,
                                                listening=lambda: seen.append(True)))
        daemon = await ready
        assert (tmp_path / "run" / "libvirt-sock").exists()
        daemon.request_stop()
        await task

    asyncio.run(run())
    assert seen == [True]


def test_main_leaves_the_collector_on(tmp_path):
    assert main.main(["-f", str(tmp_path / "missing.conf")]) == 1
    assert gc.isenabled()


def test_collection_resumes_once_listening():
    gc.disable()
    try:
        main._collect_from_now_on()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_help_follows_the_terminal_width():
    # options are declared with a fixed-width formatter; help and errors measure
    narrow = subprocess.run([sys.executable, "-m", "pyvirt.daemon.main", "--help"],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "COLUMNS": "50"}).stdout
    wide = subprocess.run([sys.executable, "-m", "pyvirt.daemon.main", "--help"],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "COLUMNS": "200"}).stdout
    assert max(map(len, narrow.splitlines()[:3])) <= 50
    assert wide.splitlines()[0] == ("usage: pyvirtd [-h] [-v] [-d] [-l] [-t SECONDS] "
                                    "[-f FILE] [-p FILE] [-V]")
    assert "-t SECONDS, --timeout SECONDS" in wide


def test_parsing_arguments_does_not_measure_the_terminal():
    probe = ("import sys\nfrom pyvirt.daemon.main import parse_args\n"
             "args = parse_args(['-f', 'x.conf', '-l'])\n"
             "print(args.config, args.listen, 'shutil' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["x.conf", "True", "False"]

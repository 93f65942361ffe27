"""pyvirsh over ``test+tcp://`` to a pyvirtd prints what the real virsh prints
for ``test:///default`` in its own process.

pyvirsh runs in a child process (it starts the default event loop for good, as
virsh does), with the remote driver registered; one child runs every command.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

pytestmark = pytest.mark.skipif(shutil.which("virsh") is None, reason="needs the real virsh")

COMMANDS = [["list", "--all"], ["dominfo", "test"], ["net-list", "--all"],
            ["pool-list", "--all"], ["nodeinfo"], ["domstate", "test"],
            ["vol-list", "default-pool"], ["dumpxml", "test"], ["net-dumpxml", "default"],
            ["version"], ["hostname"], ["dominfo", "nosuch"], ["net-info", "default"],
            ["pool-info", "default-pool"], ["domstats", "test"]]

CHILD = """
import contextlib, io, json, sys
from pyvirt.drivers import remote
remote.register()
from pyvirt.cli.main import main
uri, commands = sys.argv[1], json.loads(sys.argv[2])
results = []
for command in commands:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["-c", uri, *command])
    results.append([out.getvalue(), err.getvalue(), status])
sys.__stdout__.write(json.dumps(results))
"""


def _steady(text: str) -> str:
    """The test driver's CPU times follow the clock: blank their digits."""
    return re.sub(r"(?im)^(\s*(?:CPU time:|cpu\.time=|cpu\.user=|cpu\.system=)\s*)[\d.]+s?",
                  r"\1N", text)


@pytest.fixture(scope="module")
def pyvirsh_results(tmp_path_factory):
    running = DaemonThread(DaemonConfig(
        unix_sock_dir=str(tmp_path_factory.mktemp("run")), listen_tcp=True, listen_tls=False,
        listen_addr="127.0.0.1", tcp_port=0, auth_tcp="none")).start()
    try:
        uri = f"test+tcp://127.0.0.1:{running.tcp_port}/default"
        child = subprocess.run([sys.executable, "-c", CHILD, uri, json.dumps(COMMANDS)],
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 0, child.stderr
        return dict(zip((" ".join(c) for c in COMMANDS), json.loads(child.stdout)))
    finally:
        running.stop()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_pyvirsh_remote_prints_what_virsh_prints_locally(pyvirsh_results, command):
    out, err, status = pyvirsh_results[" ".join(command)]
    real = subprocess.run(["virsh", "-c", "test:///default", *command], capture_output=True,
                          text=True, timeout=30)
    assert (_steady(out), err, status) == (_steady(real.stdout), real.stderr, real.returncode)

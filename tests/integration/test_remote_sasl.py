"""SASL (SCRAM-SHA-256) logins to pyvirtd by the REAL clients: Debian's virsh 9.0
(credentials from a test auth.conf via LIBVIRT_AUTH_FILE, Cyrus SASL's libscram
plugin underneath) and the real libvirt-python 9.0 ``openAuth``; over the unix
socket (``auth_unix_rw = "sasl"``) and TLS (``auth_tls = "sasl"``). Access
rules with ``sasl:NAME`` apply per user. Plain TCP shows why pyvirtd refuses
``auth_tcp = "sasl"``: the real client will not use SCRAM there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from process_fixture import stop_process
from sasl_fixtures import NO_MECH

VIRSH = shutil.which("virsh")
SCRAM_PLUGIN = "/usr/lib/x86_64-linux-gnu/sasl2/libscram.so"
pytestmark = [
    pytest.mark.skipif(VIRSH is None, reason="real virsh (libvirt-clients) not installed"),
    pytest.mark.skipif(not os.path.exists(SCRAM_PLUGIN),
                       reason="Cyrus SASL SCRAM plugin (libsasl2-modules) not installed"),
]



def auth_conf(path, host: str, name: str, password: str) -> str:
    path.write_text(f"[credentials-test]\nauthname={name}\npassword={password}\n\n"
                    f"[auth-libvirt-{host}]\ncredentials=test\n")
    return str(path)


def virsh(uri: str, auth_file: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LIBVIRT_AUTH_FILE=auth_file)
    return subprocess.run([VIRSH, "-c", uri, *args], capture_output=True, text=True,
                          timeout=60, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def start(make_daemon, sasl_files):
    """``make_daemon`` (tests/conftest.py) with the SASL files, no plain TCP."""
    return lambda **settings: make_daemon(**{"listen_tcp": False, "tls_port": 0, **sasl_files,
                                             **settings})


@pytest.fixture
def unix_uri(start):
    running = start(auth_unix_rw="sasl")
    return f"test+unix:///default?socket={running.rw_path}"


def test_real_virsh_lists_domains_after_a_scram_login(unix_uri, tmp_path):
    result = virsh(unix_uri, auth_conf(tmp_path / "a.conf", "localhost", "alice", "wonderland"),
                   "list", "--all")
    assert result.returncode == 0, result.stderr
    assert " test " in result.stdout and "running" in result.stdout


def test_real_virsh_wrong_password_is_libvirts_error(unix_uri, tmp_path):
    result = virsh(unix_uri, auth_conf(tmp_path / "a.conf", "localhost", "alice", "guess"),
                   "list")
    assert result.returncode == 1
    assert result.stderr == ("error: failed to connect to the hypervisor\n"
                             "error: authentication failed: authentication failed\n")


def test_real_virsh_access_rules_per_sasl_user(unix_uri, tmp_path):
    bob = auth_conf(tmp_path / "b.conf", "localhost", "bob", "builder")
    alice = auth_conf(tmp_path / "a.conf", "localhost", "alice", "wonderland")
    assert virsh(unix_uri, bob, "domstate", "test").stdout.strip() == "running"
    denied = virsh(unix_uri, bob, "suspend", "test")
    assert denied.returncode == 1
    assert denied.stderr == ("error: Failed to suspend domain 'test'\n"
                             "error: access denied: 'Test' denied access\n")
    assert virsh(unix_uri, alice, "domstate", "test").stdout.strip() == "running"


def test_real_virsh_read_only_socket_with_sasl(start, tmp_path):
    running = start(auth_unix_ro="sasl")
    uri = f"test+unix:///default?socket={running.ro_path}"
    good = virsh(uri, auth_conf(tmp_path / "a.conf", "localhost", "bob", "builder"),
                 "-r", "domstate", "test")
    assert (good.returncode, good.stdout.strip()) == (0, "running"), good.stderr
    bad = virsh(uri, auth_conf(tmp_path / "w.conf", "localhost", "bob", "x"), "-r", "list")
    assert bad.returncode == 1 and "authentication failed" in bad.stderr


REAL_BINDING = """
import sys, libvirt
uri, name, password = sys.argv[1:4]
def callback(creds, cbdata):
    for cred in creds:
        if cred[0] == libvirt.VIR_CRED_AUTHNAME:
            cred[4] = cbdata[0]
        elif cred[0] == libvirt.VIR_CRED_PASSPHRASE:
            cred[4] = cbdata[1]
    return 0
libvirt.registerErrorHandler(lambda *a: None, None)
try:
    conn = libvirt.openAuth(uri, [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE],
                                  callback, (name, password)], 0)
    print("domains", sorted(d.name() for d in conn.listAllDomains()))
    conn.close()
except libvirt.libvirtError as err:
    print("error", err.get_error_code(), err.get_error_domain(), err)
try:
    libvirt.open(uri)
except libvirt.libvirtError as err:
    print("open", err.get_error_code(), err)
"""


def real_binding(uri: str, name: str, password: str, tmp_path) -> list[str]:
    script = tmp_path / "binding.py"
    script.write_text(REAL_BINDING)
    # no auth.conf anywhere (a LIBVIRT_AUTH_FILE naming a missing file is an error to libvirt)
    env = {k: v for k, v in os.environ.items() if k != "LIBVIRT_AUTH_FILE"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    result = subprocess.run([sys.executable, str(script), uri, name, password],
                            capture_output=True, text=True, timeout=60, env=env)
    if "No module named 'libvirt'" in result.stderr:
        pytest.skip("real libvirt-python not installed")
    return result.stdout.splitlines()


def test_real_libvirt_python_open_auth(unix_uri, tmp_path):
    good = real_binding(unix_uri, "alice", "wonderland", tmp_path)
    assert good == ["domains ['test']", f"open 45 {NO_MECH}"]
    bad = real_binding(unix_uri, "alice", "guess", tmp_path)
    assert bad[0] == "error 45 7 authentication failed: authentication failed"


def test_real_virsh_and_binding_over_tls_with_sasl(start, tmp_path):
    pytest.importorskip("cryptography", reason="cryptography not installed")
    from pyvirt.daemon import certs
    pki = tmp_path / "pki"
    certs.create(certs.Layout.in_dir(str(pki)), ["127.0.0.1", "localhost"], "client1")
    running = start(listen_tls=True, auth_tls="sasl", key_file=str(pki / "serverkey.pem"),
                    cert_file=str(pki / "servercert.pem"), ca_file=str(pki / "cacert.pem"))
    port = next(l for l in running.daemon.listeners if l.kind == "tls").address.rsplit(":")[1]
    uri = f"test+tls://127.0.0.1:{port}/default?pkipath={pki}"
    result = virsh(uri, auth_conf(tmp_path / "a.conf", "127.0.0.1", "alice", "wonderland"),
                   "list", "--all")
    assert result.returncode == 0, result.stderr
    assert " test " in result.stdout
    wrong = virsh(uri, auth_conf(tmp_path / "w.conf", "127.0.0.1", "alice", "nope"), "list")
    assert wrong.returncode == 1
    assert "authentication failed: authentication failed" in wrong.stderr
    assert real_binding(uri, "bob", "builder", tmp_path)[0] == "domains ['test']"


def test_real_virsh_refuses_scram_on_plain_tcp(start, tmp_path):
    """What happens with auth_tcp = "sasl" (forced here; pyvirtd's config refuses
    it): libvirt's client asks SASL for a security layer (SSF >= 56) on plain
    TCP; SCRAM has none, so Cyrus SASL finds no usable mechanism."""
    running = start(listen_tcp=True, auth_tcp="sasl")
    uri = f"test+tcp://127.0.0.1:{running.tcp_port}/default"
    result = virsh(uri, auth_conf(tmp_path / "a.conf", "127.0.0.1", "alice", "wonderland"),
                   "list")
    assert result.returncode == 1
    assert result.stderr == f"error: failed to connect to the hypervisor\nerror: {NO_MECH}\n"


SASLPASSWD2 = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"
LIBVIRTD = "/usr/sbin/libvirtd"


@pytest.fixture
def real_libvirtd_sasl(tmp_path):
    """libvirtd 9.0 with auth_unix_rw = "sasl": Cyrus SASL's own SCRAM server, a
    sasldb made by saslpasswd2 (alice/wonderland), SASL_CONF_PATH pointing at a
    private libvirt.conf. Yields the rw socket path; stopped by its pid."""
    import time
    sasl_dir, run = tmp_path / "sasl", tmp_path / "lrun"
    sasl_dir.mkdir()
    run.mkdir()
    subprocess.run([SASLPASSWD2, "-p", "-c", "-a", "libvirt", "-f", str(sasl_dir / "db"),
                    "alice"], input="wonderland", text=True, check=True, timeout=30)
    (sasl_dir / "libvirt.conf").write_text(f"mech_list: scram-sha-256\n"
                                           f"sasldb_path: {sasl_dir / 'db'}\n")
    (tmp_path / "libvirtd.conf").write_text(f'unix_sock_dir = "{run}"\nlisten_tls = 0\n'
                                            'auth_unix_rw = "sasl"\n')
    env = dict(os.environ, SASL_CONF_PATH=str(sasl_dir))
    proc = subprocess.Popen([LIBVIRTD, "-f", str(tmp_path / "libvirtd.conf"), "-p",
                             str(tmp_path / "libvirtd.pid")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (run / "libvirt-sock").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "libvirtd did not start"
            time.sleep(0.05)
        yield str(run / "libvirt-sock")
    finally:
        stop_process(proc, grace=15)


@pytest.mark.skipif(not os.path.exists(SASLPASSWD2), reason="saslpasswd2 (sasl2-bin) not installed")
@pytest.mark.skipif(not os.path.exists(LIBVIRTD) or os.geteuid() != 0,
                    reason="needs Debian's libvirt-daemon, as root")
def test_pyvirt_client_logs_in_to_the_real_libvirtd(real_libvirtd_sasl, tmp_path, monkeypatch):
    """pyvirt's SCRAM client against Cyrus SASL's SCRAM server inside libvirtd:
    same login, same error for a wrong password."""
    import pyvirt
    monkeypatch.delenv("LIBVIRT_AUTH_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    uri = f"test+unix:///default?socket={real_libvirtd_sasl}"

    def auth(password):
        def callback(creds, cbdata):
            for cred in creds:
                cred[4] = "alice" if cred[0] == pyvirt.VIR_CRED_AUTHNAME else password
            return 0
        return [[pyvirt.VIR_CRED_AUTHNAME, pyvirt.VIR_CRED_PASSPHRASE], callback, None]
    conn = pyvirt.openAuth(uri, auth("wonderland"), 0)
    assert [d.name() for d in conn.listAllDomains()] == ["test"]
    conn.close()
    with pytest.raises(pyvirt.libvirtError) as info:
        pyvirt.openAuth(uri, auth("guess"), 0)
    assert (info.value.get_error_code(), str(info.value)) == \
        (45, "authentication failed: authentication failed")


def _raw_sequence(path: str) -> list:
    """The same raw calls, in and out of order, as (answer or error) tuples."""
    import pyvirt
    from pyvirt.remote.connection import RemoteConnection
    from pyvirt.remote.sasl import from_wire, to_wire
    from pyvirt.remote.sasl_scram import ScramClient
    raw = RemoteConnection.unix(path)
    seen = []

    def do(proc, /, **args):
        try:
            value = raw.call(proc, **args)
            seen.append((proc, "ok"))
            return value
        except pyvirt.libvirtError as err:
            seen.append((proc, err.get_error_code(), err.get_error_domain(), str(err)))
            return None

    def exchange(password):
        mechs = do("AUTH_SASL_INIT")
        seen.append(("has SCRAM-SHA-256", "SCRAM-SHA-256" in (mechs or "").split(",")))
        client = ScramClient("SCRAM-SHA-256", "alice", password, "abcdefgh")
        started = do("AUTH_SASL_START", mech="SCRAM-SHA-256", nil=0,
                     data=to_wire(client.first()))
        if started is None:
            return None
        seen.append(("start complete", started["complete"]))
        stepped = do("AUTH_SASL_STEP", nil=0,
                     data=to_wire(client.final(from_wire(started["data"]))))
        if stepped is not None:
            client.verify(from_wire(stepped["data"]))
            seen.append(("step complete", stepped["complete"]))
        return stepped
    try:
        seen.append(("AUTH_LIST", raw.call("AUTH_LIST")))
        do("CONNECT_SUPPORTS_FEATURE", feature=10)
        do("CONNECT_OPEN", name="test:///default", flags=0)
        do("AUTH_SASL_START", mech="SCRAM-SHA-256", nil=1, data=[])
        do("AUTH_SASL_INIT")
        do("AUTH_SASL_START", mech="NOT-A-MECH", nil=1, data=[])
        exchange("wonderland")          # pyvirtd drops a client after 3 failures: 2 so far
        do("CONNECT_OPEN", name="test:///default", flags=0)
        do("CONNECT_GET_TYPE")
    finally:
        raw.close()
    raw = RemoteConnection.unix(path)
    try:
        exchange("guess")
        do("CONNECT_OPEN", name="test:///default", flags=0)
    finally:
        raw.close()
    return seen


@pytest.mark.skipif(not os.path.exists(SASLPASSWD2), reason="saslpasswd2 (sasl2-bin) not installed")
@pytest.mark.skipif(not os.path.exists(LIBVIRTD) or os.geteuid() != 0,
                    reason="needs Debian's libvirt-daemon, as root")
def test_wire_answers_match_the_real_libvirtd(real_libvirtd_sasl, start):
    """pyvirtd and libvirtd answer the same raw auth sequence (refusals before
    login, out-of-order requests, a wrong and a right SCRAM exchange) with the
    same codes, domains and messages."""
    running = start(auth_unix_rw="sasl", access_rules_file="")
    ours = _raw_sequence(running.rw_path)
    theirs = _raw_sequence(real_libvirtd_sasl)
    assert ours == theirs
    assert ("CONNECT_OPEN", 39, 7, "authentication required") in ours
    assert ("step complete", 1) in ours and ("CONNECT_GET_TYPE", "ok") in ours
    assert ours[-2] == ("AUTH_SASL_STEP", 45, 7, "authentication failed: authentication failed")

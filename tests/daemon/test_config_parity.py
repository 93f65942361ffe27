"""libvirtd.conf errors as libvirtd 9.0 reports them: virConf's syntax errors
(``PATH:LINE: what was expected``), then each key read with libvirtd's type, in
libvirtd's order (the first bad key is the one reported), a key given twice
keeping its first value. The expected messages were taken from the real
libvirtd; ``test_libvirtd_reports_the_same`` compares against it where it can run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from pyvirt.daemon.config import load_config, parse_conf
from pyvirt.errors import (VIR_ERR_CONF_SYNTAX, VIR_ERR_CONFIG_UNSUPPORTED,
                           VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, libvirtError)

SYNTAX = "configuration file syntax error: PATH"
CASES = [
    # (file text, error code, message with the file's path as PATH)
    ("listen_tcp = \n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: expecting a value"),
    ("x = 1 2\n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: expecting a separator"),
    ("listen_tcp\n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: expecting an assignment"),
    ("_x = 1\n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: expecting a name"),
    ("x = [1 2]\n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: expecting a separator in list"),
    ("x = [1, 2\n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:2: list is not closed with ]"),
    ("x = -\n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: unterminated number"),
    ('x = "abc\n', VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: unterminated string"),
    ('x = """abc\n', VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: unterminated string"),
    ("x = # c\n1\n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: expecting a value"),
    ("a = 1; b = 2 c\n", VIR_ERR_CONF_SYNTAX, f"{SYNTAX}:1: expecting a separator"),
    ("\n\n  x = [\n 1,\n 2,\n]\ny = @\n", VIR_ERR_CONF_SYNTAX,
     f"{SYNTAX}:7: expecting a value"),
    ('listen_tcp = "yes"\n', VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected a bool for 'listen_tcp' parameter"),
    ("listen_tcp = 2\n", VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: value for 'listen_tcp' parameter must be 0 or 1"),
    ("listen_tcp = -1\n", VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected a bool for 'listen_tcp' parameter"),
    ("tcp_port = 16509\n", VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected a string for 'tcp_port' parameter"),
    ('max_clients = [ "a" ]\n', VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected an unsigned integer for 'max_clients' parameter"),
    ("max_clients = -5\n", VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected an unsigned integer for 'max_clients' parameter"),
    ("log_level = 4294967296\n", VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: value for 'log_level' parameter must be in range 0:4294967295"),
    ("keepalive_interval = 99999999999\n", VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: value for 'keepalive_interval' parameter must be in range "
     "-2147483648:2147483647"),
    ('keepalive_interval = "5"\n', VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected a signed integer for 'keepalive_interval' parameter"),
    ('auth_unix_rw = "foo"\n', VIR_ERR_CONFIG_UNSUPPORTED,
     "unsupported configuration: PATH: auth_unix_rw: unsupported auth foo"),
    ("auth_tls = 5\n", VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected a string for 'auth_tls' parameter"),
    ('tls_allowed_dn_list = "x"\n', VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected a string list for 'tls_allowed_dn_list' parameter"),
    ("tls_allowed_dn_list = [1]\n", VIR_ERR_CONF_SYNTAX,
     f"{SYNTAX}: expected a string list for 'tls_allowed_dn_list' parameter"),
    ("max_workers = 0\nmax_workers = 5\n", VIR_ERR_INTERNAL_ERROR,
     "internal error: 'max_workers' must be greater than 0"),
    # libvirtd's order, not the file's: listen_tcp is read before min_workers
    ('min_workers = "x"\nlisten_tcp = "y"\n', VIR_ERR_INTERNAL_ERROR,
     "internal error: PATH: expected a bool for 'listen_tcp' parameter"),
    ('x = 1 # ok\ny = 2 ; z = [ "a" , ] \nmax_workers = 0\n', VIR_ERR_INTERNAL_ERROR,
     "internal error: 'max_workers' must be greater than 0"),
]


def write(tmp_path, text: str) -> str:
    path = tmp_path / "libvirtd.conf"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, code, message", CASES)
def test_errors_are_libvirtds(tmp_path, text, code, message):
    path = write(tmp_path, text)
    with pytest.raises(libvirtError) as err:
        load_config(path)
    assert str(err.value) == message.replace("PATH", path)
    assert err.value.get_error_code() == code


def test_a_missing_file_is_libvirtds_system_error(tmp_path):
    path = str(tmp_path / "missing.conf")
    with pytest.raises(libvirtError) as err:
        load_config(path)
    assert str(err.value) == f"Failed to open file '{path}': No such file or directory"
    assert err.value.get_error_code() == VIR_ERR_SYSTEM_ERROR


def test_values_as_libvirt_reads_them():
    values = parse_conf("a = 1 # c\nb = 'x' ; c = +7\nd = -3\ne = [ 'p',\n  \"q\", ]\n"
                        'f = """two\nlines"""\na = 2\n# whole line\n')
    assert values == {"a": 1, "b": "x", "c": 7, "d": -3, "e": ["p", "q"], "f": "two\nlines"}


def test_perms_and_ports_are_strings_as_in_libvirtd(tmp_path):
    config = load_config(write(tmp_path, 'unix_sock_rw_perms = "0770"\ntcp_port = "1234"\n'))
    assert (config.unix_sock_rw_perms, config.tcp_port) == (0o770, 1234)
    with pytest.raises(libvirtError, match="Failed to parse mode 'rw'"):
        load_config(write(tmp_path, 'unix_sock_ro_perms = "rw"\n'))


def _libvirtd_argv(path: str) -> list[str] | None:
    libvirtd = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
    if not os.path.exists(libvirtd) or os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    # a private /run/libvirt, as bench/bench_daemon.py does: another libvirtd may own it
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs tmpfs /run/libvirt 2>/dev/null; exec "$0" -f "$1" -p "$2"',
            libvirtd, path, path + ".pid"]


@pytest.mark.parametrize("text, code, message", CASES[::3])
def test_libvirtd_reports_the_same(tmp_path, text, code, message):
    path = write(tmp_path, text)
    argv = _libvirtd_argv(path)
    if argv is None:
        pytest.skip("needs root, unshare and libvirtd (apt-get install libvirt-daemon)")
    # every case is a bad file: libvirtd exits at once (timeout: in case it did not)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    found = re.search(r"Can't load config file: (.*): " + re.escape(path) + "$", out.stderr,
                      re.M)
    assert out.returncode == 1 and found, out.stderr[-2000:]
    assert found.group(1) == message.replace("PATH", path)

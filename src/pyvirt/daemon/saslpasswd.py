"""pyvirtd's SASL password file and ``pyvirt-saslpasswd``, its editor.

libvirtd keeps SASL users in a Cyrus sasldb (``saslpasswd2 -a libvirt USER``);
pyvirtd keeps SCRAM verifiers in a text file of its own (``sasl_passwd_file``
in pyvirtd.conf, default :data:`DEFAULT_PATH`), mode 0600, one line per user
and mechanism, never the password::

    # user:mechanism:iterations:salt:StoredKey:ServerKey (base64)
    alice:SCRAM-SHA-256:4096:W22ZaJ0SNY7soEsUEjb6gQ==:WG5d...:wfPL...
    alice:SCRAM-SHA-1:4096:W22ZaJ0SNY7soEsUEjb6gQ==:6dlG...:D+CS...

Usage: ``pyvirt-saslpasswd [-f FILE] [-d] [--password-stdin] USER`` (``-a
APPNAME`` is accepted and ignored, as in ``saslpasswd2 -a libvirt``);
``pyvirt-saslpasswd [-f FILE] -l`` lists the users (``sasldblistusers2``).
The daemon only reads the file (:func:`lookup`): the writing and prompting
modules are imported by the functions that write and prompt.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys

from pyvirt.remote.sasl_scram import (DEFAULT_ITERATIONS, MECHANISMS, Verifier,
                                      make_verifier)

DEFAULT_PATH = "/etc/pyvirt/sasl-passwd"
_HEADER = "# pyvirt SCRAM verifiers: user:mechanism:iterations:salt:StoredKey:ServerKey\n"


class PasswdFileError(ValueError):
    """The file or a name in it is not usable."""


def check_name(name: str) -> str:
    if not name or ":" in name or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise PasswdFileError(f"invalid user name {name!r} (empty, ':' or control characters)")
    return name


def parse(text: str, source: str = "sasl passwd file") -> dict[tuple[str, str], Verifier]:
    """File text -> {(user, mechanism): Verifier}."""
    found: dict[tuple[str, str], Verifier] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.strip().split(":")
        if len(fields) != 6 or fields[1] not in MECHANISMS or not fields[2].isdigit():
            raise PasswdFileError(f"{source}:{number}: malformed line")
        name, mech, count, salt, stored, server = fields
        try:
            found[(name, mech)] = Verifier(mech, base64.b64decode(salt, validate=True),
                                           int(count), base64.b64decode(stored, validate=True),
                                           base64.b64decode(server, validate=True))
        except ValueError as err:
            raise PasswdFileError(f"{source}:{number}: bad base64") from err
    return found


def format_entries(entries: dict[tuple[str, str], Verifier]) -> str:
    lines = [_HEADER]
    for (name, mech), ver in sorted(entries.items()):
        lines.append(":".join((name, mech, str(ver.iterations),
                               *(base64.b64encode(v).decode() for v in
                                 (ver.salt, ver.stored_key, ver.server_key)))) + "\n")
    return "".join(lines)


def load(path: str) -> dict[tuple[str, str], Verifier]:
    """The entries of ``path``; a missing file has none."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse(handle.read(), path)
    except FileNotFoundError:
        return {}


def lookup(path: str, name: str, mechanism: str) -> Verifier | None:
    """The verifier of ``name`` for ``mechanism`` (read afresh, so a new user
    needs no daemon restart), or None."""
    return load(path).get((name, mechanism))


def users(path: str) -> list[str]:
    return sorted({name for name, _ in load(path)})


def _write_atomic(path: str, text: str) -> None:
    from pyvirt.atomicfile import write_atomic
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    write_atomic(path, text, 0o600)


def add_user(path: str, name: str, password: str,
             iterations: int = DEFAULT_ITERATIONS) -> None:
    """Add ``name`` (or change its password) for every SCRAM mechanism."""
    check_name(name)
    if not password:
        raise PasswdFileError("empty password")
    entries = load(path)
    salt = os.urandom(16)
    for mech in MECHANISMS:
        entries[(name, mech)] = make_verifier(mech, password, salt, iterations)
    _write_atomic(path, format_entries(entries))


def delete_user(path: str, name: str) -> None:
    entries = load(path)
    kept = {key: ver for key, ver in entries.items() if key[0] != name}
    if len(kept) == len(entries):
        raise PasswdFileError(f"user {name!r} not found in {path}")
    _write_atomic(path, format_entries(kept))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again (for verification): ") != first:
        raise PasswdFileError("passwords don't match")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pyvirt-saslpasswd",
        description="Add, change or delete a pyvirtd SASL (SCRAM) user.")
    parser.add_argument("-f", "--file", default=DEFAULT_PATH,
                        help=f"password file (default {DEFAULT_PATH})")
    parser.add_argument("-d", "--delete", action="store_true", help="delete the user")
    parser.add_argument("-a", "--appname", default="libvirt",
                        help="accepted for saslpasswd2 compatibility; ignored")
    parser.add_argument("-i", "--iterations", type=int, default=DEFAULT_ITERATIONS,
                        help=f"PBKDF2 iterations (default {DEFAULT_ITERATIONS})")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin")
    parser.add_argument("-l", "--list", action="store_true", help="list the users")
    parser.add_argument("user", nargs="?")
    args = parser.parse_args(argv)
    if not args.list and not args.user:
        parser.error("a USER is required (or -l)")
    try:
        if args.list:
            for name in users(args.file):
                print(name)
        elif args.delete:
            delete_user(args.file, args.user)
        else:
            if args.iterations < DEFAULT_ITERATIONS:
                raise PasswdFileError(f"at least {DEFAULT_ITERATIONS} iterations")
            add_user(args.file, check_name(args.user), _read_password(args.password_stdin),
                     args.iterations)
    except (PasswdFileError, OSError) as err:
        print(f"pyvirt-saslpasswd: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

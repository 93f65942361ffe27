"""``pyvirt-web``: serve the manager, or manage its users file.

    pyvirt-web --listen 127.0.0.1:8443 --uri test:///default --users users.txt
               [--uri qemu:///...] [--cert CERT --key KEY] [--secret-file FILE]
    pyvirt-web --users users.txt --add-user NAME [--role admin|readonly]
               (the password is read from stdin, or asked for on a terminal)
    pyvirt-web --auth daemon --uri qemu+tcp://host/system [--access-rules FILE]
               (logins checked by the daemon: SASL name/password through openAuth)
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from pyvirt.errors import libvirtError

from .daemon_login import daemon_logins
from .users import ROLES, UserStore, UsersFile, UsersFileError

DEFAULT_USERS = "/etc/pyvirt/web-users"


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got '{text}'")
    return host.strip("[]") or "127.0.0.1", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyvirt-web", description="Serve pyvirt's browser manager, or add a user to "
        "its users file.")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 8443),
                        metavar="HOST:PORT",
                        help="address to listen on (default 127.0.0.1:8443)")
    parser.add_argument("--uri", action="append", default=[],
                        help="a libvirt URI to manage (repeat for several hosts)")
    parser.add_argument("--users", metavar="FILE",
                        default=os.environ.get("PYVIRT_WEB_USERS", DEFAULT_USERS),
                        help="users file: name:role:hash lines")
    parser.add_argument("--auth", choices=("users", "daemon"), default="users",
                        help="who checks logins: the users file (default) or the daemon "
                             "behind the URIs (each user opens its own connections)")
    parser.add_argument("--access-rules", metavar="FILE",
                        help="with --auth daemon: the daemon's access rules file, to hide "
                             "what it would refuse")
    parser.add_argument("--cert", help="TLS certificate (PEM) to serve HTTPS")
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.add_argument("--secret-file", metavar="FILE",
                        help="file holding the session signing key (default: a fresh key "
                             "per start, which logs everyone out on restart)")
    parser.add_argument("--add-user", metavar="NAME", help="add or replace a user and exit")
    parser.add_argument("--role", choices=ROLES, default="readonly",
                        help="role for --add-user (default readonly)")
    return parser


def add_user(users_path: str, name: str, role: str) -> int:
    path = Path(users_path)
    store = UserStore.load(path) if path.exists() else UserStore()
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("error: empty password", file=sys.stderr)
        return 1
    store.add(name, role, password)
    store.save(path)
    print(f"User {name} ({role}) saved in {path}")
    return 0


def read_secret(path: str | None) -> str | None:
    if path is None:
        return None
    secret = Path(path).read_text().strip()
    if len(secret) < 16:
        raise ValueError(f"{path}: the session key must be at least 16 characters")
    return secret


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.add_user:
            return add_user(args.users, args.add_user, args.role)
        if not args.uri:
            print("error: give at least one --uri", file=sys.stderr)
            return 2
        if bool(args.cert) != bool(args.key):
            print("error: --cert and --key go together", file=sys.stderr)
            return 2
        if args.access_rules and args.auth != "daemon":
            print("error: --access-rules goes with --auth daemon", file=sys.stderr)
            return 2
        users = UsersFile(args.users) if args.auth == "users" else None
        logins = daemon_logins(args.uri, args.access_rules) if args.auth == "daemon" else None
        secret = read_secret(args.secret_file)
    except (OSError, UsersFileError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except libvirtError as err:                 # a malformed rules file
        print(f"error: {err}", file=sys.stderr)
        return 1

    import uvicorn

    from .app import WebConfig, create_app

    config = WebConfig(uris=args.uri, users=users, logins=logins, https_only=bool(args.cert))
    if secret:
        config.secret_key = secret
    host, port = args.listen
    uvicorn.run(create_app(config), host=host, port=port, ssl_certfile=args.cert,
                ssl_keyfile=args.key, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())

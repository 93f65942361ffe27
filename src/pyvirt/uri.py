"""libvirt connection URIs: ``driver[+transport]://[user@][host][:port]/path[?params]``.

:func:`parse` turns a URI string into a :class:`URI`; ``str(uri)`` formats it back.
:func:`resolve` picks the URI a connection opens: the caller's, else
``LIBVIRT_DEFAULT_URI`` (``pyvirt.api`` then tries ``uri_default`` from
libvirt.conf). There is no probing default (libvirt would try the local
hypervisors, then the daemon socket): with none, opening fails with
``VIR_ERR_NO_CONNECT`` and a message that says how to choose one.

Malformed URIs fail as libvirt's do: ``VIR_ERR_INTERNAL_ERROR`` from
``VIR_FROM_URI``, "internal error: Unable to parse URI <uri>"; a URI with no
scheme fails with ``VIR_ERR_NO_CONNECT`` ("... does not include a driver name").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_CONNECT, VIR_FROM_URI,
                           error)

ENV_DEFAULT_URI = "LIBVIRT_DEFAULT_URI"

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
# scheme ":" ["//" authority] path ["?" query] ["#" fragment]
_SPLIT = re.compile(r"^(?P<scheme>[^:/?#]+):(?://(?P<authority>[^/?#]*))?"
                    r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$")
_SAFE_PATH = "/:@!$&'()*+,;=-._~"
_SAFE_PARAM = "/:@!$'()*,;-._~"


@dataclass
class URI:
    """A parsed libvirt URI. ``params`` keeps the query's order and repeats."""

    scheme: str
    user: str | None = None
    host: str | None = None
    port: int | None = None
    path: str = ""
    params: list[tuple[str, str]] = field(default_factory=list)
    fragment: str | None = None
    has_authority: bool = True

    @property
    def driver(self) -> str:
        """The driver part of the scheme: ``qemu`` in ``qemu+ssh``."""
        return self.scheme.split("+", 1)[0]

    @property
    def transport(self) -> str | None:
        """The transport part of the scheme (``ssh``, ``unix``, ``tls``...) or None."""
        parts = self.scheme.split("+", 1)
        return parts[1] if len(parts) == 2 else None

    @property
    def query(self) -> str:
        """The query string as libvirt formats it from the params."""
        return "&".join(f"{quote(k, safe=_SAFE_PARAM)}={quote(v, safe=_SAFE_PARAM)}"
                        for k, v in self.params)

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name`` (libvirt's lookup rule)."""
        found = default
        for key, value in self.params:
            if key == name:
                found = value
        return found

    def __str__(self) -> str:
        text = f"{self.scheme}:"
        if self.has_authority:
            text += "//"
            if self.user is not None:
                text += quote(self.user, safe="!$&'()*+,;=-._~:") + "@"
            if self.host:
                text += f"[{self.host}]" if ":" in self.host else self.host
            if self.port is not None:
                text += f":{self.port}"
        text += quote(self.path, safe=_SAFE_PATH)
        if self.params:
            text += "?" + self.query
        if self.fragment is not None:
            text += "#" + self.fragment
        return text


def _bad(text: str) -> Exception:
    return error(VIR_ERR_INTERNAL_ERROR, f"Unable to parse URI {text}", domain=VIR_FROM_URI)


def _split_authority(text: str, authority: str) -> tuple[str | None, str | None, int | None]:
    user = None
    if "@" in authority:
        raw_user, authority = authority.rsplit("@", 1)
        user = unquote(raw_user)
    port: int | None = None
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _bad(text)
        host, rest = authority[1:end], authority[end + 1:]
        if rest and not rest.startswith(":"):
            raise _bad(text)
        port_text = rest[1:] if rest else None
    else:
        host, _, port_text = authority.partition(":")
        if not _:
            port_text = None
    if port_text is not None and port_text != "":
        if not port_text.isdigit():
            raise _bad(text)
        port = int(port_text)
    return user, (unquote(host) or None), port


def _parse_params(query: str) -> list[tuple[str, str]]:
    params = []
    for item in query.replace(";", "&").split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        params.append((unquote(key.replace("+", " ")), unquote(value.replace("+", " "))))
    return params


def parse(text: str) -> URI:
    """Parse a libvirt URI; raise libvirt's error for a malformed one."""
    if any(ch.isspace() for ch in text):
        raise _bad(text)
    match = _SPLIT.match(text)
    if match is None:
        if ":" not in text or text.startswith(":"):
            if text.startswith(":"):
                raise _bad(text)
            raise error(VIR_ERR_NO_CONNECT, f"URI '{text}' does not include a driver name")
        raise _bad(text)
    scheme = match["scheme"]
    if not _SCHEME.match(scheme):
        raise _bad(text)
    authority = match["authority"]
    user = host = None
    port = None
    if authority is not None:
        user, host, port = _split_authority(text, authority)
    return URI(scheme=scheme, user=user, host=host, port=port,
               path=unquote(match["path"]),
               params=_parse_params(match["query"] or ""),
               fragment=match["fragment"],
               has_authority=authority is not None or match["path"].startswith("/"))


def resolve(name: str | None) -> str | None:
    """The URI string to open: ``name``, else ``$LIBVIRT_DEFAULT_URI``, else None."""
    if name:
        return name
    return os.environ.get(ENV_DEFAULT_URI) or None


def no_default_uri() -> Exception:
    """The error for an open with no URI and no ``LIBVIRT_DEFAULT_URI``."""
    return error(VIR_ERR_NO_CONNECT,
                 f"the default URI (no URI given, {ENV_DEFAULT_URI} is not set and "
                 "libvirt.conf has no uri_default; try test:///default)")

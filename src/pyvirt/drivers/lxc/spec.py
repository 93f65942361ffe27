"""What a container is made of, as the launcher needs it: :class:`ContainerSpec`.

:func:`spec_from_def` turns a checked container ``DomainDef`` into a spec
(pure: no I/O); the spec crosses to the controller process as JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_PATH = "/bin:/sbin:/usr/bin:/usr/sbin:/usr/local/bin:/usr/local/sbin"


@dataclass(frozen=True)
class BindMount:
    source: str
    target: str
    readonly: bool = False


@dataclass(frozen=True)
class IdRange:
    """One ``<idmap>`` line: container ids ``start..start+count-1`` are host
    ids ``target..``."""

    start: int
    target: int
    count: int

    def line(self) -> str:
        return f"{self.start} {self.target} {self.count}"


@dataclass
class ContainerSpec:
    name: str
    uuid: str
    root: str
    init: str
    initargs: list[str] = field(default_factory=list)
    root_readonly: bool = False
    mounts: list[BindMount] = field(default_factory=list)
    uid_map: list[IdRange] = field(default_factory=list)
    gid_map: list[IdRange] = field(default_factory=list)
    hostname: str = ""
    private_network: bool = False
    env: dict[str, str] = field(default_factory=dict)
    console_socket: str = ""
    log_path: str = ""
    #: seconds the controller watches a fresh init before calling the start good
    settle_s: float = 0.25

    @property
    def user_namespace(self) -> bool:
        return bool(self.uid_map)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ContainerSpec":
        raw: dict[str, Any] = json.loads(text)
        raw["mounts"] = [BindMount(**m) for m in raw.get("mounts", [])]
        raw["uid_map"] = [IdRange(**r) for r in raw.get("uid_map", [])]
        raw["gid_map"] = [IdRange(**r) for r in raw.get("gid_map", [])]
        return cls(**raw)


def hostname_for(name: str) -> str:
    """libvirt's container host name: the domain name with every character but
    letters, digits and '-' filtered out, and one leading '-' dropped."""
    cleaned = re.sub(r"[^A-Za-z0-9-]", "", name)
    if cleaned.startswith("-"):
        cleaned = cleaned[1:]
    return cleaned[:64]


def id_ranges(ddef: Any, kind: str) -> list[IdRange]:
    """``<idmap><uid|gid start target count/>`` entries of ``ddef``."""
    out = []
    for node in ddef.node.iterfind(f"idmap/{kind}"):
        out.append(IdRange(int(node.get("start")), int(node.get("target")),
                           int(node.get("count"))))
    return out


def spec_from_def(ddef: Any, *, console_socket: str = "", log_path: str = "") -> ContainerSpec:
    """The launch spec of a checked container definition."""
    root = ""
    root_readonly = False
    mounts: list[BindMount] = []
    for fs in ddef.node.iterfind("devices/filesystem"):
        source = fs.find("source")
        target = fs.find("target")
        src = source.get("dir") if source is not None else None
        dst = target.get("dir") if target is not None else None
        readonly = fs.find("readonly") is not None
        if dst == "/":
            root, root_readonly = src or "", readonly
        elif src and dst:
            mounts.append(BindMount(src, dst, readonly))
    os_node = ddef.node.find("os")
    init = (os_node.findtext("init") or "").strip() if os_node is not None else ""
    initargs = [(a.text or "") for a in os_node.iterfind("initarg")] if os_node is not None else []
    env = {"PATH": DEFAULT_PATH, "TERM": "linux", "HOME": "/", "container": "lxc-libvirt",
           "container_uuid": ddef.uuid, "LIBVIRT_LXC_NAME": ddef.name.strip(),
           "LIBVIRT_LXC_UUID": ddef.uuid}
    if os_node is not None:
        for item in os_node.iterfind("initenv"):
            if item.get("name"):
                env[item.get("name")] = item.text or ""
    features = ddef.node.find("features")
    privnet = features is not None and features.find("privnet") is not None
    interfaces = ddef.node.find("devices/interface") is not None
    return ContainerSpec(
        name=ddef.name.strip(), uuid=ddef.uuid, root=root or "/", init=init or "/sbin/init",
        initargs=initargs, root_readonly=root_readonly, mounts=mounts,
        uid_map=id_ranges(ddef, "uid"), gid_map=id_ranges(ddef, "gid"),
        hostname=hostname_for(ddef.name.strip()), private_network=privnet or interfaces,
        env=env, console_socket=console_socket, log_path=log_path)

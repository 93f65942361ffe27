"""Where the LXC driver keeps its state, and how it is written.

==========================  ==========================  =====================
URI                         config (definitions)        run (live status)
==========================  ==========================  =====================
``lxc:///embed?root=DIR``   ``DIR/etc/lxc``             ``DIR/run/lxc``
``lxc:///`` (``/system``)   ``/etc/pyvirt/lxc``         ``/run/pyvirt/lxc``
==========================  ==========================  =====================

plus ``log`` (console logs ``NAME.log``). Files are replaced atomically
(temp file, fsync, rename, fsync of the directory).

The status of a running container is ``RUN/NAME.xml``::

    <domstatus state='running' reason='booted' pid='CONTROLLER'>
      <controller start='TICKS'/>
      <init pid='PID' start='TICKS'/>
      <cgroup path='machine/NAME.pyvirt-lxc'/>
      <veth name='vethct0'/>
      <domain type='lxc' id='N'>...</domain>
    </domstatus>

:func:`format_status` / :func:`parse_status` convert it without I/O.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from pyvirt.conf.xmlbuilder import parse_xml
from pyvirt.atomicfile import write_atomic as _write_atomic
from pyvirt.drivers.common.state_dir import DomainFilePaths, create_dirs
from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_FROM_LXC, error,
)


@dataclass(frozen=True)
class StateDirs(DomainFilePaths):
    config: Path
    run: Path
    log: Path
    #: distinguishes this root's cgroups from another root's ("" for the system layout)
    key: str = ""

    def create(self) -> None:
        create_dirs((self.config, self.autostart, self.run, self.log), (self.run,),
                    VIR_FROM_LXC)

    def spec_path(self, name: str) -> Path:
        return self.run / f"{name}.spec.json"

    def console_path(self, name: str) -> Path:
        return self.run / f"{name}.console"


def dirs_for_root(root: str | os.PathLike[str]) -> StateDirs:
    base = Path(root).absolute()
    key = hashlib.sha256(str(base).encode()).hexdigest()[:8]
    return StateDirs(config=base / "etc" / "lxc", run=base / "run" / "lxc",
                     log=base / "log" / "lxc", key=key)


#: test hook: when set, ``lxc:///`` keeps its state under this directory (embed layout),
#: so a test daemon serving ``lxc+tcp://host/`` never touches /etc or /run
SYSTEM_ROOT_ENV = "PYVIRT_LXC_TEST_SYSTEM_ROOT"


def dirs_for_system() -> StateDirs:
    override = os.environ.get(SYSTEM_ROOT_ENV)
    if override:
        return dirs_for_root(override)
    return StateDirs(config=Path("/etc/pyvirt/lxc"), run=Path("/run/pyvirt/lxc"),
                     log=Path("/var/log/pyvirt/lxc"))


def dirs_for_uri(path: str, root: str | None) -> StateDirs:
    if path == "/embed":
        if not root:
            raise error(VIR_ERR_INVALID_ARG, "Missing URI parameter 'root'", domain=VIR_FROM_LXC)
        if not os.path.isabs(root):
            raise error(VIR_ERR_INVALID_ARG, "URI parameter 'root' must be an absolute path",
                        domain=VIR_FROM_LXC)
        return dirs_for_root(os.path.normpath(root))
    if path in ("", "/", "/system"):
        return dirs_for_system()
    raise error(VIR_ERR_INTERNAL_ERROR, f"unexpected LXC URI path '{path}', try lxc:///",
                domain=VIR_FROM_LXC)


# --- atomic files --------------------------------------------------------------------
def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: old or new after a crash, never half."""
    _write_atomic(path, text)


def remove_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def save_config(dirs: StateDirs, name: str, xml: str) -> None:
    write_atomic(dirs.config_path(name), xml)


def delete_config(dirs: StateDirs, name: str) -> None:
    remove_file(dirs.config_path(name))
    remove_file(dirs.autostart_path(name))


def load_configs(dirs: StateDirs) -> list[tuple[str, str]]:
    out = []
    if not dirs.config.is_dir():
        return out
    for path in sorted(dirs.config.glob("*.xml")):
        try:
            out.append((path.stem, path.read_text()))
        except OSError:
            continue
    return out


def set_autostart(dirs: StateDirs, name: str, on: bool) -> None:
    link = dirs.autostart_path(name)
    if on:
        dirs.autostart.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            os.symlink(f"../{name}.xml", link)
    else:
        remove_file(link)


def is_autostart(dirs: StateDirs, name: str) -> bool:
    return dirs.autostart_path(name).is_symlink() or dirs.autostart_path(name).exists()


# --- status ------------------------------------------------------------------------------
@dataclass
class StatusRecord:
    state: str
    reason: str
    controller_pid: int
    controller_start: int | None
    init_pid: int
    init_start: int | None
    cgroup: str
    domain_xml: str
    veths: list[str] = field(default_factory=list)


def format_status(rec: StatusRecord) -> str:
    root = etree.Element("domstatus", state=rec.state, reason=rec.reason,
                         pid=str(rec.controller_pid))
    ctrl = etree.SubElement(root, "controller")
    if rec.controller_start is not None:
        ctrl.set("start", str(rec.controller_start))
    init = etree.SubElement(root, "init", pid=str(rec.init_pid))
    if rec.init_start is not None:
        init.set("start", str(rec.init_start))
    etree.SubElement(root, "cgroup", path=rec.cgroup)
    for veth in rec.veths:
        etree.SubElement(root, "veth", name=veth)
    root.append(etree.fromstring(rec.domain_xml.encode()))
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode") + "\n"


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def parse_status(text: str) -> StatusRecord:
    root = parse_xml(text, "(domain_status)", domain=VIR_FROM_LXC)
    domain = root.find("domain")
    init = root.find("init")
    if root.tag != "domstatus" or domain is None or init is None:
        raise error(VIR_ERR_INTERNAL_ERROR, "malformed container status file",
                    domain=VIR_FROM_LXC)
    ctrl = root.find("controller")
    cgroup = root.find("cgroup")
    return StatusRecord(
        state=root.get("state", "running"), reason=root.get("reason", "unknown"),
        controller_pid=_int(root.get("pid")) or 0,
        controller_start=_int(ctrl.get("start")) if ctrl is not None else None,
        init_pid=_int(init.get("pid")) or 0, init_start=_int(init.get("start")),
        cgroup=cgroup.get("path", "") if cgroup is not None else "",
        domain_xml=etree.tostring(domain, encoding="unicode"),
        veths=[v.get("name") for v in root.iterfind("veth") if v.get("name")])


def save_status(dirs: StateDirs, name: str, rec: StatusRecord) -> None:
    write_atomic(dirs.status_path(name), format_status(rec))


def load_statuses(dirs: StateDirs) -> list[tuple[str, str]]:
    out = []
    if not dirs.run.is_dir():
        return out
    for path in sorted(dirs.run.glob("*.xml")):
        try:
            out.append((path.stem, path.read_text()))
        except OSError:
            continue
    return out

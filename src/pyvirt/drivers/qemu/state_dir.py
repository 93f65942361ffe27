"""Where one QEMU driver instance keeps its state on disk, and how it is written.

Each URI maps to one :class:`StateDirs` layout (libvirt's, under pyvirt's own
names so the real libvirtd can run beside us):

==========================  ==================================  ========================
URI                         config (persistent definitions)     run (live status)
==========================  ==================================  ========================
``qemu:///embed?root=DIR``  ``DIR/etc/qemu``                    ``DIR/run/qemu``
``qemu:///system``          ``/etc/pyvirt/qemu``                ``/run/pyvirt/qemu``
``qemu:///session``         ``~/.config/pyvirt/qemu``           ``$XDG_RUNTIME_DIR/pyvirt/qemu/run``
==========================  ==================================  ========================

plus ``lib`` (managed-save images, snapshot metadata), ``cache`` and ``log``.

Files written here are replaced atomically (temp file + fsync + rename + fsync
of the directory): a crash leaves the old file or the new one, never half of one.

The live status of a running domain is ``RUN/NAME.xml``, a ``<domstatus>``
document like libvirt's: state, reason, pid (with the process start time, so a
recycled pid is not mistaken for our QEMU), monitor socket, then the live
``<domain id='N'>``. :func:`format_status` / :func:`parse_status` convert
between it and a :class:`StatusRecord` without touching the disk.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from pyvirt.conf.xmlbuilder import format_element, parse_xml
from pyvirt.drivers.common.state_dir import DomainFilePaths, create_dirs
from pyvirt.atomicfile import fsync_dir, write_atomic
from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_FAILED,
    VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU, libvirtError, error,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StateDirs(DomainFilePaths):
    """The directories of one driver instance (one URI, one root)."""

    config: Path        # persistent definitions NAME.xml, autostart/NAME.xml links
    run: Path           # live status NAME.xml, monitor sockets, pid files
    lib: Path           # save/NAME.save (managed save), snapshot/NAME/*.xml
    cache: Path
    log: Path

    @property
    def save(self) -> Path:
        return self.lib / "save"

    @property
    def snapshot(self) -> Path:
        return self.lib / "snapshot"

    def all(self) -> tuple[Path, ...]:
        return (self.config, self.autostart, self.run, self.lib, self.save,
                self.snapshot, self.cache, self.log)

    def create(self) -> None:
        """Make every directory (mode 0700 for the ones holding sockets and status)."""
        create_dirs(self.all(), (self.run, self.lib), VIR_FROM_QEMU)

    # --- per-domain paths -------------------------------------------------------
    def monitor_path(self, name: str) -> Path:
        return self.run / f"{name}.monitor"

    def pid_path(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def managed_save_path(self, name: str) -> Path:
        return self.save / f"{name}.save"

    def snapshot_dir(self, name: str) -> Path:
        return self.snapshot / name


def dirs_for_root(root: str | os.PathLike[str]) -> StateDirs:
    """The embedded layout: everything under ``root``."""
    base = Path(root)
    return StateDirs(config=base / "etc" / "qemu", run=base / "run" / "qemu",
                     lib=base / "lib" / "qemu", cache=base / "cache" / "qemu",
                     log=base / "log" / "qemu")


#: test hook: when set, ``qemu:///system`` keeps its state, and its network and storage
#: peers theirs, under this directory (the embed layout), so a test daemon serving
#: ``qemu+unix:///system`` never touches /etc, /run or /var
SYSTEM_ROOT_ENV = "PYVIRT_QEMU_TEST_SYSTEM_ROOT"


def dirs_for_system() -> StateDirs:
    override = os.environ.get(SYSTEM_ROOT_ENV)
    if override:
        return dirs_for_root(os.path.normpath(override))
    return StateDirs(config=Path("/etc/pyvirt/qemu"), run=Path("/run/pyvirt/qemu"),
                     lib=Path("/var/lib/pyvirt/qemu"), cache=Path("/var/cache/pyvirt/qemu"),
                     log=Path("/var/log/pyvirt/qemu"))


def dirs_for_session(env: dict[str, str] | None = None) -> StateDirs:
    """The per-user layout, following the XDG base directories."""
    env = dict(os.environ) if env is None else env
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    cache_home = Path(env.get("XDG_CACHE_HOME") or home / ".cache")
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    runtime = env.get("XDG_RUNTIME_DIR")
    run = (Path(runtime) / "pyvirt" / "qemu" / "run" if runtime
           else cache_home / "pyvirt" / "qemu" / "run")
    return StateDirs(config=config_home / "pyvirt" / "qemu", run=run,
                     lib=data_home / "pyvirt" / "qemu", cache=cache_home / "pyvirt" / "qemu",
                     log=cache_home / "pyvirt" / "qemu" / "log")


def dirs_for_uri(path: str, root: str | None) -> StateDirs:
    """The layout for a ``qemu://`` URI's path (``/system``, ``/session``,
    ``/embed``) and its ``root`` parameter; libvirt's errors for the rest."""
    if path == "/embed":
        if not root:
            raise error(VIR_ERR_INVALID_ARG, "Missing URI parameter 'root'")
        if not os.path.isabs(root):
            raise error(VIR_ERR_INVALID_ARG, "URI parameter 'root' must be an absolute path")
        return dirs_for_root(os.path.normpath(root))
    if root:
        raise error(VIR_ERR_INTERNAL_ERROR,
                    "root parameter is only valid for embedded driver", domain=VIR_FROM_QEMU)
    if path == "/system":
        return dirs_for_system()
    if path == "/session":
        return dirs_for_session()
    raise error(VIR_ERR_INTERNAL_ERROR,
                f"unexpected QEMU URI path '{path}', try qemu:///system", domain=VIR_FROM_QEMU)


def peer_dirs_for_uri(path: str, root: str | None, kind: str,
                     env: dict[str, str] | None = None) -> tuple[Path, Path]:
    """(config, run) dirs of the network or storage driver (``kind``) a ``qemu://``
    URI brings along: ``ROOT/etc/KIND`` + ``ROOT/run/KIND`` embedded,
    ``/etc/pyvirt/KIND`` + ``/run/pyvirt/KIND`` for ``/system``, and
    ``~/.config/pyvirt/KIND`` + ``$XDG_RUNTIME_DIR/pyvirt/KIND`` for ``/session``."""
    if path == "/embed" and root:
        base = Path(os.path.normpath(root))
        return base / "etc" / kind, base / "run" / kind
    if path in ("", "/system") and os.environ.get(SYSTEM_ROOT_ENV):
        base = Path(os.path.normpath(os.environ[SYSTEM_ROOT_ENV]))
        return base / "etc" / kind, base / "run" / kind
    if path == "/session":
        env = dict(os.environ) if env is None else env
        home = Path(env.get("HOME") or os.path.expanduser("~"))
        config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        runtime = env.get("XDG_RUNTIME_DIR")
        run = (Path(runtime) / "pyvirt" / kind if runtime
               else Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "pyvirt" / kind / "run")
        return config_home / "pyvirt" / kind, run
    return Path("/etc/pyvirt") / kind, Path("/run/pyvirt") / kind


# --- atomic files ----------------------------------------------------------------
def atomic_write(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves old or new, never half
    (temp files end in ``.new``: ``sweep_interrupted_writes`` finds what a kill left)."""
    try:
        write_atomic(path, text, mode, suffix=".new")
    except OSError as err:
        raise error(VIR_ERR_OPERATION_FAILED, f"cannot write '{path}': {err.strerror}",
                    domain=VIR_FROM_QEMU) from err


def remove_file(path: Path) -> None:
    """Remove ``path`` if present (and make the removal durable)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as err:
        raise error(VIR_ERR_OPERATION_FAILED, f"cannot remove '{path}': {err.strerror}",
                    domain=VIR_FROM_QEMU) from err
    fsync_dir(path.parent)


# --- one driver per state layout ----------------------------------------------------
def acquire_driver_pidfile(dirs: StateDirs) -> int:
    """Lock ``RUN/driver.pid`` for this process (libvirt's guard against two drivers
    on one root); returns the fd to keep open. Fails like libvirt when it is held."""
    path = dirs.run / "driver.pid"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to open pid file '{path}': {err.strerror}"
                    ) from err
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        os.close(fd)
        raise error(VIR_ERR_SYSTEM_ERROR,
                    f"Failed to acquire pid file '{path}': {os.strerror(err.errno)}") from err
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}".encode())
    return fd


# --- persistent definitions --------------------------------------------------------
def save_config(dirs: StateDirs, name: str, xml: str) -> None:
    atomic_write(dirs.config_path(name), xml)


def delete_config(dirs: StateDirs, name: str) -> None:
    remove_file(dirs.config_path(name))
    set_autostart(dirs, name, False)


def sweep_interrupted_writes(dirs: StateDirs) -> list[Path]:
    """Remove the temp files (``.NAME.XXXX.new``) of atomic writes a crash cut short,
    in the config, autostart, run and snapshot directories; the paths removed.

    Only safe while no write can be under way: at driver start, with the driver's
    pid file held (one driver per layout)."""
    removed = []
    folders = [dirs.config, dirs.autostart, dirs.run, dirs.snapshot]
    if dirs.snapshot.is_dir():
        folders += sorted(p for p in dirs.snapshot.iterdir() if p.is_dir())
    for folder in folders:
        for path in sorted(folder.glob(".*.new")) if folder.is_dir() else []:
            try:
                path.unlink()
            except OSError as err:
                log.error("cannot remove %s left by an interrupted write: %s", path,
                          err.strerror)
                continue
            log.warning("removed %s, left by an interrupted write", path)
            removed.append(path)
    return removed


def load_configs(dirs: StateDirs) -> list[tuple[str, str]]:
    """(file stem, XML text) of every readable persistent definition, by name.

    Called once at driver start: first sweeps what interrupted writes left
    (:func:`sweep_interrupted_writes`)."""
    sweep_interrupted_writes(dirs)
    found = []
    for path in sorted(dirs.config.glob("*.xml")):
        try:
            found.append((path.stem, path.read_text(encoding="utf-8")))
        except OSError as err:
            log.error("cannot read domain config %s: %s", path, err.strerror)
    return found


def is_autostart(dirs: StateDirs, name: str) -> bool:
    return os.path.lexists(dirs.autostart_path(name))


def set_autostart(dirs: StateDirs, name: str, enabled: bool) -> None:
    """libvirt's autostart mark: a symlink autostart/NAME.xml -> ../NAME.xml."""
    link = dirs.autostart_path(name)
    if not enabled:
        remove_file(link)
        return
    if os.path.lexists(link):
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(dirs.config_path(name), link)
    except OSError as err:
        raise error(VIR_ERR_OPERATION_FAILED,
                    f"Failed to create symlink '{link}' to '{dirs.config_path(name)}': "
                    f"{err.strerror}", domain=VIR_FROM_QEMU) from err
    fsync_dir(link.parent)


# --- live status ---------------------------------------------------------------------
@dataclass
class StatusRecord:
    """What survives a driver restart about one running domain."""

    name: str
    state: str              # libvirt's words: running, paused, ...
    reason: str             # booted, user, ...
    pid: int
    pid_start: int          # /proc/PID/stat starttime, 0 when unknown
    monitor: str            # QMP unix socket path
    dom_id: int
    live_xml: str           # the live <domain> document (without id)
    persistent: bool = True
    autodestroy: bool = False


def format_status(rec: StatusRecord) -> str:
    """The ``<domstatus>`` document for ``rec``."""
    root = etree.Element("domstatus", state=rec.state, reason=rec.reason, pid=str(rec.pid))
    etree.SubElement(root, "monitor", path=rec.monitor, type="unix")
    etree.SubElement(root, "process", starttime=str(rec.pid_start))
    etree.SubElement(root, "pyvirt", persistent="yes" if rec.persistent else "no",
                     autodestroy="yes" if rec.autodestroy else "no")
    domain = parse_xml(rec.live_xml, "(domain_definition)")
    domain.set("id", str(rec.dom_id))
    root.append(domain)
    return format_element(root)


def parse_status(text: str, name: str = "") -> StatusRecord:
    """A :class:`StatusRecord` from a ``<domstatus>`` document; libvirtError if broken."""
    where = f"status of '{name}'" if name else "status"
    try:
        root = parse_xml(text, "(domain_status)")
    except libvirtError as err:
        raise error(VIR_ERR_INTERNAL_ERROR, f"corrupt {where}: {err.get_error_message()}",
                    domain=VIR_FROM_QEMU) from err
    if root.tag != "domstatus":
        raise error(VIR_ERR_INTERNAL_ERROR, f"corrupt {where}: root is <{root.tag}>",
                    domain=VIR_FROM_QEMU)
    monitor, process, extra = root.find("monitor"), root.find("process"), root.find("pyvirt")
    domain = root.find("domain")
    try:
        pid = int(root.get("pid", ""))
        dom_id = int(domain.get("id", "")) if domain is not None else -1
        start = int(process.get("starttime", "0")) if process is not None else 0
    except ValueError as err:
        raise error(VIR_ERR_INTERNAL_ERROR, f"corrupt {where}: bad number ({err})",
                    domain=VIR_FROM_QEMU) from err
    # pid 0: written just before a spawn whose pid never got recorded (see reattach)
    if domain is None or monitor is None or not monitor.get("path") or pid < 0:
        raise error(VIR_ERR_INTERNAL_ERROR,
                    f"corrupt {where}: missing pid, monitor or domain", domain=VIR_FROM_QEMU)
    domain.attrib.pop("id", None)
    return StatusRecord(
        name=(domain.findtext("name") or name).strip(), state=root.get("state", "running"),
        reason=root.get("reason", "unknown"), pid=pid, pid_start=start,
        monitor=monitor.get("path"), dom_id=dom_id, live_xml=format_element(domain),
        persistent=extra is None or extra.get("persistent", "yes") == "yes",
        autodestroy=extra is not None and extra.get("autodestroy") == "yes")


def save_status(dirs: StateDirs, rec: StatusRecord) -> None:
    atomic_write(dirs.status_path(rec.name), format_status(rec))


def delete_status(dirs: StateDirs, name: str) -> None:
    for path in (dirs.status_path(name), dirs.monitor_path(name), dirs.pid_path(name)):
        remove_file(path)


def load_statuses(dirs: StateDirs) -> tuple[list[StatusRecord], list[tuple[Path, str]]]:
    """Every status file: the good records, and (path, problem) for each corrupt one.

    A corrupt file never hides the others; the caller decides what to do with it.
    """
    good: list[StatusRecord] = []
    bad: list[tuple[Path, str]] = []
    for path in sorted(dirs.run.glob("*.xml")):
        try:
            good.append(parse_status(path.read_text(encoding="utf-8"), path.stem))
        except (OSError, UnicodeDecodeError) as err:
            bad.append((path, str(err)))
        except libvirtError as err:
            bad.append((path, err.get_error_message()))
    return good, bad


def process_start_time(pid: int) -> int | None:
    """The start time (clock ticks since boot) of ``pid``, None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: split after its ')'
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


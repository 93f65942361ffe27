"""Container definitions as libvirt's LXC driver reads them (no I/O).

:func:`parse_definition` parses and checks domain XML with the generic
``DomainDef`` parser, then applies the LXC driver's own rules: domain type
``lxc`` and OS type ``exe`` (QEMU-style XML is refused with
VIR_ERR_CONFIG_UNSUPPORTED), ``/sbin/init`` as the default init when a root
filesystem is given, ``<idmap>`` sanity (root mapped, uid and gid both, no
overlap with the host's own ids), filesystems of type ``mount`` only, no host
devices, NICs of type ``network``/``bridge`` only. Then libvirt's canonical
form: uuid, sizes in KiB, defaults, the console's ``lxc`` target, the
``/machine`` resource partition.

:func:`capabilities_xml` is the host's capabilities with the ``exe`` guest.
"""

from __future__ import annotations

import os
import platform
import uuid as uuidlib
from typing import Any

from lxml import etree

from pyvirt.conf.domain import DomainDef
from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_XML_ERROR, VIR_FROM_LXC, error

DEFAULT_INIT = "/sbin/init"
#: what libvirt's LXC capabilities name as the emulator (and its define adds)
EMULATOR = "/usr/lib/libvirt/libvirt_lxc"
#: device kinds a container may not have (they need a hypervisor or the host's hardware)
REFUSED_DEVICES = ("disk", "hostdev", "controller", "graphics", "video", "sound", "input",
                   "serial", "parallel", "channel", "smartcard", "redirdev", "watchdog",
                   "tpm", "rng", "memballoon", "panic", "shmem", "iommu", "vsock")


def unsupported(detail: str) -> Exception:
    return error(VIR_ERR_CONFIG_UNSUPPORTED, detail, domain=VIR_FROM_LXC)


def host_arch() -> str:
    machine = platform.machine()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def host_id_ranges() -> tuple[set[int], set[int]]:
    """Ids the driver's own process uses (a map onto them gives the container
    the host's identity)."""
    return ({os.getuid(), os.geteuid()}, {os.getgid(), os.getegid()})


def check_container(ddef: DomainDef, own_uids: set[int] | None = None,
                    own_gids: set[int] | None = None) -> None:
    """Raise VIR_ERR_CONFIG_UNSUPPORTED for what the LXC driver cannot run."""
    dtype = ddef.node.get("type")
    os_type = ddef.os_type
    if dtype != "lxc" or os_type != "exe":
        raise unsupported(f"the LXC driver runs containers: domain type '{dtype}' with OS type "
                          f"'{os_type}' is not supported (use <domain type='lxc'> with "
                          "<os><type>exe</type>)")
    arch = ddef.os.arch if ddef.os is not None else None
    if arch is not None and arch != host_arch():
        raise unsupported(f"No guest options available for arch '{arch}'")
    devices = ddef.node.find("devices")
    if devices is not None:
        for child in devices:
            if not isinstance(child.tag, str):
                continue
            if child.tag in REFUSED_DEVICES:
                what = "host device" if child.tag == "hostdev" else f"<{child.tag}> device"
                raise unsupported(f"a container cannot use a {what}: the LXC driver "
                                  f"does not support <{child.tag}>")
            if child.tag == "filesystem":
                _check_filesystem(child)
            if child.tag == "interface" and child.get("type") not in ("network", "bridge"):
                raise unsupported(f"Unsupported network type {child.get('type')}")
            if child.tag == "console" and child.get("type", "pty") != "pty":
                raise unsupported(f"Only PTY console types are supported, not "
                                  f"'{child.get('type')}'")
    _check_idmap(ddef, host_id_ranges()[0] if own_uids is None else own_uids,
                 host_id_ranges()[1] if own_gids is None else own_gids)


def _check_filesystem(node: etree._Element) -> None:
    kind = node.get("type", "mount")
    if kind != "mount":
        raise unsupported(f"Unexpected filesystem type {kind}")
    source = node.find("source")
    if source is None or not source.get("dir"):
        raise error(VIR_ERR_XML_ERROR, "missing source dir for filesystem of type 'mount'",
                    domain=VIR_FROM_LXC)
    if not source.get("dir").startswith("/"):
        raise unsupported(f"filesystem source '{source.get('dir')}' must be an absolute path")


def _ranges(ddef: DomainDef, kind: str) -> list[tuple[int, int, int]]:
    out = []
    for node in ddef.node.iterfind(f"idmap/{kind}"):
        try:
            out.append((int(node.get("start")), int(node.get("target")),
                        int(node.get("count"))))
        except (TypeError, ValueError):
            raise error(VIR_ERR_XML_ERROR, f"invalid idmap {kind} entry: start, target and "
                        "count must be integers", domain=VIR_FROM_LXC) from None
    return out


def _check_idmap(ddef: DomainDef, own_uids: set[int], own_gids: set[int]) -> None:
    if ddef.node.find("idmap") is None:
        return
    uids, gids = _ranges(ddef, "uid"), _ranges(ddef, "gid")
    if not uids or not gids:
        raise unsupported("an <idmap> must map both uids and gids")
    for kind, ranges, own in (("uid", uids, own_uids), ("gid", gids, own_gids)):
        if not any(start == 0 for start, _, _ in ranges):
            raise error(VIR_ERR_XML_ERROR, "You must map the root user of container",
                        domain=VIR_FROM_LXC)
        for start, target, count in ranges:
            if count <= 0 or start < 0 or target < 0:
                raise unsupported(f"idmap {kind} range start={start} target={target} "
                                  f"count={count} is empty or negative")
            clash = sorted(i for i in own if target <= i < target + count)
            if clash:
                raise unsupported(f"idmap {kind} target range {target}-{target + count - 1} "
                                  f"overlaps the host's own {kind} {clash[0]}: the container "
                                  "would act as that host user")


def _root_filesystem(ddef: DomainDef) -> etree._Element | None:
    for fs in ddef.node.iterfind("devices/filesystem"):
        target = fs.find("target")
        if target is not None and target.get("dir") == "/":
            return fs
    return None


def apply_lxc_defaults(ddef: DomainDef) -> None:
    """What libvirt's LXC post-parse adds: init, console target, resource partition."""
    os_node = ddef.node.find("os")
    if os_node.find("init") is None and _root_filesystem(ddef) is not None:
        init = etree.SubElement(os_node, "init")
        init.text = DEFAULT_INIT
        type_node = os_node.find("type")
        os_node.remove(init)
        type_node.addnext(init)
    devices = ddef.node.find("devices")
    if devices is not None and devices.find("emulator") is None:
        emulator = etree.Element("emulator")
        emulator.text = EMULATOR
        devices.insert(0, emulator)
    for console in ddef.node.iterfind("devices/console"):
        target = console.find("target")
        if target is None:
            target = etree.SubElement(console, "target")
        if target.get("type") is None:
            port = target.attrib.pop("port", "0")
            target.set("type", "lxc")
            target.set("port", port)
    if ddef.node.find("resource") is None:
        resource = etree.Element("resource")
        etree.SubElement(resource, "partition").text = "/machine"
        anchor = ddef.node.find("vcpu")
        if anchor is not None:
            anchor.addnext(resource)
        else:
            ddef.node.append(resource)


def parse_definition(xml: str, own_uids: set[int] | None = None,
                     own_gids: set[int] | None = None) -> DomainDef:
    """Parse, check and normalize a container definition."""
    ddef = DomainDef.from_xml(xml)
    check_container(ddef, own_uids, own_gids)
    ddef.normalize(ifname_prefix=None, default_arch=host_arch())
    apply_lxc_defaults(ddef)
    if ddef.uuid is None:
        ddef.uuid = str(uuidlib.uuid4())
    return ddef


def uuid_bytes(ddef: DomainDef) -> bytes:
    return uuidlib.UUID(ddef.uuid).bytes


def capabilities_xml(host_uuid: str, arch: str | None = None) -> str:
    """virConnectGetCapabilities for lxc: the host, then one ``exe`` guest."""
    arch = arch or host_arch()
    wordsize = "64" if arch in ("x86_64", "aarch64", "ppc64le", "s390x") else "32"
    return (
        "<capabilities>\n\n"
        "  <host>\n"
        f"    <uuid>{host_uuid}</uuid>\n"
        "    <cpu>\n"
        f"      <arch>{arch}</arch>\n"
        "    </cpu>\n"
        "    <power_management/>\n"
        "    <iommu support='no'/>\n"
        "    <migration_features>\n"
        "      <live/>\n"
        "    </migration_features>\n"
        "    <secmodel>\n"
        "      <model>none</model>\n"
        "      <doi>0</doi>\n"
        "    </secmodel>\n"
        "  </host>\n\n"
        "  <guest>\n"
        "    <os_type>exe</os_type>\n"
        f"    <arch name='{arch}'>\n"
        f"      <wordsize>{wordsize}</wordsize>\n"
        f"      <emulator>{EMULATOR}</emulator>\n"
        "      <domain type='lxc'/>\n"
        "    </arch>\n"
        "  </guest>\n\n"
        "</capabilities>\n")


def memory_limit_kib(ddef: Any) -> int | None:
    """The hard limit for the memory cgroup: <memtune><hard_limit>, else <memory>."""
    hard = ddef.node.find("memtune/hard_limit")
    if hard is not None and (hard.text or "").strip().isdigit():
        from pyvirt.conf.domain import scale_to_bytes

        return scale_to_bytes(int(hard.text.strip()), hard.get("unit")) // 1024
    return ddef.memory_kib


def cputune(ddef: Any) -> tuple[int | None, int | None, int | None]:
    """(shares, period_us, quota_us) from <cputune>."""
    def number(path: str) -> int | None:
        text = ddef.node.findtext(path)
        try:
            return int(text.strip()) if text is not None else None
        except ValueError:
            return None
    return number("cputune/shares"), number("cputune/period"), number("cputune/quota")


def set_cputune(ddef: Any, shares: int | None, period: int | None, quota: int | None) -> None:
    """Write <cputune> values (None leaves one as it is), in libvirt's order."""
    node = ddef.node.find("cputune")
    if node is None:
        node = etree.Element("cputune")
        anchor = ddef.node.find("vcpu")
        if anchor is not None:
            anchor.addnext(node)
        else:
            ddef.node.append(node)
    for tag, value in (("shares", shares), ("period", period), ("quota", quota)):
        if value is None:
            continue
        child = node.find(tag)
        if child is None:
            child = etree.SubElement(node, tag)
        child.text = str(int(value))
    for tag in ("shares", "period", "quota"):        # libvirt's element order
        child = node.find(tag)
        if child is not None:
            node.remove(child)
            node.append(child)

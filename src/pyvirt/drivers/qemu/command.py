"""Building QEMU's command line from a domain definition (pure: no I/O).

``build_argv(domain_def, caps, paths)`` returns the argv list, in the shape
libvirt 9.0 gives QEMU 7.2 (``-blockdev``/``-device`` as JSON objects, a QMP
chardev, ``-S`` so the process starts paused). Anything this driver cannot
express raises VIR_ERR_CONFIG_UNSUPPORTED naming the element, before any
process is started.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pyvirt.conf.devices import Controller, Device, Disk, disk_name_to_index
from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.qemu.paths import RunPaths
from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, error

KVM_MISSING = ("Domain requires KVM, but it is not available. Check that virtualization "
               "is enabled in the host BIOS, and host configuration is setup to load the "
               "kvm modules.")

NIC_MODELS = {"virtio": "virtio-net-pci", "e1000": "e1000", "e1000e": "e1000e",
              "rtl8139": "rtl8139", "ne2k_pci": "ne2k_pci", "vmxnet3": "vmxnet3"}
VIDEO_MODELS = {"cirrus": "cirrus-vga", "vga": "VGA", "virtio": "virtio-vga",
                "qxl": "qxl-vga", "bochs": "bochs-display", "ramfb": "ramfb"}
WATCHDOG_MODELS = {"i6300esb": "i6300esb", "ib700": "ib700", "itco": None}
WATCHDOG_ACTIONS = {"reset": "reset", "shutdown": "shutdown", "poweroff": "poweroff",
                    "pause": "pause", "none": "none", "inject-nmi": "inject-nmi"}
AUDIO_ID = "audio1"  # libvirt's implicit <audio id='1' type='none'/>
RAM_ID = "pc.ram"   # the x86 machines' default RAM id, as a memory backend
CACHE_MODES = {  # libvirt's cache= → (direct, no-flush, write-cache)
    "none": (True, False, True), "writeback": (False, False, True),
    "writethrough": (False, False, False), "directsync": (True, False, False),
    "unsafe": (False, True, True),
}
#: device elements this builder handles; the others are refused by name
HANDLED = frozenset({"disk", "controller", "interface", "serial", "console", "channel",
                     "graphics", "video", "input", "rng", "watchdog", "memballoon",
                     "emulator", "audio", "panic"})
#: <panic model> -> QEMU device (isa: the default on x86)
PANIC_MODELS = {"isa": "pvpanic"}


@dataclass(frozen=True)
class QemuCaps:
    """What the command line depends on about the host's QEMU (see probe.py)."""

    binary: str = "/usr/bin/qemu-system-x86_64"
    version: tuple[int, int, int] = (7, 2, 0)
    kvm_usable: bool = False
    machines: tuple[str, ...] = ("pc", "q35")


@dataclass
class _Argv:
    """The argv being built, with the helpers each device section needs."""

    args: list[str] = field(default_factory=list)

    def add(self, *items: str) -> None:
        self.args.extend(items)

    def json(self, option: str, props: dict[str, Any]) -> None:
        self.args += [option, json.dumps(props, separators=(",", ":"))]


def unsupported(detail: str) -> Exception:
    return error(VIR_ERR_CONFIG_UNSUPPORTED, detail, domain=VIR_FROM_QEMU)


def _pci_addr(dev: Device) -> dict[str, Any]:
    addr = dev.address
    if addr is None or addr.type != "pci":
        return {}
    out: dict[str, Any] = {"bus": f"pci.{int(addr.bus or '0', 0)}"}
    slot = int(addr.slot or "0", 0)
    function = int(addr.function or "0", 0)
    out["addr"] = f"{slot:#x}" + (f".{function:#x}" if function else "")
    if addr.multifunction:
        out["multifunction"] = True
    return out


def _is_q35(machine: str) -> bool:
    return "q35" in machine


# --- the sections ----------------------------------------------------------------
def _machine(dom: DomainDef, caps: QemuCaps, argv: _Argv) -> str:
    dtype = dom.type
    if dtype == "kvm":
        if not caps.kvm_usable:
            raise unsupported(KVM_MISSING)
        accel = "kvm"
    elif dtype == "qemu":
        accel = "tcg"
    else:
        raise unsupported(f"Emulator '{caps.binary}' does not support virt type '{dtype}'")
    os_ = dom.os
    if os_ is not None and os_.arch not in (None, "x86_64", "i686"):
        raise unsupported(f"No emulator for architecture '{os_.arch}' in this driver")
    machine = (os_.machine if os_ is not None and os_.machine else "pc")
    if caps.machines and machine not in caps.machines:
        raise unsupported(f"Emulator '{caps.binary}' does not support machine type '{machine}'")
    argv.add("-machine", f"{machine},usb=off,dump-guest-core=off,memory-backend={RAM_ID}",
             "-accel", accel)       # libvirt 9.0 with QEMU >= 7.1: a separate -accel
    return machine


def _cpu(dom: DomainDef, caps: QemuCaps, argv: _Argv) -> None:
    cpu = dom.cpu
    if cpu is None or (cpu.mode in (None, "custom") and not cpu.model):
        argv.add("-cpu", "qemu64")
        return
    mode = cpu.mode or "custom"
    if mode == "host-passthrough":
        if dom.type != "kvm":
            raise unsupported("CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 "
                              "host is not supported by hypervisor")
        spec = "host"
    elif mode == "maximum":
        spec = "max"
    elif mode == "host-model":
        spec = "host" if dom.type == "kvm" else "max"
    else:
        spec = cpu.model
    for feat in cpu.features:
        if feat.policy in ("require", "force"):
            spec += f",{feat.name}=on"
        elif feat.policy in ("disable", "forbid"):
            spec += f",{feat.name}=off"
    argv.add("-cpu", spec)


def _smp(dom: DomainDef, argv: _Argv) -> None:
    maxcpus = dom.vcpus or 1
    current = dom.vcpus_current or maxcpus
    cpu = dom.cpu
    sockets, dies, cores, threads = maxcpus, 1, 1, 1
    if cpu is not None and cpu.sockets:
        sockets, dies = cpu.sockets, cpu.dies or 1
        cores, threads = cpu.cores or 1, cpu.threads or 1
        if sockets * dies * cores * threads != maxcpus:
            raise unsupported(f"CPUs in <topology> ({sockets * dies * cores * threads}) "
                              f"do not match the <vcpu> count ({maxcpus})")
    spec = f"{current}" + (f",maxcpus={maxcpus}" if current != maxcpus else "")
    dies_opt = f",dies={dies}" if dies != 1 else ""
    argv.add("-smp", f"{spec},sockets={sockets}{dies_opt},cores={cores},threads={threads}")


def _boot(dom: DomainDef, argv: _Argv) -> None:
    os_ = dom.os
    if os_ is None:
        return
    if os_.kernel:
        argv.add("-kernel", os_.kernel)
        if os_.initrd:
            argv.add("-initrd", os_.initrd)
        if os_.cmdline:
            argv.add("-append", os_.cmdline)
    opts = (["menu=on"] if os_.bootmenu_enable else []) + ["strict=on"]
    argv.add("-boot", ",".join(opts))


def boot_indexes(dom: DomainDef) -> dict[tuple[str, int], int]:
    """``("disk"|"nic", position) → bootindex``: per-device <boot order>, or
    <os><boot dev> given to the first disk / cdrom / interface, as libvirt does."""
    devices = dom.devices
    if devices is None:
        return {}
    disks, nics = list(devices.disks), list(devices.interfaces)
    out: dict[tuple[str, int], int] = {}
    for kind, devs in (("disk", disks), ("nic", nics)):
        for pos, dev in enumerate(devs):
            if dev.boot_order:
                out[(kind, pos)] = dev.boot_order
    if out or dom.os is None:
        return out

    def first_disk(device: str) -> tuple[str, int] | None:
        return next((("disk", i) for i, d in enumerate(disks)
                     if (d.device or "disk") == device), None)

    firsts = {"hd": first_disk("disk"), "cdrom": first_disk("cdrom"),
              "fd": first_disk("floppy"), "network": ("nic", 0) if nics else None}
    for n, dev_kind in enumerate(dom.os.boot_devs, start=1):
        key = firsts.get(dev_kind)
        if key is not None:
            out[key] = n
    return out


def _monitor(paths: RunPaths, argv: _Argv) -> None:
    where = f"fd={paths.monitor_fd}" if paths.monitor_fd is not None else f"path={paths.monitor}"
    argv.add("-chardev", f"socket,id=charmonitor,{where},server=on,wait=off",
             "-mon", "chardev=charmonitor,id=monitor,mode=control")


# --- disks ---------------------------------------------------------------------------
def _disk_bus_unit(disk: Disk) -> tuple[int, int]:
    addr = disk.address
    if addr is not None and addr.type == "drive":
        return int(addr.bus or 0), int(addr.unit or 0)
    index = disk_name_to_index(disk.target_dev or "") or 0
    if (disk.target_bus or "") == "ide":
        return index // 2, index % 2
    return 0, index


def _disk_nodes(disk: Disk, n: int, argv: _Argv) -> str | None:
    """-blockdev storage + format nodes; returns the format node name (None: empty drive)."""
    where = f"disk '{disk.target_dev}'"
    kind = disk.type or "file"
    if kind not in ("file", "block"):
        raise unsupported(f"<disk type='{kind}'> ({where}) is not supported by this driver")
    source = disk.source_file if kind == "file" else disk.source_dev
    if not source:
        if disk.device in ("cdrom", "floppy"):
            return None
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"{where} has no <source>",
                    domain=VIR_FROM_QEMU)
    fmt = disk.driver_type or "raw"
    if fmt not in ("raw", "qcow2"):
        raise unsupported(f"disk format '{fmt}' ({where}) is not supported by this driver")
    if disk.driver_name not in (None, "qemu"):
        raise unsupported(f"unsupported driver name '{disk.driver_name}' for disk '{source}'")
    readonly = bool(disk.readonly) or disk.device == "cdrom"
    cache: dict[str, bool] = {}
    if disk.driver_cache:
        if disk.driver_cache not in CACHE_MODES:
            raise unsupported(f"disk cache mode '{disk.driver_cache}' ({where})")
        direct, no_flush, _ = CACHE_MODES[disk.driver_cache]
        cache = {"direct": direct, "no-flush": no_flush}
    discard = {"discard": "unmap"} if disk.driver_discard == "unmap" else {}
    driver = "file" if kind == "file" else ("host_cdrom" if disk.device == "cdrom"
                                           else "host_device")
    storage = f"libvirt-{n}-storage"
    fmt_node = f"libvirt-{n}-format"
    argv.json("-blockdev", {"driver": driver, "filename": source, "node-name": storage,
                            **({"cache": cache} if cache else {}),
                            "auto-read-only": True, **discard})
    argv.json("-blockdev", {"node-name": fmt_node, "read-only": readonly, **discard,
                            **({"cache": cache} if cache else {}),
                            "driver": fmt, "file": storage})
    return fmt_node


def _disks(dom: DomainDef, machine: str, argv: _Argv,
           controllers: dict[str, list[Controller]], boots: dict[tuple[str, int], int]) -> None:
    disks = list(dom.devices.disks) if dom.devices is not None else []
    need_scsi = any(d.target_bus == "scsi" for d in disks)
    if need_scsi and not controllers.get("scsi"):
        argv.json("-device", {"driver": "lsi", "id": "scsi0"})
    if any(d.target_bus == "sata" for d in disks) and not _is_q35(machine) \
            and not controllers.get("sata"):
        argv.json("-device", {"driver": "ich9-ahci", "id": "sata0"})
    for pos, disk in enumerate(disks):
        n = len(disks) - pos
        if disk.device not in (None, "disk", "cdrom"):
            raise unsupported(f"<disk device='{disk.device}'> is not supported by this driver")
        node = _disk_nodes(disk, n, argv)
        bus = disk.target_bus or ("virtio" if (disk.target_dev or "").startswith("vd") else "ide")
        cdrom = disk.device == "cdrom"
        if bus in ("ide", "sata") and disk.readonly and not cdrom:
            raise unsupported(f"readonly {bus} disks are not supported")
        dev: dict[str, Any]
        index = disk_name_to_index(disk.target_dev or "") or 0
        if bus == "virtio":
            if cdrom:
                raise unsupported("disk type of 'vda' does not support ejectable media")
            dev = {"driver": "virtio-blk-pci", **_pci_addr(disk)}
            ident = f"virtio-disk{index}"
        elif bus == "scsi":
            ctl, unit = _disk_bus_unit(disk)
            ident = f"scsi{ctl}-0-0-{unit}"
            dev = {"driver": "scsi-cd" if cdrom else "scsi-hd", "bus": f"scsi{ctl}.0",
                   "channel": 0, "scsi-id": 0, "lun": unit, "device_id": f"drive-{ident}"}
        elif bus == "ide":
            if _is_q35(machine):
                raise unsupported("IDE controllers are unsupported for this QEMU binary "
                                  "or machine type")
            ide_bus, unit = _disk_bus_unit(disk)
            dev = {"driver": "ide-cd" if cdrom else "ide-hd", "bus": f"ide.{ide_bus}",
                   "unit": unit}
            ident = f"ide0-{ide_bus}-{unit}"
        elif bus == "sata":
            _, unit = _disk_bus_unit(disk)
            dev = {"driver": "ide-cd" if cdrom else "ide-hd",
                   "bus": f"ide.{unit}" if _is_q35(machine) else f"sata0.{unit}"}
            ident = f"sata0-0-{unit}"
        else:
            raise unsupported(f"disk bus '{bus}' is not supported by this driver")
        if node is not None:
            dev["drive"] = node
        dev["id"] = disk.alias or ident
        if ("disk", pos) in boots:
            dev["bootindex"] = boots[("disk", pos)]
        if disk.driver_cache and not cdrom:
            dev["write-cache"] = "on" if CACHE_MODES[disk.driver_cache][2] else "off"
        if disk.serial:
            dev["serial"] = disk.serial
        argv.json("-device", dev)


# --- controllers ---------------------------------------------------------------------
def _controllers(dom: DomainDef, machine: str, argv: _Argv) -> dict[str, list[Controller]]:
    found: dict[str, list[Controller]] = {}
    ctls = list(dom.devices.controllers) if dom.devices is not None else []
    for ctl in ctls:
        found.setdefault(ctl.type or "", []).append(ctl)
        idx = ctl.index or 0
        if ctl.type == "scsi":
            model = ctl.model or "lsilogic"
            driver = {"virtio-scsi": "virtio-scsi-pci", "lsilogic": "lsi"}.get(model)
            if driver is None:
                raise unsupported(f"Unsupported controller model: {model}")
            argv.json("-device", {"driver": driver, "id": f"scsi{idx}", **_pci_addr(ctl)})
        elif ctl.type == "virtio-serial":
            argv.json("-device", {"driver": "virtio-serial-pci", "id": f"virtio-serial{idx}",
                                  **_pci_addr(ctl)})
        elif ctl.type == "usb":
            model = ctl.model or ("qemu-xhci" if _is_q35(machine) else "piix3-uhci")
            if model == "none":
                continue
            driver = {"piix3-uhci": "piix3-usb-uhci", "qemu-xhci": "qemu-xhci",
                      "nec-xhci": "nec-usb-xhci", "ich9-ehci1": "ich9-usb-ehci1"}.get(model)
            if driver is None:
                raise unsupported(f"Unsupported controller model: {model}")
            props = {"driver": driver, "id": "usb" if idx == 0 else f"usb{idx}",
                     **_pci_addr(ctl)}
            argv.json("-device", props)
        elif ctl.type == "sata":
            if not _is_q35(machine):
                argv.json("-device", {"driver": "ich9-ahci", "id": f"sata{idx}",
                                      **_pci_addr(ctl)})
        elif ctl.type in ("pci", "ide"):
            continue   # the machine's own buses
        else:
            raise unsupported(f"<controller type='{ctl.type}'> is not supported by this driver")
    return found


# --- network -------------------------------------------------------------------------
def _interfaces(dom: DomainDef, paths: RunPaths, argv: _Argv,
                boots: dict[tuple[str, int], int]) -> None:
    nics = list(dom.devices.interfaces) if dom.devices is not None else []
    taps = iter(paths.tap_fds)
    for n, nic in enumerate(nics):
        kind = nic.type
        if kind == "user":
            argv.json("-netdev", {"type": "user", "id": f"hostnet{n}"})
        elif kind in ("network", "bridge", "ethernet"):
            fd = next(taps, None)
            if fd is None:
                raise error(VIR_ERR_INTERNAL_ERROR,
                            f"no tap device was prepared for interface {n} (type '{kind}')",
                            domain=VIR_FROM_QEMU)
            argv.json("-netdev", {"type": "tap", "fd": str(fd), "id": f"hostnet{n}"})
        else:
            raise unsupported(f"<interface type='{kind}'> is not supported by this driver")
        model = nic.model or "rtl8139"
        if model not in NIC_MODELS:
            raise unsupported(f"unsupported interface model '{model}'")
        dev: dict[str, Any] = {"driver": NIC_MODELS[model], "netdev": f"hostnet{n}",
                               "id": nic.alias or f"net{n}"}
        if nic.mac:
            dev["mac"] = nic.mac
        if ("nic", n) in boots:
            dev["bootindex"] = boots[("nic", n)]
        dev.update(_pci_addr(nic))
        argv.json("-device", dev)


# --- character devices ---------------------------------------------------------------
def _chardev(chr_: Any, ident: str, paths: RunPaths, default_path: str | None = None) -> str:
    kind = chr_.type or "pty"
    if kind == "pty":
        spec = f"pty,id={ident}"
    elif kind == "file":
        if not chr_.source_path:
            raise unsupported(f"<{chr_.node.tag} type='file'> needs a source path")
        spec = f"file,id={ident},path={chr_.source_path}"
    elif kind == "unix":
        path = chr_.source_path or default_path
        if not path:
            raise unsupported(f"<{chr_.node.tag} type='unix'> needs a source path")
        server = (chr_.source_mode or "bind") == "bind"
        spec = f"socket,id={ident},path={path}" + (",server=on,wait=off" if server else "")
    elif kind == "null":
        spec = f"null,id={ident}"
    elif kind == "tcp":
        server = (chr_.source_mode or "bind") == "bind"
        spec = (f"socket,id={ident},host={chr_.source_host or '127.0.0.1'},"
                f"port={chr_.source_service}" + (",server=on,wait=off" if server else ""))
    else:
        raise unsupported(f"<{chr_.node.tag} type='{kind}'> is not supported by this driver")
    if kind == "file" and chr_.source_append is not None:
        spec += f",append={'on' if chr_.source_append else 'off'}"
    if chr_.log_file:
        spec += f",logfile={chr_.log_file},logappend={'on' if chr_.log_append else 'off'}"
    return spec


def _serials(dom: DomainDef, paths: RunPaths, argv: _Argv) -> int:
    devs = dom.devices
    serials = list(devs.serials) if devs is not None else []
    consoles = list(devs.consoles) if devs is not None else []
    if not serials and consoles and (consoles[0].target_type or "serial") == "serial":
        serials = [consoles[0]]       # a lone serial console is serial0
    for n, ser in enumerate(serials):
        if ser.target_type not in (None, "isa-serial", "serial"):
            raise unsupported(f"<serial> target type '{ser.target_type}'")
        port = ser.target_port if ser.target_port is not None else n
        argv.add("-chardev", _chardev(ser, f"charserial{port}", paths))
        argv.json("-device", {"driver": "isa-serial", "chardev": f"charserial{port}",
                              "id": f"serial{port}", "index": port})
    return len(serials)


def _channels_and_virtio_consoles(dom: DomainDef, paths: RunPaths, argv: _Argv,
                                  have_virtio_serial: bool) -> None:
    devs = dom.devices
    channels = list(devs.channels) if devs is not None else []
    vconsoles = [c for c in (devs.consoles if devs is not None else [])
                 if c.target_type == "virtio"]
    if (channels or vconsoles) and not have_virtio_serial:
        argv.json("-device", {"driver": "virtio-serial-pci", "id": "virtio-serial0"})
    nr = 1
    for n, con in enumerate(vconsoles):
        argv.add("-chardev", _chardev(con, f"charconsole{n}", paths))
        argv.json("-device", {"driver": "virtconsole", "chardev": f"charconsole{n}",
                              "id": f"console{n}"})
    for n, chan in enumerate(channels):
        if chan.target_type != "virtio":
            raise unsupported(f"<channel> target type '{chan.target_type}' is not supported "
                              "by this driver")
        name = chan.target_name or f"channel{n}"
        default = f"{paths.run_dir}/{name}.sock"
        argv.add("-chardev", _chardev(chan, f"charchannel{n}", paths, default))
        argv.json("-device", {"driver": "virtserialport", "bus": "virtio-serial0.0",
                              "nr": nr, "chardev": f"charchannel{n}", "id": f"channel{n}",
                              "name": name})
        nr += 1


# --- display, input and the small devices ---------------------------------------------
def _audio_id(dom: DomainDef) -> str:
    """``-audiodev`` for the domain's ``<audio>`` (libvirt's implicit one is
    ``<audio id='1' type='none'/>``); only the ``none`` backend is supported."""
    audios = list(dom.devices.audios) if dom.devices is not None else []
    if len(audios) > 1:
        raise unsupported("more than one <audio> backend is not supported by this driver")
    if not audios:
        return AUDIO_ID
    audio = audios[0]
    if (audio.type or "none") != "none":
        raise unsupported(f"<audio type='{audio.type}'> is not supported by this driver")
    return f"audio{audio.id if audio.id is not None else 1}"


def _graphics(dom: DomainDef, argv: _Argv) -> None:
    audio_id = _audio_id(dom)
    argv.json("-audiodev", {"id": audio_id, "driver": "none"})
    for gfx in (dom.devices.graphics if dom.devices is not None else []):
        if gfx.type != "vnc":
            raise unsupported(f"<graphics type='{gfx.type}'> is not supported by this driver")
        if gfx.socket:
            argv.add("-vnc", f"unix:{gfx.socket},audiodev={audio_id}")
            continue
        listen = gfx.listen or "127.0.0.1"
        if gfx.port is None or gfx.port == -1 or gfx.autoport:
            # QEMU takes the first free display; query-vnc tells which
            argv.add("-vnc", f"{listen}:0,to=99,audiodev={audio_id}")
        else:
            if gfx.port < 5900:
                raise unsupported(f"VNC port {gfx.port} is below 5900")
            argv.add("-vnc", f"{listen}:{gfx.port - 5900},audiodev={audio_id}")


def _videos(dom: DomainDef, argv: _Argv) -> None:
    for n, video in enumerate(dom.devices.videos if dom.devices is not None else []):
        model = video.model or "cirrus"
        if model == "none":
            continue
        if model not in VIDEO_MODELS:
            raise unsupported(f"video type '{model}' is not supported by this driver")
        argv.json("-device", {"driver": VIDEO_MODELS[model], "id": f"video{n}",
                              **_pci_addr(video)})


def _inputs(dom: DomainDef, argv: _Argv) -> None:
    usb_port = 0
    for n, inp in enumerate(dom.devices.inputs if dom.devices is not None else []):
        bus = inp.bus or "ps2"
        if bus == "ps2" and inp.type in ("mouse", "keyboard"):
            continue   # the machine's own PS/2 devices
        if bus == "usb" and inp.type in ("tablet", "mouse", "keyboard"):
            usb_port += 1
            argv.json("-device", {"driver": f"usb-{'kbd' if inp.type == 'keyboard' else inp.type}",
                                  "id": f"input{n}", "bus": "usb.0", "port": str(usb_port)})
        elif bus == "virtio" and inp.type in ("tablet", "mouse", "keyboard"):
            argv.json("-device", {"driver": f"virtio-{inp.type}-pci", "id": f"input{n}",
                                  **_pci_addr(inp)})
        else:
            raise unsupported(f"<input type='{inp.type}' bus='{bus}'> is not supported "
                              "by this driver")


def _rngs(dom: DomainDef, argv: _Argv) -> None:
    for n, rng in enumerate(dom.devices.rngs if dom.devices is not None else []):
        if rng.model != "virtio":
            raise unsupported(f"unknown RNG model '{rng.model}'")
        if (rng.backend_model or "random") != "random":
            raise unsupported(f"<rng> backend '{rng.backend_model}' is not supported "
                              "by this driver")
        argv.json("-object", {"qom-type": "rng-random", "id": f"objrng{n}",
                              "filename": (rng.backend or "/dev/urandom").strip()})
        props: dict[str, Any] = {"driver": "virtio-rng-pci", "rng": f"objrng{n}",
                                 "id": f"rng{n}"}
        if rng.rate_bytes:
            props["max-bytes"] = rng.rate_bytes
            props["period"] = rng.rate_period or 1000
        argv.json("-device", {**props, **_pci_addr(rng)})


def _watchdogs(dom: DomainDef, argv: _Argv) -> None:
    for n, dog in enumerate(dom.devices.watchdogs if dom.devices is not None else []):
        driver = WATCHDOG_MODELS.get(dog.model or "")
        if driver is None:
            raise unsupported(f"watchdog model '{dog.model}' is not supported by this driver")
        action = dog.action or "reset"
        if action not in WATCHDOG_ACTIONS:
            raise unsupported(f"watchdog action '{action}' is not supported by this driver")
        argv.json("-device", {"driver": driver, "id": f"watchdog{n}", **_pci_addr(dog)})
        argv.add("-watchdog-action", WATCHDOG_ACTIONS[action])


def _panics(dom: DomainDef, argv: _Argv) -> None:
    """``<panic>``: the pvpanic device whose notice becomes QMP GUEST_PANICKED;
    ``on_crash`` coredump actions are refused (no dump is written)."""
    action = (dom.on_crash or "destroy")
    if action.startswith("coredump-"):
        raise unsupported(f"on_crash action '{action}' is not supported by this driver")
    devices = dom.devices.node if dom.devices is not None else None
    for panic in (devices.findall("panic") if devices is not None else []):
        model = panic.get("model") or "isa"
        if model not in PANIC_MODELS:
            raise unsupported(f"panic model '{model}' is not supported by this driver")
        props: dict[str, Any] = {"driver": PANIC_MODELS[model]}
        addr = panic.find("address")
        if model == "isa" and addr is not None and addr.get("iobase"):
            props["ioport"] = int(addr.get("iobase"), 0)
        argv.json("-device", props)


def _memballoon(dom: DomainDef, argv: _Argv) -> None:
    for balloon in (dom.devices.memballoons if dom.devices is not None else []):
        if balloon.model == "none":
            continue
        if balloon.model != "virtio":
            raise unsupported(f"memballoon model '{balloon.model}' is not supported")
        props: dict[str, Any] = {"driver": "virtio-balloon-pci", "id": "balloon0",
                                 **_pci_addr(balloon)}
        if balloon.autodeflate is not None:
            props["deflate-on-oom"] = bool(balloon.autodeflate)
        argv.json("-device", props)


def _refuse_unknown_devices(dom: DomainDef) -> None:
    devices = dom.devices
    if devices is None:
        return
    for child in devices.node:
        tag = child.tag if isinstance(child.tag, str) else None
        if tag is not None and tag not in HANDLED:
            raise unsupported(f"<{tag}> devices are not supported by this driver")


#: domain-level elements that change what QEMU must be given; refused, not ignored
REFUSED_PATHS = (
    (("os", "loader"), "<os><loader> (firmware other than the default BIOS)"),
    (("os", "nvram"), "<os><nvram>"),
    (("os", "dtb"), "<os><dtb>"),
    (("memoryBacking",), "<memoryBacking>"),
    (("numatune",), "<numatune>"),
    (("cpu", "numa"), "<cpu><numa>"),
    (("sysinfo",), "<sysinfo>"),
    (("launchSecurity",), "<launchSecurity>"),
)


def _refuse_unknown_domain_config(dom: DomainDef) -> None:
    os_ = dom.os
    if os_ is not None and (os_.type or "hvm").strip() != "hvm":
        raise unsupported(f"OS type '{os_.type}' is not supported by this driver")
    if os_ is not None and os_.firmware:
        raise unsupported(f"<os firmware='{os_.firmware}'> is not supported by this driver")
    for path, what in REFUSED_PATHS:
        if dom.find_path(list(path)) is not None:
            raise unsupported(f"{what} is not supported by this driver")

# --- the entry point ---------------------------------------------------------------------
def build_argv(domain_def: DomainDef, caps: QemuCaps, paths: RunPaths) -> list[str]:
    """QEMU's argv for ``domain_def``; CONFIG_UNSUPPORTED before anything starts."""
    dom = domain_def
    _refuse_unknown_domain_config(dom)
    _refuse_unknown_devices(dom)
    argv = _Argv()
    emulator = dom.devices.emulator if dom.devices is not None else None
    argv.add(emulator or caps.binary)
    argv.add("-name", f"guest={dom.name},debug-threads=on", "-S")
    machine = _machine(dom, caps, argv)
    _cpu(dom, caps, argv)
    memory_kib = dom.memory_kib
    if not memory_kib:
        raise unsupported("<memory> is required")
    mib = -(-memory_kib // 1024)           # QEMU's RAM is whole MiB
    argv.add("-m", str(mib))
    argv.json("-object", {"qom-type": "memory-backend-ram", "id": RAM_ID, "size": mib << 20})
    argv.add("-overcommit", "mem-lock=off")
    _smp(dom, argv)
    if dom.uuid:
        argv.add("-uuid", dom.uuid)
    if not (dom.devices is not None and list(dom.devices.graphics)):
        argv.add("-display", "none")
    argv.add("-no-user-config", "-nodefaults")
    _monitor(paths, argv)
    argv.add("-rtc", "base=localtime" if dom.clock_offset == "localtime" else "base=utc")
    argv.add("-no-shutdown")     # a guest power-off leaves QEMU to us (on_poweroff)
    if dom.on_reboot == "destroy":
        argv.add("-no-reboot")
    _boot(dom, argv)
    boots = boot_indexes(dom)
    controllers = _controllers(dom, machine, argv)
    _disks(dom, machine, argv, controllers, boots)
    _interfaces(dom, paths, argv, boots)
    _serials(dom, paths, argv)
    _channels_and_virtio_consoles(dom, paths, argv, bool(controllers.get("virtio-serial")))
    _inputs(dom, argv)
    _graphics(dom, argv)
    _videos(dom, argv)
    _watchdogs(dom, argv)
    _memballoon(dom, argv)
    _rngs(dom, argv)
    _panics(dom, argv)
    if paths.incoming_fd is not None:       # a restore: the migration stream comes in here
        argv.add("-incoming", f"fd:{paths.incoming_fd}")
    argv.add("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
             "resourcecontrol=deny")
    argv.add("-msg", "timestamp=on")
    return argv.args

"""Domain devices: one model class per element under ``<devices>``.

Each class is a view onto its element (see :mod:`pyvirt.conf.xmlbuilder`): the
document is the truth, and whatever a class does not declare survives a round
trip. Every device has libvirt's device info (``<boot order>``, ``<alias>``,
``<address>``), a ``check()`` that raises libvirt's error for values libvirt
refuses at parse time, a ``fill_defaults()`` that adds what libvirt's
post-parse step adds (as the test driver prints it), and ``matches()`` — how
libvirt finds the device a detach names.

``parse_device(xml)`` picks the class by the root tag (for attach/detach-device).
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any, ClassVar

from lxml import etree

from pyvirt.conf.netdev_bandwidth import Bandwidth, normalize_bandwidth, parse_bandwidth
from pyvirt.conf.xmlbuilder import (
    XMLBuilder, XMLChildProperty, XMLProperty, parse_xml, reorder_attributes,
)
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG,
    VIR_ERR_NO_SOURCE, VIR_ERR_NO_TARGET, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, VIR_FROM_XML,
    error,
)

# --- libvirt's enumerations (virDomain*TypeToString tables, libvirt 9.0) -----------
ADDRESS_TYPES = ("none", "pci", "drive", "virtio-serial", "ccid", "usb", "spapr-vio",
                 "virtio-s390", "ccw", "virtio-mmio", "isa", "dimm", "unassigned")
DISK_TYPES = ("file", "block", "dir", "network", "volume", "nvme", "vhostuser")
DISK_DEVICES = ("disk", "cdrom", "floppy", "lun")
DISK_BUSES = ("ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd")
DISK_CACHES = ("default", "none", "writethrough", "writeback", "directsync", "unsafe")
DISK_DISCARDS = ("default", "unmap", "ignore")
NET_TYPES = ("user", "ethernet", "vhostuser", "server", "client", "mcast", "network",
             "bridge", "internal", "direct", "hostdev", "udp", "vdpa", "null", "vds")
LINK_STATES = ("default", "up", "down")
CONTROLLER_TYPES = ("ide", "fdc", "scsi", "sata", "virtio-serial", "ccid", "usb", "pci",
                    "xenbus", "isa")
GRAPHICS_TYPES = ("sdl", "vnc", "rdp", "desktop", "spice", "egl-headless", "dbus")
VIDEO_MODELS = ("default", "vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels",
                "virtio", "gop", "none", "bochs", "ramfb")
INPUT_TYPES = ("mouse", "tablet", "keyboard", "passthrough", "evdev")
INPUT_BUSES = ("ps2", "usb", "xen", "parallels", "virtio", "none")
SOUND_MODELS = ("sb16", "es1370", "pcspk", "ac97", "ich6", "usb", "ich9", "ich7")
RNG_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional")
RNG_BACKENDS = ("random", "egd", "builtin")
WATCHDOG_MODELS = ("i6300esb", "ib700", "diag288", "itco")
WATCHDOG_ACTIONS = ("reset", "shutdown", "poweroff", "pause", "dump", "none", "inject-nmi")
MEMBALLOON_MODELS = ("virtio", "xen", "none", "virtio-transitional", "virtio-non-transitional")
FS_TYPES = ("mount", "block", "file", "template", "ram", "bind", "volume")
CHR_TYPES = ("null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix",
             "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus")
CHR_TARGET_TYPES = {
    "serial": ("isa-serial", "usb-serial", "pci-serial", "spapr-vio-serial",
               "system-serial", "sclp-serial", "isa-debug"),
    "console": ("none", "serial", "xen", "uml", "virtio", "lxc", "openvz", "sclp", "sclplm"),
    "channel": ("guestfwd", "virtio", "xen"),
    "parallel": (),
}
HOSTDEV_SUBSYS_TYPES = ("usb", "pci", "scsi", "scsi_host", "mdev")


def invalid_enum(attr: str, element: str, value: str) -> Exception:
    """libvirt's message for a value outside an enumeration (virXMLPropEnum)."""
    return error(VIR_ERR_XML_ERROR,
                 f"Invalid value for attribute '{attr}' in element '{element}': '{value}'.",
                 domain=VIR_FROM_XML)


def invalid_uint(attr: str, element: str, value: str, *, nonzero: bool = False) -> Exception:
    if nonzero and value.strip() == "0":
        return error(VIR_ERR_XML_ERROR,
                     f"Invalid value for attribute '{attr}' in element '{element}': "
                     "Zero is not permitted", domain=VIR_FROM_XML)
    return error(VIR_ERR_XML_ERROR,
                 f"Invalid value for attribute '{attr}' in element '{element}': '{value}'. "
                 "Expected non-negative integer value", domain=VIR_FROM_XML)


def unsupported(detail: str) -> Exception:
    return error(VIR_ERR_CONFIG_UNSUPPORTED, detail, domain=VIR_FROM_DOMAIN)


def _check_enum(node: etree._Element | None, attr: str, allowed: tuple[str, ...]) -> None:
    if node is None:
        return
    value = node.get(attr)
    if value is not None and value not in allowed:
        raise invalid_enum(attr, node.tag, value)


def _check_uint(node: etree._Element | None, attr: str, *, nonzero: bool = False,
                hex_ok: bool = False) -> None:
    if node is None:
        return
    value = node.get(attr)
    if value is None:
        return
    text = value.strip()
    ok = bool(re.fullmatch(r"0[xX][0-9a-fA-F]+", text)) if hex_ok and text[:2].lower() == "0x" \
        else text.isdigit()
    if not ok or (nonzero and int(text, 0) == 0):
        raise invalid_uint(attr, node.tag, value, nonzero=nonzero and ok)


# --- MAC addresses ----------------------------------------------------------------
_MAC_RE = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")


def parse_mac(text: str) -> str:
    """Canonical lower-case form of a MAC, or libvirt's XML error."""
    if not _MAC_RE.match(text.strip()):
        raise error(VIR_ERR_XML_ERROR, f"unable to parse mac address '{text}'",
                    domain=VIR_FROM_DOMAIN)
    octets = [int(part, 16) for part in text.strip().split(":")]
    if octets[0] & 1:
        raise error(VIR_ERR_XML_ERROR,
                    f"expected unicast mac address, found multicast '{text}'",
                    domain=VIR_FROM_DOMAIN)
    return ":".join(f"{o:02x}" for o in octets)


def generate_mac(rng: random.Random | None = None, prefix: str = "52:54:00") -> str:
    """A MAC in QEMU's locally administered range, as libvirt generates them."""
    if rng is None:
        suffix = os.urandom(3)  # one read of the system's randomness, not three
    else:
        suffix = bytes(rng.randrange(256) for _ in range(3))
    return prefix + ":" + suffix.hex(":")


class MacProperty(XMLProperty):
    """A MAC address attribute: read and written lower-case."""

    def parse_value(self, obj: XMLBuilder, raw: str) -> Any:
        return raw.strip().lower()

    def format_value(self, value: Any) -> str:
        return parse_mac(str(value))


# --- shared pieces ----------------------------------------------------------------
class Address(XMLBuilder):
    """``<address>``: where the device sits on its bus (values kept as written)."""

    _root_name = "address"
    _attr_order = {"": ("type", "domain", "controller", "bus", "target", "slot", "unit", "port",
                        "function", "multifunction", "reg", "cssid", "ssid", "devno",
                        "iobase", "irq", "base")}
    type = XMLProperty("./@type")
    domain = XMLProperty("./@domain")
    bus = XMLProperty("./@bus")
    slot = XMLProperty("./@slot")
    function = XMLProperty("./@function")
    multifunction = XMLProperty("./@multifunction", "onoff")
    controller = XMLProperty("./@controller")
    target = XMLProperty("./@target")
    unit = XMLProperty("./@unit")
    port = XMLProperty("./@port")

    _PCI_FIELDS = ("domain", "bus", "slot", "function")

    def check(self) -> None:
        kind = self.type
        if kind is not None and kind not in ADDRESS_TYPES:
            raise unsupported(f"unknown address type '{kind}'")
        if kind == "pci":
            for attr in self._PCI_FIELDS:
                _check_uint(self.node, attr, hex_ok=True)
        elif kind == "drive":
            for attr in ("controller", "bus", "target", "unit"):
                _check_uint(self.node, attr)

    def key(self) -> tuple[Any, ...]:
        """Comparable identity: numeric values compared as numbers."""
        values: list[Any] = [self.type]
        for name, raw in sorted(self.node.attrib.items()):
            if name == "type":
                continue
            try:
                values.append((name, int(raw, 0)))
            except ValueError:
                values.append((name, raw))
        return tuple(values)


class Device(XMLBuilder):
    """Base of every device: libvirt's device info (boot order, alias, address)."""

    #: name of the list on :class:`Devices` ("disks", "interfaces", ...)
    _list_name: ClassVar[str] = ""
    _info_order: ClassVar[tuple[str, ...]] = ("boot", "alias", "address")
    #: whether this device kind takes <boot order> (libvirt's ALLOW_BOOT)
    _allows_boot: ClassVar[bool] = False
    _report_with_root = True

    boot_order = XMLProperty("./boot/@order", int)
    alias = XMLProperty("./alias/@name")
    address = XMLChildProperty(Address, is_single=True)

    @property
    def tag(self) -> str:
        return self.node.tag

    def set_address(self, address_type: str | None, **fields: Any) -> Address | None:
        """Replace the address (``None`` removes it)."""
        old = self.address
        if old is not None:
            self.remove_child(old)
        if address_type is None:
            return None
        addr = Address()
        addr.type = address_type
        for name, value in fields.items():
            addr.node.set(name, str(value))
        self.add_child(addr)
        return addr

    # --- checks, defaults, matching (overridden per kind) ------------------
    def check(self) -> None:
        boot = self.find_path(["boot"])
        _check_uint(boot, "order", nonzero=True)
        address = self.address
        if address is not None:
            address.check()

    def fill_defaults(self, domain: Any) -> None:  # noqa: ARG002 - hook
        """Add what libvirt's post-parse adds for this device."""

    def describe(self) -> str:
        return self.tag

    def matches(self, other: "Device") -> bool:
        """Whether ``other`` (a detach request) names this device: same kind, same
        address when the request gives one, and otherwise equal XML."""
        if type(other) is not type(self):
            return False
        if other.address is not None:
            if self.address is None or self.address.key() != other.address.key():
                return False
        return _strip_info(self) == _strip_info(other)


def _strip_info(dev: Device) -> str:
    node = copy.deepcopy(dev.node)
    for child in list(node):
        if child.tag in ("address", "alias"):
            node.remove(child)
    return etree.tostring(node, method="c14n")


# --- disk -----------------------------------------------------------------------
class BackingStore(XMLBuilder):
    _root_name = "backingStore"
    _attr_order = {"": ("type", "index"), "source": ("file", "dev", "protocol", "name")}
    _child_order = ("format", "source", "backingStore")
    type = XMLProperty("./@type")
    index = XMLProperty("./@index", int)
    format = XMLProperty("./format/@type")
    source_file = XMLProperty("./source/@file")
    source_dev = XMLProperty("./source/@dev")
    backing_store = XMLChildProperty(lambda: BackingStore, is_single=True)


class DiskSourceHost(XMLBuilder):
    _root_name = "host"
    _attr_order = {"": ("name", "port", "transport", "socket")}
    name = XMLProperty("./@name")
    port = XMLProperty("./@port", int)
    transport = XMLProperty("./@transport")
    socket = XMLProperty("./@socket")


_DISK_PREFIX_BUS = (("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"),
                    ("fd", "fdc"), ("ubd", "uml"))


_DISK_SUFFIX = re.compile(r"[a-z]+")


def disk_name_to_index(name: str) -> int | None:
    """'vda' -> 0, 'sdb' -> 1, 'hdaa' -> 26 (libvirt's virDiskNameToIndex)."""
    for prefix in ("fd", "hd", "vd", "sd", "xvd", "ubd"):
        if name.startswith(prefix):
            letters = name[len(prefix):]
            break
    else:
        return None
    if not _DISK_SUFFIX.fullmatch(letters):
        return None
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - ord("a") + 1)
    return index - 1


class Disk(Device):
    _root_name = "disk"
    _attr_order = {
        "": ("type", "device", "model", "rawio", "sgio", "snapshot"),
        "driver": ("name", "type", "cache", "error_policy", "rerror_policy", "io", "ioeventfd",
                   "event_idx", "copy_on_read", "discard", "iothread", "detect_zeroes",
                   "queues", "queue_size"),
        "source": ("protocol", "name", "file", "dev", "dir", "pool", "volume", "mode",
                   "startupPolicy", "index"),
        "target": ("dev", "bus", "tray", "removable", "rotation_rate"),
        "boot": ("order", "loadparm"),
    }
    _list_name = "disks"
    _allows_boot = True
    _child_order = ("driver", "auth", "source", "backingStore", "geometry", "blockio",
                    "mirror", "target", "iotune", "readonly", "shareable", "transient",
                    "serial", "wwn", "vendor", "product", "encryption") + Device._info_order
    _nested_order = {"source": ("host", "auth", "encryption", "reservations")}

    type = XMLProperty("./@type")
    device = XMLProperty("./@device")
    snapshot = XMLProperty("./@snapshot")
    driver_name = XMLProperty("./driver/@name")
    driver_type = XMLProperty("./driver/@type")
    driver_cache = XMLProperty("./driver/@cache")
    driver_discard = XMLProperty("./driver/@discard")
    driver_io = XMLProperty("./driver/@io")
    source_file = XMLProperty("./source/@file")
    source_dev = XMLProperty("./source/@dev")
    source_dir = XMLProperty("./source/@dir")
    source_pool = XMLProperty("./source/@pool")
    source_volume = XMLProperty("./source/@volume")
    source_protocol = XMLProperty("./source/@protocol")
    source_name = XMLProperty("./source/@name")
    source_startup_policy = XMLProperty("./source/@startupPolicy")
    source_hosts = XMLChildProperty(DiskSourceHost, "./source")
    backing_store = XMLChildProperty(BackingStore, is_single=True)
    target_dev = XMLProperty("./target/@dev")
    target_bus = XMLProperty("./target/@bus")
    target_tray = XMLProperty("./target/@tray")
    readonly = XMLProperty("./readonly", is_present=True)
    shareable = XMLProperty("./shareable", is_present=True)
    transient = XMLProperty("./transient", is_present=True)
    serial = XMLProperty("./serial")
    wwn = XMLProperty("./wwn")

    @property
    def source_path(self) -> str | None:
        """The file, device or directory behind the disk (None for pool/network)."""
        return self.source_file or self.source_dev or self.source_dir

    def add_source_host(self, name: str, port: int | None = None) -> DiskSourceHost:
        host = DiskSourceHost()
        host.name = name
        if port is not None:
            host.port = port
        return self.add_child(host, "./source")  # type: ignore[return-value]

    def describe(self) -> str:
        return self.target_dev or "disk"

    def check(self) -> None:
        _check_enum(self.node, "type", DISK_TYPES)
        _check_enum(self.node, "device", DISK_DEVICES)
        target = self.find_path(["target"])
        _check_enum(target, "bus", DISK_BUSES)
        driver = self.find_path(["driver"])
        _check_enum(driver, "cache", DISK_CACHES)
        _check_enum(driver, "discard", DISK_DISCARDS)
        target_dev = target.get("dev") if target is not None else None
        if not target_dev:
            where = self.source_path or self.source_name or self.source_volume
            raise error(VIR_ERR_NO_TARGET, where or None, domain=VIR_FROM_DOMAIN)
        if self.device not in ("cdrom", "floppy") and self.find_path(["source"]) is None:
            raise error(VIR_ERR_NO_SOURCE, target_dev, domain=VIR_FROM_DOMAIN)
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        # a backing chain's index is runtime state: libvirt ignores it when defining
        for store in self.node.iter("backingStore"):
            store.attrib.pop("index", None)
        if self.type is None:
            self.type = "file"
        device = self.device
        if device is None:
            device = "disk"
            self.node.set("device", device)
            # libvirt prints type before device
            _reorder_attrs(self.node, ("type", "device"))
        target = self.find_path(["target"])
        target_dev = target.get("dev") if target is not None else None
        if target_dev and target.get("bus") is None:
            for prefix, bus in _DISK_PREFIX_BUS:
                if target_dev.startswith(prefix):
                    self.target_bus = bus
                    break
        if device == "cdrom" and not self.readonly:
            self.readonly = True
        if self.address is None:
            self._assign_drive_address()

    def _assign_drive_address(self) -> None:
        index = disk_name_to_index(self.target_dev or "")
        if index is None:
            return
        layout = {"scsi": (7, 1), "ide": (4, 2), "fdc": (2, 1), "sata": (6, 1)}
        bus = self.target_bus
        if bus not in layout:
            return
        per_controller, buses = layout[bus]
        unit_count = per_controller // buses
        controller = index // per_controller
        within = index % per_controller
        self.set_address("drive", controller=controller, bus=within // unit_count,
                         target=0, unit=within % unit_count)

    def matches(self, other: Device) -> bool:
        return isinstance(other, Disk) and other.target_dev == self.target_dev


# --- interface --------------------------------------------------------------------
_MODEL_NAME = re.compile(r"[a-zA-Z0-9_\-,]+")


class Interface(Device):
    _root_name = "interface"
    _attr_order = {
        "": ("type", "trustGuestRxFilters"),
        "source": ("network", "portgroup", "portid", "bridge", "dev", "mode", "type", "path",
                   "address", "port"),
        "driver": ("name", "txmode", "ioeventfd", "event_idx", "queues", "rx_queue_size",
                   "tx_queue_size"),
        "ip": ("address", "family", "prefix", "peer"),
        "route": ("family", "address", "netmask", "prefix", "gateway", "metric"),
    }
    _list_name = "interfaces"
    _allows_boot = True
    _child_order = ("mac", "source", "vlan", "virtualport", "bandwidth", "port", "ip", "route",
                    "script", "downscript", "backenddomain", "target", "guest", "model",
                    "driver", "backend", "filterref", "tune", "teaming", "link", "mtu",
                    "coalesce", "rom") + Device._info_order
    # libvirt prints <link>/<mtu> before <boot>; keep that in _child_order above

    type = XMLProperty("./@type")
    mac = MacProperty("./mac/@address")
    source_network = XMLProperty("./source/@network")
    source_portgroup = XMLProperty("./source/@portgroup")
    source_bridge = XMLProperty("./source/@bridge")
    source_dev = XMLProperty("./source/@dev")
    source_mode = XMLProperty("./source/@mode")
    target_dev = XMLProperty("./target/@dev")
    model = XMLProperty("./model/@type")
    driver_name = XMLProperty("./driver/@name")
    driver_queues = XMLProperty("./driver/@queues", int)
    link_state = XMLProperty("./link/@state")
    mtu = XMLProperty("./mtu/@size", int)
    filterref = XMLProperty("./filterref/@filter")
    # <bandwidth> (KiB/s, KiB): checked and printed by conf.netdev_bandwidth
    bandwidth_inbound_average = XMLProperty("./bandwidth/inbound/@average", int)
    bandwidth_inbound_peak = XMLProperty("./bandwidth/inbound/@peak", int)
    bandwidth_inbound_floor = XMLProperty("./bandwidth/inbound/@floor", int)
    bandwidth_inbound_burst = XMLProperty("./bandwidth/inbound/@burst", int)
    bandwidth_outbound_average = XMLProperty("./bandwidth/outbound/@average", int)
    bandwidth_outbound_peak = XMLProperty("./bandwidth/outbound/@peak", int)
    bandwidth_outbound_floor = XMLProperty("./bandwidth/outbound/@floor", int)
    bandwidth_outbound_burst = XMLProperty("./bandwidth/outbound/@burst", int)
    port_isolated = XMLProperty("./port/@isolated")       # applied by qemu.peers
    vlan_trunk = XMLProperty("./vlan/@trunk")
    vlan_tag = XMLProperty("./vlan/tag/@id", int)
    vlan_tag_native_mode = XMLProperty("./vlan/tag/@nativeMode")
    ip_address = XMLProperty("./ip/@address")
    ip_family = XMLProperty("./ip/@family")
    ip_prefix = XMLProperty("./ip/@prefix", int)
    ip_peer = XMLProperty("./ip/@peer")
    route_family = XMLProperty("./route/@family")
    route_address = XMLProperty("./route/@address")
    route_prefix = XMLProperty("./route/@prefix", int)
    route_gateway = XMLProperty("./route/@gateway")
    script_path = XMLProperty("./script/@path")
    downscript_path = XMLProperty("./downscript/@path")

    #: target names libvirt treats as its own generated ones and drops on parse
    GENERATED_IFNAME_PREFIXES = ("vnet", "macvtap", "macvlan")

    def describe(self) -> str:
        return self.mac or "interface"

    def check(self) -> None:
        _check_enum(self.node, "type", NET_TYPES)
        kind = self.type
        raw_mac = self.find_path(["mac"])
        if raw_mac is not None and raw_mac.get("address") is not None:
            parse_mac(raw_mac.get("address"))
        if kind in ("network", "bridge", "direct") and self.find_path(["source"]) is None:
            raise error(VIR_ERR_XML_ERROR,
                        f"interface type='{kind}' requires a 'source' element",
                        domain=VIR_FROM_DOMAIN)
        parse_bandwidth(self.find_path(["bandwidth"]), allow_floor=kind == "network")
        link_state = self.link_state
        if link_state is not None and link_state not in LINK_STATES:
            raise unsupported(f"unknown interface link state '{link_state}'")
        model = self.model
        if model is not None and not _MODEL_NAME.fullmatch(model):
            raise error(VIR_ERR_INVALID_ARG, "Model name contains invalid characters",
                        domain=VIR_FROM_DOMAIN)
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        mac = self.find_path(["mac"])
        if mac is None or mac.get("address") is None:
            self.mac = generate_mac(getattr(domain, "_rng", None))
        else:
            mac.set("address", parse_mac(mac.get("address")))
        target_dev = self.target_dev
        if target_dev and target_dev.startswith(self.GENERATED_IFNAME_PREFIXES):
            self.target_dev = None
        normalize_bandwidth(self.node, allow_floor=self.type == "network")
        for ip in self.node.iterchildren("ip"):   # libvirt writes the family it infers
            if ip.get("address") and ip.get("family") is None:
                ip.set("family", "ipv6" if ":" in ip.get("address") else "ipv4")

    @property
    def bandwidth(self) -> Bandwidth | None:
        """The ``<bandwidth>`` rates (None when unset)."""
        return parse_bandwidth(self.node.find("bandwidth"), allow_floor=True)

    def matches(self, other: Device) -> bool:
        if not isinstance(other, Interface):
            return False
        if other.mac and (self.mac or "").lower() != other.mac.lower():
            return False
        if other.address is not None:
            if self.address is None or self.address.key() != other.address.key():
                return False
        return True


# --- controller -------------------------------------------------------------------
class Controller(Device):
    _root_name = "controller"
    _attr_order = {"": ("type", "index", "model", "ports", "vectors")}
    _list_name = "controllers"
    _child_order = ("model", "driver", "target") + Device._info_order

    type = XMLProperty("./@type")
    index = XMLProperty("./@index", int)
    model = XMLProperty("./@model")
    ports = XMLProperty("./@ports", int)
    vectors = XMLProperty("./@vectors", int)
    driver_queues = XMLProperty("./driver/@queues", int)

    def describe(self) -> str:
        return f"{self.type} controller {self.index}"

    def check(self) -> None:
        _check_enum(self.node, "type", CONTROLLER_TYPES)
        index = self.node.get("index")
        if index is not None and not re.fullmatch(r"-?\d+", index.strip()):
            raise error(VIR_ERR_XML_ERROR,
                        f"Invalid value for attribute 'index' in element 'controller': "
                        f"'{index}'. Expected integer value", domain=VIR_FROM_XML)
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        if self.node.get("index") is None:
            same = [c.index for c in domain.devices.controllers
                    if c.type == self.type and c.node is not self.node and c.index is not None]
            self.node.set("index", str(max(same) + 1 if same else 0))
            _reorder_attrs(self.node, ("type", "index"))

    def matches(self, other: Device) -> bool:
        return (isinstance(other, Controller) and other.type == self.type
                and (other.index if other.index is not None else 0) == self.index)


# --- character devices ------------------------------------------------------------
class CharDevice(Device):
    """serial, console, channel, parallel: a host side (source) and a guest side (target)."""
    _attr_order = {"": ("type", "tty"), "source": ("mode", "host", "service", "path", "append"),
                   "target": ("type", "address", "port", "name", "state")}

    _child_order = ("source", "protocol", "log", "target") + Device._info_order

    type = XMLProperty("./@type")
    source_path = XMLProperty("./source/@path")
    source_mode = XMLProperty("./source/@mode")
    source_host = XMLProperty("./source/@host")
    source_service = XMLProperty("./source/@service")
    source_append = XMLProperty("./source/@append", "onoff")
    protocol = XMLProperty("./protocol/@type")
    log_file = XMLProperty("./log/@file")
    log_append = XMLProperty("./log/@append", "onoff")
    target_type = XMLProperty("./target/@type")
    target_port = XMLProperty("./target/@port", int)
    target_name = XMLProperty("./target/@name")
    target_state = XMLProperty("./target/@state")
    target_address = XMLProperty("./target/@address")

    def check(self) -> None:
        kind = self.type
        if kind is not None and kind not in CHR_TYPES:
            raise unsupported(f"unknown type presented to host for character device: {kind}")
        allowed = CHR_TARGET_TYPES.get(self.node.tag, ())
        target_type = self.target_type
        if target_type is not None and allowed and target_type not in allowed:
            raise unsupported(f"unknown target type '{target_type}' specified for "
                              "character device")
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        if self.node.tag == "channel" and self.target_type == "virtio":
            self.target_state = None  # the agent's connection state is runtime only

    def matches(self, other: Device) -> bool:
        if type(other) is not type(self):
            return False
        if other.address is not None:
            return self.address is not None and self.address.key() == other.address.key()
        keys = ("type", "source_path", "source_mode", "source_host", "source_service",
                "target_type", "target_name")
        if any(getattr(self, k) != getattr(other, k) for k in keys):
            return False
        return other.target_port is None or other.target_port == self.target_port


class Serial(CharDevice):
    _root_name = "serial"
    _list_name = "serials"


class Parallel(CharDevice):
    _root_name = "parallel"
    _list_name = "parallels"


class Console(CharDevice):
    _root_name = "console"
    _list_name = "consoles"


class Channel(CharDevice):
    _root_name = "channel"
    _list_name = "channels"


# --- graphics ---------------------------------------------------------------------
class GraphicsListen(XMLBuilder):
    _root_name = "listen"
    _attr_order = {"": ("type", "address", "network", "socket")}
    type = XMLProperty("./@type")
    address = XMLProperty("./@address")
    network = XMLProperty("./@network")
    socket = XMLProperty("./@socket")


class Graphics(Device):
    _root_name = "graphics"
    _attr_order = {"": ("type", "socket", "port", "tlsPort", "autoport", "websocket", "listen",
                        "sharePolicy", "passwd", "passwdValidTo", "connected", "keymap",
                        "defaultMode")}
    _list_name = "graphics"
    _child_order = ("listen", "channel", "image", "jpeg", "zlib", "playback", "streaming",
                    "clipboard", "mouse", "filetransfer", "gl", "audio") + Device._info_order

    type = XMLProperty("./@type")
    port = XMLProperty("./@port", int)
    tls_port = XMLProperty("./@tlsPort", int)
    autoport = XMLProperty("./@autoport", bool)
    websocket = XMLProperty("./@websocket", int)
    listen = XMLProperty("./@listen")
    passwd = XMLProperty("./@passwd")
    keymap = XMLProperty("./@keymap")
    socket = XMLProperty("./@socket")
    listens = XMLChildProperty(GraphicsListen)

    @property
    def listen_address(self) -> str | None:
        for item in self.listens:
            if item.address:
                return item.address
        return self.listen

    def check(self) -> None:
        _check_enum(self.node, "type", GRAPHICS_TYPES)
        for attr, what in (("port", "port"), ("websocket", "websocket port")):
            raw = self.node.get(attr)
            if raw is not None and not re.fullmatch(r"-?\d+", raw.strip()):
                raise error(VIR_ERR_INTERNAL_ERROR, f"cannot parse {self.type} {what} {raw}",
                            domain=VIR_FROM_DOMAIN)
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        kind = self.type
        listens = self.listens  # the steps below edit attributes only: this list stays true
        if kind == "vnc" and listens and listens[0].type == "socket":
            # a VNC server on a UNIX socket: no TCP port at all
            for attr in ("port", "autoport", "websocket"):
                self.node.attrib.pop(attr, None)
            if listens[0].socket:
                self.node.set("socket", listens[0].socket)
            reorder_attributes(self.node, self._attr_order[""])
            return
        if kind == "vnc":
            autoport = self.node.get("autoport")
            port = self.port
            if port is None or port == -1:
                self.node.set("port", "-1")
                if autoport is None:
                    self.node.set("autoport", "yes")
            elif autoport is None:
                self.node.set("autoport", "no")
            _reorder_attrs(self.node, ("type", "port", "autoport", "websocket", "listen"))
        if kind in ("vnc", "spice", "rdp"):
            listen = self.listen
            if not listens:
                item = GraphicsListen()
                item.type = "address"
                if listen:
                    item.address = listen
                self.add_child(item)
            elif listen is None:
                first = listens[0]
                if first.type == "address" and first.address:
                    self.node.set("listen", first.address)
                    _reorder_attrs(self.node, ("type", "port", "tlsPort", "autoport",
                                               "websocket", "listen"))

    def matches(self, other: Device) -> bool:
        return isinstance(other, Graphics) and other.type == self.type


# --- video ------------------------------------------------------------------------
class Video(Device):
    _root_name = "video"
    _attr_order = {"model": ("type", "ram", "vram", "vram64", "vgamem", "heads", "primary")}
    _list_name = "videos"
    _child_order = ("driver", "model") + Device._info_order
    _nested_order = {"model": ("acceleration", "resolution")}

    model = XMLProperty("./model/@type")
    vram = XMLProperty("./model/@vram", int)
    ram = XMLProperty("./model/@ram", int)
    vgamem = XMLProperty("./model/@vgamem", int)
    heads = XMLProperty("./model/@heads", int)
    primary = XMLProperty("./model/@primary", bool)
    accel3d = XMLProperty("./model/acceleration/@accel3d", bool)

    _DEFAULT_VRAM = {"vga": 16384, "cirrus": 16384, "vmvga": 16384, "xen": 16384,
                     "vbox": 8192, "qxl": 65536, "bochs": 16384, "parallels": 16384}

    def check(self) -> None:
        model = self.model
        if model is not None and model not in VIDEO_MODELS:
            raise unsupported(f"unknown video model '{model}'")
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        model_node = self.node.find("model")
        if model_node is None:
            model_node = self.make_path(["model"])
        if model_node.get("type") is None:
            model_node.set("type", "cirrus" if domain.os_type in ("hvm", None) else "xen")
        model = model_node.get("type")
        if model == "qxl" and model_node.get("ram") is None:
            model_node.set("ram", "65536")
        if model_node.get("vram") is None and model in self._DEFAULT_VRAM:
            model_node.set("vram", str(self._DEFAULT_VRAM[model]))
        if model_node.get("heads") is None and model != "none":
            model_node.set("heads", "1")
        _reorder_attrs(model_node, ("type", "ram", "vram", "vram64", "vgamem", "heads",
                                    "primary"))


# --- input, sound, rng, watchdog, memballoon ----------------------------------------
class Input(Device):
    _root_name = "input"
    _attr_order = {"": ("type", "bus", "model")}
    _list_name = "inputs"
    _child_order = ("source", "driver") + Device._info_order

    type = XMLProperty("./@type")
    bus = XMLProperty("./@bus")
    source_evdev = XMLProperty("./source/@evdev")

    def check(self) -> None:
        if self.type is not None and self.type not in INPUT_TYPES:
            raise unsupported(f"unknown input device type '{self.type}'")
        if self.bus is not None and self.bus not in INPUT_BUSES:
            raise unsupported(f"unknown input bus type '{self.bus}'")
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        if self.bus is None and self.type in ("mouse", "tablet", "keyboard"):
            if domain.os_type == "hvm":
                self.bus = "usb" if self.type == "tablet" else "ps2"
            else:
                self.bus = "xen"

    def matches(self, other: Device) -> bool:
        return (isinstance(other, Input) and other.type == self.type
                and (other.bus is None or other.bus == self.bus)
                and (other.address is None or (self.address is not None
                                              and self.address.key() == other.address.key())))


class Sound(Device):
    _root_name = "sound"
    _list_name = "sounds"
    _child_order = ("codec", "audio") + Device._info_order
    model = XMLProperty("./@model")

    def check(self) -> None:
        _check_enum(self.node, "model", SOUND_MODELS)
        super().check()


class Audio(XMLBuilder):
    """``<audio id='1' type='none'/>``: a host audio backend that sound devices and
    VNC refer to by id (libvirt adds one of type ``none`` when a domain has none)."""

    _root_name = "audio"
    _list_name = "audios"
    id = XMLProperty("./@id", int)
    type = XMLProperty("./@type")


class RNG(Device):
    _root_name = "rng"
    _attr_order = {"backend": ("model", "type")}
    _list_name = "rngs"
    _child_order = ("rate", "backend", "driver") + Device._info_order

    model = XMLProperty("./@model")
    backend_model = XMLProperty("./backend/@model")
    backend_type = XMLProperty("./backend/@type")
    backend = XMLProperty("./backend")
    backend_source_mode = XMLProperty("./backend/source/@mode")
    backend_source_host = XMLProperty("./backend/source/@host")
    backend_source_service = XMLProperty("./backend/source/@service")
    backend_protocol = XMLProperty("./backend/protocol/@type")
    rate_bytes = XMLProperty("./rate/@bytes", int)
    rate_period = XMLProperty("./rate/@period", int)

    def check(self) -> None:
        if self.model is not None and self.model not in RNG_MODELS:
            raise unsupported(f"unknown RNG model '{self.model}'")
        if self.backend_model is not None and self.backend_model not in RNG_BACKENDS:
            raise unsupported(f"unknown RNG backend model '{self.backend_model}'")
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        node = self.node.find("backend")
        if node is not None and node.get("model") == "random" and not (node.text or "").strip():
            node.text = "/dev/random"


class Watchdog(Device):
    _root_name = "watchdog"
    _attr_order = {"": ("model", "action")}
    _list_name = "watchdogs"
    model = XMLProperty("./@model")
    action = XMLProperty("./@action")

    def check(self) -> None:
        if self.model is not None and self.model not in WATCHDOG_MODELS:
            raise unsupported(f"unknown watchdog model '{self.model}'")
        if self.action is not None and self.action not in WATCHDOG_ACTIONS:
            raise unsupported(f"unknown watchdog action '{self.action}'")
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        if self.action is None:
            self.action = "reset"


class MemBalloon(Device):
    _root_name = "memballoon"
    _attr_order = {"": ("model", "autodeflate", "freePageReporting")}
    _list_name = "memballoons"
    _child_order = ("stats", "driver") + Device._info_order
    model = XMLProperty("./@model")
    autodeflate = XMLProperty("./@autodeflate", "onoff")
    stats_period = XMLProperty("./stats/@period", int)

    def check(self) -> None:
        _check_enum(self.node, "model", MEMBALLOON_MODELS)
        super().check()


# --- filesystem, hostdev ------------------------------------------------------------
class Filesystem(Device):
    _root_name = "filesystem"
    _attr_order = {"": ("type", "accessmode", "model", "multidevs", "fmode", "dmode")}
    _list_name = "filesystems"
    _child_order = ("driver", "binary", "source", "target", "readonly", "space_hard_limit",
                    "space_soft_limit") + Device._info_order

    type = XMLProperty("./@type")
    accessmode = XMLProperty("./@accessmode")
    driver_type = XMLProperty("./driver/@type")
    driver_format = XMLProperty("./driver/@format")
    source_dir = XMLProperty("./source/@dir")
    source_file = XMLProperty("./source/@file")
    source_name = XMLProperty("./source/@name")
    target_dir = XMLProperty("./target/@dir")
    readonly = XMLProperty("./readonly", is_present=True)

    def check(self) -> None:
        _check_enum(self.node, "type", FS_TYPES)
        if self.target_dir is None:
            where = self.source_dir or self.source_file or self.source_name
            raise error(VIR_ERR_NO_TARGET, where or None, domain=VIR_FROM_DOMAIN)
        super().check()

    def fill_defaults(self, domain: Any) -> None:
        if self.type is None:
            self.node.set("type", "mount")
        if self.type == "mount" and self.accessmode is None:
            self.node.set("accessmode", "passthrough")
        _reorder_attrs(self.node, ("type", "accessmode", "model", "multidevs", "fmode", "dmode"))

    def matches(self, other: Device) -> bool:
        return isinstance(other, Filesystem) and other.target_dir == self.target_dir


class Hostdev(Device):
    """``<hostdev>``: parsed and formatted only (no host device is ever touched)."""

    _root_name = "hostdev"
    _attr_order = {"": ("mode", "type", "managed", "sgio", "rawio", "model", "display")}
    _list_name = "hostdevs"
    _allows_boot = True
    _child_order = ("driver", "source", "rom") + Device._info_order

    mode = XMLProperty("./@mode")
    type = XMLProperty("./@type")
    managed = XMLProperty("./@managed", bool)
    vendor_id = XMLProperty("./source/vendor/@id")
    product_id = XMLProperty("./source/product/@id")
    driver_name = XMLProperty("./driver/@name")
    source_address = XMLChildProperty(Address, "./source", is_single=True)

    def check(self) -> None:
        if self.mode in (None, "subsystem") and self.type is not None \
                and self.type not in HOSTDEV_SUBSYS_TYPES:
            raise unsupported(f"unknown host device source address type '{self.type}'")
        source_addr = self.source_address
        if source_addr is not None:
            source_addr.check()
        super().check()

    def _identity(self) -> tuple[Any, ...]:
        addr = self.source_address
        return (self.type, addr.key() if addr is not None else None,
                (self.vendor_id or "").lower(), (self.product_id or "").lower())

    def matches(self, other: Device) -> bool:
        return isinstance(other, Hostdev) and other._identity() == self._identity()


# --- the <devices> element ----------------------------------------------------------
#: every device class, in the order libvirt formats the kinds under <devices>
DEVICE_CLASSES: tuple[type[Device], ...] = (
    Disk, Controller, Filesystem, Interface, Serial, Parallel, Console, Channel, Input,
    Graphics, Sound, Video, Hostdev, Watchdog, MemBalloon, RNG,
)
DEVICE_BY_TAG: dict[str, type[Device]] = {cls._root_name: cls for cls in DEVICE_CLASSES}

#: libvirt's order of the elements under <devices> (kinds we do not model included)
DEVICES_ORDER = ("emulator", "disk", "controller", "lease", "filesystem", "interface",
                 "smartcard", "serial", "parallel", "console", "channel", "input", "tpm",
                 "graphics", "sound", "audio", "video", "hostdev", "redirdev", "redirfilter",
                 "hub", "watchdog", "memballoon", "rng", "nvram", "panic", "shmem", "memory",
                 "iommu", "vsock", "crypto")


class Devices(XMLBuilder):
    _root_name = "devices"
    _child_order = DEVICES_ORDER

    emulator = XMLProperty("./emulator")
    disks = XMLChildProperty(Disk)
    controllers = XMLChildProperty(Controller)
    filesystems = XMLChildProperty(Filesystem)
    interfaces = XMLChildProperty(Interface)
    serials = XMLChildProperty(Serial)
    parallels = XMLChildProperty(Parallel)
    consoles = XMLChildProperty(Console)
    channels = XMLChildProperty(Channel)
    inputs = XMLChildProperty(Input)
    graphics = XMLChildProperty(Graphics)
    sounds = XMLChildProperty(Sound)
    audios = XMLChildProperty(Audio)
    videos = XMLChildProperty(Video)
    hostdevs = XMLChildProperty(Hostdev)
    watchdogs = XMLChildProperty(Watchdog)
    memballoons = XMLChildProperty(MemBalloon)
    rngs = XMLChildProperty(RNG)

    def all(self) -> list[Device]:
        """Every modelled device, in document order."""
        found = []
        for child in self.node:
            kind = DEVICE_BY_TAG.get(child.tag)  # a comment's tag is a function: no kind
            if kind is not None:
                found.append(kind(node=child))
        return found

    def by_tag(self) -> dict[str, list[Device]]:
        """Every modelled device grouped by tag (``disk`` → the disks, ...), each
        group in document order: one walk instead of one per kind."""
        return group_by_tag(self.all())

    def add(self, dev: Device) -> Device:
        """Append ``dev`` after the last device of its kind (libvirt's order)."""
        return self.add_child(dev)  # type: ignore[return-value]


def group_by_tag(devices: list[Device]) -> dict[str, list[Device]]:
    """``devices`` grouped by tag, each group in the order given."""
    groups: dict[str, list[Device]] = {}
    for dev in devices:
        groups.setdefault(dev.node.tag, []).append(dev)
    return groups


def parse_device(xml: str | bytes) -> Device:
    """Parse one device document (attach-device / detach-device), class by root tag."""
    root = parse_xml(xml, "(device_definition)", domain=VIR_FROM_DOMAIN)
    cls = DEVICE_BY_TAG.get(root.tag)
    if cls is None:
        raise error(VIR_ERR_XML_ERROR, f"unknown device type '{root.tag}'",
                    domain=VIR_FROM_DOMAIN)
    dev = cls(node=root)
    dev.check()
    return dev


def _reorder_attrs(node: etree._Element | None, order: tuple[str, ...]) -> None:
    if node is not None:
        reorder_attributes(node, order)

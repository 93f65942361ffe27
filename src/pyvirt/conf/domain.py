"""The domain definition: ``<domain>`` as a view over its parsed document.

``DomainDef.from_xml(text)`` parses and checks a definition the way libvirt's
parser does (same error codes and messages for what it refuses);
``normalize()`` turns it into the canonical form libvirt stores and prints
(``virsh -c test:///default define x.xml; virsh dumpxml NAME --inactive``);
``to_xml()`` formats it. Whatever is not modelled survives untouched until
``strip_unknown()`` removes it; ``unknown_parts()`` names it.

No I/O and no clock: randomness (uuid, MAC addresses) comes from an optional
``random.Random`` so tests can make it repeatable.
"""

from __future__ import annotations

import re
import uuid as _uuid
from typing import Any, Iterator

from lxml import etree

from pyvirt.conf.devices import (
    DEVICE_BY_TAG, DEVICES_ORDER, Console, Controller, Device, Devices, Disk,
    Interface, Serial, Video, _reorder_attrs, disk_name_to_index, group_by_tag, invalid_enum,
    invalid_uint, unsupported,
)
from pyvirt.conf.xmlbuilder import (
    ChildIndex, XMLBuilder, XMLChildProperty, XMLProperty, first_child, iter_elements,
    parse_xml, sort_by_order,
)
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_NAME,
    VIR_ERR_OVERFLOW, VIR_ERR_XML_ERROR, VIR_FROM_CPU, VIR_FROM_DOMAIN, VIR_FROM_NONE,
    VIR_FROM_XML, error,
)

DOMAIN_TYPES = ("none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test",
                "vmware", "hyperv", "vbox", "phyp", "parallels", "bhyve", "vz", "ch")
OS_TYPES = ("hvm", "xen", "linux", "exe", "uml", "xenpvh")
ARCHES = ("none", "alpha", "armv6l", "armv7l", "armv7b", "aarch64", "cris", "i686",
          "ia64", "lm32", "loongarch64", "m68k", "microblaze", "microblazeel", "mips",
          "mipsel", "mips64", "mips64el", "openrisc", "parisc", "parisc64", "ppc", "ppcle",
          "ppc64", "ppc64le", "ppcemb", "riscv32", "riscv64", "s390", "s390x", "sh4",
          "sh4eb", "sparc", "sparc64", "unicore32", "x86_64", "xtensa", "xtensaeb")
BOOT_DEVS = ("fd", "cdrom", "hd", "network")
LIFECYCLE_ACTIONS = ("destroy", "restart", "rename-restart", "preserve")
CRASH_ACTIONS = LIFECYCLE_ACTIONS + ("coredump-destroy", "coredump-restart")
CLOCK_OFFSETS = ("utc", "localtime", "timezone", "variable", "absolute")
CPU_MODES = ("custom", "host-model", "host-passthrough", "maximum")
PLACEMENTS = ("static", "auto")
#: every <features> child libvirt 9.0 knows (virDomainFeature)
KNOWN_FEATURES = ("acpi", "apic", "pae", "hap", "viridian", "privnet", "hyperv", "kvm",
                  "pvspinlock", "capabilities", "pmu", "vmport", "gic", "smm", "ioapic",
                  "hpt", "vmcoreinfo", "htm", "nested-hv", "msrs", "ccf-assist", "xen",
                  "cfpc", "sbbc", "ibs", "tcg", "async-teardown")

#: libvirt's order of the children of <domain>
DOMAIN_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "cputune", "numatune", "resource", "sysinfo", "bootloader",
    "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff",
    "on_reboot", "on_crash", "on_lockfailure", "pm", "perf", "devices", "seclabel",
    "keywrap", "launchSecurity",
)

#: the largest memory size libvirt accepts, in bytes (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED KiB)
MAX_MEMORY_BYTES = ((1 << 53) - 1) << 10


# --- memory sizes -------------------------------------------------------------------
def scale_to_bytes(value: int, unit: str | None, *, default_scale: int = 1024) -> int:
    """libvirt's virScaleInteger: ``value`` in ``unit`` (b, KiB, KB, MiB, ...) as bytes."""
    if not unit:
        scale = default_scale
    else:
        lowered = unit.lower()
        if lowered in ("b", "byte", "bytes"):
            scale = 1
        else:
            if len(unit) == 1 or lowered[1:] == "ib":
                base = 1024
            elif lowered[1:] == "b":
                base = 1000
            else:
                raise error(VIR_ERR_INVALID_ARG, f"unknown suffix '{unit}'", domain=VIR_FROM_NONE)
            power = "kmgtpe".find(lowered[0]) + 1
            if power == 0:
                raise error(VIR_ERR_INVALID_ARG, f"unknown suffix '{unit}'", domain=VIR_FROM_NONE)
            scale = base ** power
    result = value * scale
    if result > MAX_MEMORY_BYTES:
        raise error(VIR_ERR_OVERFLOW, f"value too large: {value}{unit or ''}",
                    domain=VIR_FROM_NONE)
    return result


class MemoryProperty(XMLProperty):
    """A memory size element (``<memory unit='MiB'>512</memory>``), read in KiB.

    Reading converts the element's unit (rounding bytes up to whole KiB, as
    libvirt does); writing stores KiB with ``unit='KiB'``.
    """

    def __init__(self, xpath: str, doc: str = "") -> None:
        super().__init__(xpath, int, doc=doc)

    def covered(self) -> list[tuple[tuple[str, ...], str | None]]:
        path = tuple(self.elements)
        return [(path, None), (path, "unit")]

    def __get__(self, obj: XMLBuilder | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        node = obj.find_path(self.elements)
        return None if node is None else self.read_kib(node)

    def read_kib(self, node: etree._Element) -> int | None:
        """The size ``node`` (this field's element) holds, in KiB; None without text."""
        if node.text is None:
            return None
        raw = node.text.strip()
        if not raw.isdigit():
            raise error(VIR_ERR_XML_ERROR, f"Invalid value '{node.text}' for element or "
                        f"attribute './{'/'.join(self.elements)}[1]'", domain=VIR_FROM_XML)
        size = scale_to_bytes(int(raw), node.get("unit"))
        return -(-size // 1024)

    def __set__(self, obj: XMLBuilder, value: Any) -> None:
        if value is None:
            obj.remove_path(self.elements)
            return
        self.write_kib(obj.make_path(self.elements), value)

    @staticmethod
    def write_kib(node: etree._Element, value: int) -> None:
        """Store ``value`` KiB in ``node`` with ``unit='KiB'``."""
        text = str(int(value))
        if node.text == text and node.get("unit") == "KiB" and _unit_in_place(node):
            return
        extra = [(k, v) for k, v in node.attrib.items() if k != "unit"]
        node.attrib.clear()
        for key, val in extra:
            node.set(key, val)
        node.set("unit", "KiB")
        _reorder_attrs(node, ("slots", "unit"))
        node.text = text


def _unit_in_place(node: etree._Element) -> bool:
    """Whether ``unit`` sits where MemoryProperty puts it: first, or second after ``slots``."""
    keys = node.keys()
    if "slots" in keys:
        return keys[:2] == ["slots", "unit"]
    return keys[0] == "unit"


# --- <os>, <features>, <cpu>, <clock> -------------------------------------------------
class DomainOS(XMLBuilder):
    _root_name = "os"
    _attr_order = {"type": ("arch", "machine"), "loader": ("readonly", "secure", "type"),
                   "bootmenu": ("enable", "timeout")}
    _child_order = ("type", "firmware", "init", "initarg", "initenv", "initdir", "inituser",
                    "initgroup", "loader", "nvram", "kernel", "initrd", "cmdline", "dtb",
                    "acpi", "boot", "bootmenu", "bios", "smbios")

    type = XMLProperty("./type")
    arch = XMLProperty("./type/@arch")
    machine = XMLProperty("./type/@machine")
    firmware = XMLProperty("./@firmware")
    loader = XMLProperty("./loader")
    loader_readonly = XMLProperty("./loader/@readonly", bool)
    loader_type = XMLProperty("./loader/@type")
    loader_secure = XMLProperty("./loader/@secure", bool)
    nvram = XMLProperty("./nvram")
    nvram_template = XMLProperty("./nvram/@template")
    kernel = XMLProperty("./kernel")
    initrd = XMLProperty("./initrd")
    cmdline = XMLProperty("./cmdline")
    dtb = XMLProperty("./dtb")
    init = XMLProperty("./init")
    boot_devs = XMLProperty("./boot/@dev", multi=True)
    bootmenu_enable = XMLProperty("./bootmenu/@enable", bool)
    bootmenu_timeout = XMLProperty("./bootmenu/@timeout", int)
    smbios_mode = XMLProperty("./smbios/@mode")
    bios_useserial = XMLProperty("./bios/@useserial", bool)
    bios_reboot_timeout = XMLProperty("./bios/@rebootTimeout", int)


class Features(XMLBuilder):
    """``<features>``: each child is one feature; its name is the tag."""

    _root_name = "features"
    _child_order = KNOWN_FEATURES
    # what lies inside a feature (hyperv's enlightenments, kvm's, ...) is the feature's own
    _opaque_paths = tuple(f"./{name}" for name in KNOWN_FEATURES
                          if name not in ("acpi", "apic", "pae"))

    acpi = XMLProperty("./acpi", is_present=True)
    apic = XMLProperty("./apic", is_present=True)
    pae = XMLProperty("./pae", is_present=True)
    apic_eoi = XMLProperty("./apic/@eoi", "onoff")

    @property
    def names(self) -> list[str]:
        return [child.tag for child in iter_elements(self.node)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def has(self, name: str) -> bool:
        return self.find_path([name]) is not None

    def add(self, name: str) -> None:
        self.make_path([name])

    def remove(self, name: str) -> None:
        self.remove_path([name])


class CPUFeature(XMLBuilder):
    _root_name = "feature"
    _attr_order = {"": ("policy", "name")}
    policy = XMLProperty("./@policy")
    name = XMLProperty("./@name")


class CPU(XMLBuilder):
    _root_name = "cpu"
    _attr_order = {"": ("mode", "match", "check", "migratable"),
                   "model": ("fallback", "vendor_id"),
                   "topology": ("sockets", "dies", "cores", "threads")}
    _child_order = ("model", "vendor", "topology", "cache", "maxphysaddr", "feature", "numa")

    mode = XMLProperty("./@mode")
    match = XMLProperty("./@match")
    check = XMLProperty("./@check")
    migratable = XMLProperty("./@migratable", "onoff")
    model = XMLProperty("./model")
    model_fallback = XMLProperty("./model/@fallback")
    vendor = XMLProperty("./vendor")
    sockets = XMLProperty("./topology/@sockets", int)
    dies = XMLProperty("./topology/@dies", int)
    cores = XMLProperty("./topology/@cores", int)
    threads = XMLProperty("./topology/@threads", int)
    features = XMLChildProperty(CPUFeature)


class ClockTimer(XMLBuilder):
    _root_name = "timer"
    _attr_order = {"": ("name", "present", "tickpolicy", "track", "frequency", "mode")}
    name = XMLProperty("./@name")
    present = XMLProperty("./@present", bool)
    tickpolicy = XMLProperty("./@tickpolicy")


class Clock(XMLBuilder):
    _root_name = "clock"
    _attr_order = {"": ("offset", "adjustment", "timezone", "basis")}
    offset = XMLProperty("./@offset")
    adjustment = XMLProperty("./@adjustment")
    basis = XMLProperty("./@basis")
    timezone = XMLProperty("./@timezone")
    timers = XMLChildProperty(ClockTimer)


# --- the domain ---------------------------------------------------------------------
class DomainDef(XMLBuilder):
    """A domain definition: the document is the truth, fields are views onto it."""

    _root_name = "domain"
    _attr_order = {"": ("type", "id"), "vcpu": ("placement", "cpuset", "current"),
                   "maxMemory": ("slots", "unit")}
    _doc_label = "(domain_definition)"
    _error_domain = VIR_FROM_DOMAIN
    _child_order = DOMAIN_ORDER
    _opaque_paths = ("./metadata",)
    _verbatim_tags = frozenset({"metadata"})
    _expand_empty = frozenset({"devices"})
    _report_with_root = False
    _ns_last = True

    type = XMLProperty("./@type")
    id = XMLProperty("./@id", int)
    name = XMLProperty("./name")
    uuid = XMLProperty("./uuid")
    genid = XMLProperty("./genid")
    title = XMLProperty("./title")
    description = XMLProperty("./description")
    max_memory_kib = MemoryProperty("./maxMemory")
    max_memory_slots = XMLProperty("./maxMemory/@slots", int)
    memory_kib = MemoryProperty("./memory")
    current_memory_kib = MemoryProperty("./currentMemory")
    vcpus = XMLProperty("./vcpu", int)
    vcpus_current = XMLProperty("./vcpu/@current", int)
    vcpu_placement = XMLProperty("./vcpu/@placement")
    vcpu_cpuset = XMLProperty("./vcpu/@cpuset")
    iothreads = XMLProperty("./iothreads", int)
    numatune_mode = XMLProperty("./numatune/memory/@mode")
    numatune_placement = XMLProperty("./numatune/memory/@placement")
    numatune_nodeset = XMLProperty("./numatune/memory/@nodeset")
    bootloader = XMLProperty("./bootloader")
    clock_offset = XMLProperty("./clock/@offset")
    on_poweroff = XMLProperty("./on_poweroff")
    on_reboot = XMLProperty("./on_reboot")
    on_crash = XMLProperty("./on_crash")
    on_lockfailure = XMLProperty("./on_lockfailure")
    pm_suspend_to_mem = XMLProperty("./pm/suspend-to-mem/@enabled", bool)
    pm_suspend_to_disk = XMLProperty("./pm/suspend-to-disk/@enabled", bool)
    resource_partition = XMLProperty("./resource/partition")

    os = XMLChildProperty(DomainOS, is_single=True)
    features = XMLChildProperty(Features, is_single=True)
    cpu = XMLChildProperty(CPU, is_single=True)
    clock = XMLChildProperty(Clock, is_single=True)
    devices = XMLChildProperty(Devices, is_single=True)

    def __init__(self, node: etree._Element | None = None) -> None:
        super().__init__(node)
        self._rng: random.Random | None = None

    # --- parsing -------------------------------------------------------------
    @classmethod
    def from_xml(cls, text: str | bytes) -> "DomainDef":  # type: ignore[override]
        """Parse and check a definition; libvirtError with libvirt's code on bad input."""
        root = parse_xml(text, cls._doc_label, domain=VIR_FROM_DOMAIN)
        if root.tag != cls._root_name:
            raise error(VIR_ERR_XML_ERROR,
                        f"expecting root element of 'domain', not '{_tag(root)}'",
                        domain=VIR_FROM_XML)
        dom = cls(node=root)
        dom.check()
        return dom

    def check(self) -> None:
        """Raise what libvirt's parser raises for this document (in its order)."""
        node = self.node
        dtype = node.get("type")
        if dtype is None:
            raise error(VIR_ERR_INTERNAL_ERROR, "missing domain type attribute",
                        domain=VIR_FROM_DOMAIN)
        if dtype not in DOMAIN_TYPES:
            raise unsupported(f"invalid domain type {dtype}")
        top = ChildIndex(node, self._child_order)  # checking edits nothing: one walk

        def text(tag: str) -> str | None:
            element = top.first(tag)
            return None if element is None else element.text

        name = text("name")
        if name is None or not name.strip():
            raise error(VIR_ERR_NO_NAME, None, domain=VIR_FROM_DOMAIN)
        raw_uuid = text("uuid")
        if raw_uuid is not None and parse_uuid(raw_uuid) is None:
            raise error(VIR_ERR_INTERNAL_ERROR, "malformed uuid element", domain=VIR_FROM_DOMAIN)
        title = text("title")
        if title is not None and "\n" in title:
            raise error(VIR_ERR_XML_ERROR, "Domain title can't contain newlines",
                        domain=VIR_FROM_DOMAIN)
        slots = top.first("maxMemory")
        if slots is not None and slots.get("slots") is not None \
                and not slots.get("slots").strip().isdigit():
            raise error(VIR_ERR_XML_ERROR, "Failed to parse memory slot count",
                        domain=VIR_FROM_DOMAIN)
        sizes = {}
        for tag, field in (("maxMemory", DomainDef.max_memory_kib),
                           ("currentMemory", DomainDef.current_memory_kib),
                           ("memory", DomainDef.memory_kib)):
            element = top.first(tag)
            sizes[tag] = None if element is None else field.read_kib(element)
        memory = sizes["memory"]
        self._check_vcpu(top.first("vcpu"))
        self._check_os(top.first("os"))
        for tag, allowed in (("on_poweroff", LIFECYCLE_ACTIONS), ("on_reboot", LIFECYCLE_ACTIONS),
                             ("on_crash", CRASH_ACTIONS)):
            value = text(tag)
            if value is not None and value not in allowed:
                raise unsupported(f"unknown {tag} action: {value}")
        clock = top.first("clock")
        offset = None if clock is None else clock.get("offset")
        if offset is not None and offset not in CLOCK_OFFSETS:
            raise unsupported(f"unknown clock offset '{offset}'")
        features = top.first("features")
        if features is not None:
            for fname in Features(node=features).names:
                if fname not in KNOWN_FEATURES:
                    raise unsupported(f"unexpected feature '{fname}'")
        cpu_node = top.first("cpu")
        mode = None if cpu_node is None else cpu_node.get("mode")
        if mode is not None and mode not in CPU_MODES:
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"Invalid mode attribute '{mode}'",
                        domain=VIR_FROM_CPU)
        devices = top.first("devices")
        if devices is not None:
            self._check_devices(Devices(node=devices))
        if not memory:
            raise error(VIR_ERR_XML_ERROR, "Memory size must be specified via <memory> or "
                        "in the <numa> configuration", domain=VIR_FROM_DOMAIN)
        if "/" in name:
            raise error(VIR_ERR_XML_ERROR, f"name {name} cannot contain '/'",
                        domain=VIR_FROM_DOMAIN)

    def _check_vcpu(self, vcpu: etree._Element | None) -> None:
        if vcpu is None:
            return
        text = (vcpu.text or "").strip()
        if not text.isdigit():
            raise error(VIR_ERR_XML_ERROR, "maximum vcpus count must be an integer",
                        domain=VIR_FROM_DOMAIN)
        current = vcpu.get("current")
        if current is not None and not current.strip().isdigit():
            raise invalid_uint("current", "vcpu", current)
        placement = vcpu.get("placement")
        if placement is not None and placement not in PLACEMENTS:
            raise invalid_enum("placement", "vcpu", placement)
        if int(text) == 0:
            raise error(VIR_ERR_INTERNAL_ERROR, "CPU IDs in <numa> exceed the <vcpu> count",
                        domain=VIR_FROM_DOMAIN)
        if current is not None and int(current) > int(text):
            raise unsupported("maximum vCPU count must not be less than current vCPU count")

    def _check_os(self, os_node: etree._Element | None) -> None:
        os_ = None if os_node is None else DomainOS(node=os_node)
        os_type = os_.type.strip() if os_ is not None and os_.type else None
        if not os_type:
            raise error(VIR_ERR_XML_ERROR, "an os <type> must be specified",
                        domain=VIR_FROM_DOMAIN)
        if os_type not in OS_TYPES:
            raise unsupported(f"unknown OS type '{os_type}'")
        arch = os_.arch
        if arch is not None and arch not in ARCHES:
            raise unsupported(f"Unknown architecture {arch}")
        for boot in os_.find_all(["boot"]):
            dev = boot.get("dev")
            if dev is not None and dev not in BOOT_DEVS:
                raise invalid_enum("dev", "boot", dev)

    def _check_devices(self, devices: Devices) -> None:
        every = devices.all()  # checking edits nothing: one list serves each pass
        for dev in every:
            dev.check()
        seen: dict[str, Disk] = {}
        for disk in every:
            if not isinstance(disk, Disk):
                continue
            target_dev = disk.target_dev
            other = seen.get(target_dev or "")
            if other is not None:
                raise error(VIR_ERR_XML_ERROR,
                            f"target '{target_dev}' duplicated for disk sources "
                            f"'{other.source_path or ''}' and '{disk.source_path or ''}'",
                            domain=VIR_FROM_DOMAIN)
            seen[target_dev or ""] = disk
        orders: set[int] = set()
        any_device_boot = False
        for dev in every:
            if dev.find_path(["boot"]) is None:
                continue
            order = dev.boot_order
            if order is None:
                continue
            any_device_boot = True
            if order in orders:
                raise unsupported(f"boot order '{order}' used for more than one device")
            orders.add(order)
        if any_device_boot and self.os is not None and self.os.boot_devs:
            raise unsupported("per-device boot elements cannot be used together with "
                              "os/boot elements")

    # --- formatting ----------------------------------------------------------
    def to_xml(self, *, secure: bool = True, inactive: bool = False) -> str:  # type: ignore[override]
        """libvirt's text. ``secure=False`` leaves out passwords (as dumpxml without
        --security-info does); ``inactive=True`` leaves out the runtime id."""
        if (secure or not any(gfx.get("passwd") is not None
                              for gfx in self.node.iterfind("./devices/graphics"))) and \
                (not inactive or "id" not in self.node.attrib):
            return super().to_xml()
        dom = self.copy()
        if inactive:
            dom.node.attrib.pop("id", None)
        if not secure:
            for gfx in dom.node.iterfind("./devices/graphics"):
                gfx.attrib.pop("passwd", None)
        return XMLBuilder.to_xml(dom)

    def copy(self) -> "DomainDef":
        dup = super().copy()
        dup._rng = self._rng
        return dup

    # --- convenience over the children ----------------------------------------
    @property
    def os_type(self) -> str | None:
        os_ = self.os
        return os_.type.strip() if os_ is not None and os_.type else None

    @property
    def metadata(self) -> etree._Element | None:
        """The ``<metadata>`` element itself (its children verbatim), or None."""
        return self.find_path(["metadata"])

    def get_metadata(self, uri: str) -> str | None:
        """The XML of the metadata child in namespace ``uri`` (virDomainGetMetadata)."""
        meta = self.metadata
        if meta is None:
            return None
        for child in iter_elements(meta):
            if etree.QName(child).namespace == uri:
                return etree.tostring(child, encoding="unicode", with_tail=False)
        return None

    def set_metadata(self, uri: str, prefix: str | None, xml: str | None) -> None:
        """Replace (or with ``xml=None`` remove) the metadata child in namespace ``uri``."""
        meta = self.metadata
        if meta is not None:
            for child in list(iter_elements(meta)):
                if etree.QName(child).namespace == uri:
                    meta.remove(child)
        if xml is None:
            if meta is not None and not len(meta):
                meta.getparent().remove(meta)
            return
        element = parse_xml(xml, "(metadata_xml)")
        local = etree.QName(element).localname
        nsmap = {prefix: uri} if prefix else {None: uri}
        new = etree.Element(etree.QName(uri, local), nsmap=nsmap)
        _copy_into_namespace(element, new, uri)
        meta = self.make_path(["metadata"])
        meta.append(new)

    def _ensure_devices(self) -> Devices:
        devices = self.devices
        if devices is None:
            self.make_path(["devices"])
            devices = self.devices
        return devices

    def add_device(self, dev: Device) -> Device:
        """Add ``dev`` after the last device of its kind."""
        return self._ensure_devices().add(dev)

    def normalize_device(self, dev: Device, *, ifname_prefix: str | None = "testnet") -> Device:
        """libvirt's post-parse for one device about to be attached (in place):
        its defaults (MAC, disk bus, drive address, ...), a target name for an
        interface, and libvirt's order inside it."""
        dev.fill_defaults(self)
        if isinstance(dev, Interface) and ifname_prefix and dev.target_dev is None:
            used = {i.target_dev for i in (self.devices.interfaces if self.devices else [])}
            n = 0
            while f"{ifname_prefix}{n}" in used:
                n += 1
            dev.target_dev = f"{ifname_prefix}{n}"
        dev.sort_children()
        return dev

    def find_device(self, dev: Device) -> Device | None:
        """The device ``dev`` names, matched as libvirt matches a detach request."""
        devices = self.devices
        if devices is None:
            return None
        for candidate in devices.all():
            if candidate.matches(dev):
                return candidate
        return None

    def remove_device(self, dev: Device) -> Device | None:
        """Remove the device ``dev`` names; returns it, or None when none matches."""
        found = self.find_device(dev)
        if found is not None:
            self.remove_child(found)
        return found

    # --- canonical form --------------------------------------------------------
    def normalize(self, *, rng: random.Random | None = None,
                  ifname_prefix: str | None = "testnet",
                  default_arch: str = "i686") -> "DomainDef":
        """Turn this definition into libvirt's canonical form, in place (returns self).

        What the test driver's define does: a uuid when missing, MACs for
        interfaces without one, sizes in KiB, libvirt's defaults (vcpu placement,
        boot device, clock, lifecycle actions, device defaults, implicit
        controllers, the serial console alias), libvirt's element order, and
        interface target names ``{ifname_prefix}N`` (None leaves them unnamed).
        """
        if rng is not None:
            self._rng = rng
        rng = self._rng
        self.node.attrib.pop("id", None)
        # every element this pass adds under <domain> goes through one index of its
        # children (the steps below change no other child of <domain>)
        top = ChildIndex(self.node, self._child_order)
        uuid_node = top.first("uuid")
        if uuid_node is None or uuid_node.text is None:
            if rng is None:
                import random  # loaded on the first generated uuid
                rng = random.SystemRandom()
            generated = str(_uuid.UUID(int=rng.getrandbits(128), version=4))
            top.first_or_add("uuid").text = generated
        else:
            canonical = parse_uuid(uuid_node.text)
            if canonical is not None and canonical != uuid_node.text:
                uuid_node.text = canonical
        self._normalize_memory(top)
        vcpu = self._normalize_vcpu(top)
        self._normalize_os(top, default_arch)
        cpu_node = top.first("cpu")
        if cpu_node is not None and first_child(cpu_node, "topology") is not None:
            cpu = CPU(node=cpu_node)
            if cpu.dies is None:
                cpu.dies = 1
                _reorder_attrs(cpu.find_path(["topology"]),
                               ("sockets", "dies", "cores", "threads"))
        if top.first("clock") is None:
            top.add("clock").set("offset", "utc")
        for tag, default in (("on_poweroff", "destroy"), ("on_reboot", "restart"),
                             ("on_crash", "destroy")):
            action = top.first_or_add(tag)
            if action.text is None:
                action.text = default
        if vcpu.get("placement") == "auto" and top.first("numatune") is None:
            etree.SubElement(top.add("numatune"), "memory", mode="strict", placement="auto")
        devices = Devices(node=top.first_or_add("devices"))
        self._normalize_devices(devices, ifname_prefix)
        self.sort_children()
        _drop_blank_leaf_text(self.node)
        return self

    def _normalize_memory(self, top: ChildIndex) -> None:
        sizes = {}
        for tag, field in (("maxMemory", DomainDef.max_memory_kib),
                           ("memory", DomainDef.memory_kib),
                           ("currentMemory", DomainDef.current_memory_kib)):
            node = top.first(tag)
            value = sizes[tag] = None if node is None else field.read_kib(node)
            if value is not None:  # in KiB with unit='KiB' (a no-op when so already)
                MemoryProperty.write_kib(node, value)
        memory = sizes["memory"]
        current = sizes["currentMemory"]
        if memory is not None and (current is None or current == 0 or current > memory):
            MemoryProperty.write_kib(top.first_or_add("currentMemory"), memory)

    def _normalize_vcpu(self, top: ChildIndex) -> etree._Element:
        vcpu = top.first_or_add("vcpu", "1")
        if vcpu.get("placement") is None:
            vcpu.set("placement", "static")
        if vcpu.get("current") is not None and vcpu.get("current") == (vcpu.text or "").strip():
            del vcpu.attrib["current"]
        _reorder_attrs(vcpu, ("placement", "cpuset", "current"))
        return vcpu

    def _normalize_os(self, top: ChildIndex, default_arch: str) -> None:
        os_node = top.first("os")
        if os_node is None:
            return
        os_ = DomainOS(node=os_node)
        type_node = os_.find_path(["type"])
        if type_node is not None and type_node.get("arch") is None:
            type_node.set("arch", default_arch)
        if type_node is not None:
            if type_node.text and type_node.text != type_node.text.strip():
                type_node.text = type_node.text.strip()
            _reorder_attrs(type_node, ("arch", "machine"))
        if type_node is not None and type_node.text == "hvm" and not os_.boot_devs:
            devices_node = top.first("devices")
            device_boot = devices_node is not None and any(
                child.tag in DEVICE_BY_TAG and first_child(child, "boot") is not None
                for child in devices_node)
            if not device_boot:
                os_.boot_devs = ["hd"]

    def _normalize_devices(self, devices: Devices, ifname_prefix: str | None) -> None:
        every = devices.all()
        for dev in every:
            dev.fill_defaults(self)  # fills devices in: adds or drops none
        kinds = group_by_tag(every)
        aliases = self._console_compat(devices, kinds)
        if aliases:  # a serial port or a console was added, and consoles get replaced
            kinds = devices.by_tag()
        self._number_chr_ports(kinds, aliases)
        if aliases:
            kinds = devices.by_tag()
        self._implicit_controllers(devices, kinds)
        self._implicit_video(devices, kinds)
        if ifname_prefix:
            interfaces = kinds.get("interface", [])
            used = {i.target_dev for i in interfaces if i.target_dev}
            for iface in interfaces:
                if iface.target_dev is None:
                    n = 0
                    while f"{ifname_prefix}{n}" in used:
                        n += 1
                    iface.target_dev = f"{ifname_prefix}{n}"
                    used.add(iface.target_dev)
        sort_by_order(devices.node, DEVICES_ORDER)
        _sort_disks(devices, kinds.get("disk", []))  # sorting kept the disks' own order
        if _KINDS_SORTED_APART:
            for dev in devices.all():
                if dev.node.tag in _KINDS_SORTED_APART:
                    dev.sort_children()

    def _console_compat(self, devices: Devices,
                        kinds: dict[str, list[Device]]) -> list[etree._Element]:
        """libvirt's virDomainDefAddConsoleCompat: on hvm the first console is an
        alias of the first serial port (created from the console when missing).
        Returns the console elements to turn into that alias."""
        if self.os_type != "hvm":
            return []
        consoles, serials = kinds.get("console", []), kinds.get("serial", [])
        if consoles and consoles[0].target_type in (None, "serial") and (
                consoles[0].address is None or consoles[0].address.type == "isa"):
            first = consoles[0]
            if not serials:
                serial = Serial(node=_retag(first.node, "serial"))
                target = serial.node.find("target")
                if target is not None:
                    target.attrib.pop("type", None)
                serial.target_port = 0
                devices.add(serial)
            # whether or not its source matched serial 0, the console now aliases it
            return [first.node]
        if serials and (not consoles or consoles[0].target_type not in (None, "serial")):
            stub = Console()
            if consoles:
                consoles[0].node.addprevious(stub.node)
            else:
                devices.add(stub)
            return [stub.node]
        return []

    def _number_chr_ports(self, kinds: dict[str, list[Device]],
                          aliases: list[etree._Element]) -> None:
        serials = kinds.get("serial", [])
        ports = [s.target_port for s in serials]
        used = {port for port in ports if port is not None}
        for serial, port in zip(serials, ports):
            if port is None:
                port = 0
                while port in used:
                    port += 1
                serial.target_port = port
                used.add(port)
        console_ports: dict[str, set[int]] = {}
        for console in kinds.get("console", []):
            if any(console.node is alias for alias in aliases):
                if serials:
                    alias = Console(node=_retag(serials[0].node, "console"))
                    alias.target_type = "serial"
                    alias.target_port = serials[0].target_port
                    target = alias.node.find("target")
                    if target is not None:
                        _reorder_attrs(target, ("type", "port"))
                    for child in list(alias.node):
                        if child.tag in ("address", "alias"):
                            alias.node.remove(child)
                    console.node.getparent().replace(console.node, alias.node)
                continue
            kind = console.target_type or "none"
            taken = console_ports.setdefault(kind, set())
            if console.target_port is None:
                port = 0
                while port in taken:
                    port += 1
                console.target_port = port
                target = console.find_path(["target"])
                _reorder_attrs(target, ("type", "port"))
            taken.add(console.target_port)

    def _implicit_controllers(self, devices: Devices, kinds: dict[str, list[Device]]) -> None:
        needed: list[tuple[str, int]] = []
        drive_controllers: list[tuple[str | None, str | None]] = []  # (bus, controller)
        for disk in kinds.get("disk", []):
            addr = disk.address
            if addr is not None and addr.type == "drive":
                drive_controllers.append((disk.target_bus, addr.controller))
        for ctype in ("scsi", "fdc", "ide", "sata"):
            top = -1
            for bus, controller in drive_controllers:
                if bus == ctype:
                    try:
                        top = max(top, int(controller or 0))
                    except ValueError:
                        continue
            needed.extend((ctype, idx) for idx in range(top + 1))
        virtio_serial = -1
        for chr_dev in [*kinds.get("channel", []), *kinds.get("console", [])]:
            if chr_dev.target_type == "virtio":
                addr = chr_dev.address
                idx = int(addr.controller or 0) if addr is not None and \
                    addr.type == "virtio-serial" else 0
                virtio_serial = max(virtio_serial, idx)
        needed.extend(("virtio-serial", idx) for idx in range(virtio_serial + 1))
        for ctype, idx in needed:
            existing = devices.controllers
            if any(c.type == ctype and c.index == idx for c in existing):
                continue
            ctrl = Controller()
            ctrl.type = ctype
            ctrl.index = idx
            same = [c for c in existing if c.type == ctype]
            anchor = None
            for c in same:
                if c.index is not None and c.index > idx:
                    anchor = c
                    break
            if anchor is not None:
                anchor.node.addprevious(ctrl.node)
            elif same:
                same[-1].node.addnext(ctrl.node)
            elif existing:
                existing[-1].node.addnext(ctrl.node)
            else:
                devices.add(ctrl)

    def _implicit_video(self, devices: Devices, kinds: dict[str, list[Device]]) -> None:
        videos = kinds.get("video", [])
        if kinds.get("graphics") and not videos:
            video = Video()
            devices.add(video)
            video.fill_defaults(self)
            videos = [video]
        if not videos:
            return
        primaries = [v for v in videos if v.primary]
        first = primaries[0] if primaries else videos[0]
        if first.node is not videos[0].node:
            videos[0].node.addprevious(first.node)
        if first.model != "none":
            first.primary = True
            _reorder_attrs(first.find_path(["model"]),
                           ("type", "ram", "vram", "vram64", "vgamem", "heads", "primary"))


# --- helpers -------------------------------------------------------------------------
_UUID_HEX32 = re.compile(r"[0-9a-fA-F]{32}")


def parse_uuid(text: str) -> str | None:
    """libvirt's virUUIDParse: 32 hex digits, '-' allowed between pairs, surrounding
    blanks allowed; returns the canonical 8-4-4-4-12 form or None."""
    digits = text.strip().replace("-", "")
    if len(digits) != 32 or not _UUID_HEX32.fullmatch(digits):
        return None
    digits = digits.lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _tag(node: etree._Element) -> str:
    return etree.QName(node).localname


def _retag(node: etree._Element, tag: str) -> etree._Element:
    import copy as _copy
    dup = _copy.deepcopy(node)
    dup.tag = tag
    dup.tail = None
    return dup


def _chr_source(dev: Device) -> tuple[Any, ...]:
    source = dev.node.find("source")
    return (dev.node.get("type"), tuple(sorted(source.attrib.items())) if source is not None
            else ())


def _sort_disks(devices: Devices, disks: list[Disk]) -> None:
    """libvirt's disk order (virDomainDiskInsert): each disk of ``disks`` (those
    under ``devices``, in document order), goes before the first disk on its bus
    with a higher index, else after the last disk on its bus, else at the end."""
    if len(disks) < 2:
        return
    ordered: list[Disk] = []
    for disk in disks:
        index = disk_name_to_index(disk.target_dev or "")
        index = -1 if index is None else index
        insert_at = -1
        for pos in range(len(ordered) - 1, -1, -1):
            other = ordered[pos]
            if other.target_bus != disk.target_bus:
                continue
            other_index = disk_name_to_index(other.target_dev or "")
            if (-1 if other_index is None else other_index) > index:
                insert_at = pos
            elif insert_at == -1:
                insert_at = pos + 1
        if insert_at == -1:
            ordered.append(disk)
        else:
            ordered.insert(insert_at, disk)
    anchor = disks[0].node.getprevious()
    parent = devices.node
    for disk in disks:
        parent.remove(disk.node)
    position = 0 if anchor is None else parent.index(anchor) + 1
    for offset, disk in enumerate(ordered):
        parent.insert(position + offset, disk.node)


#: device kinds the <devices> sort plan does not reach (none today): normalize sorts
#: them one by one
_KINDS_SORTED_APART = frozenset(DEVICE_BY_TAG) - frozenset(Devices._sort_plan().children)


def _drop_blank_leaf_text(root: etree._Element) -> None:
    """libvirt does not keep layout whitespace inside an empty element
    (``<model type='qxl'>\n</model>`` prints as ``<model type='qxl'/>``), except
    where it keeps the text itself: ``<description>`` and all of ``<metadata>``."""
    for node in root.iter(etree.Element):
        text = node.text  # None for most leaves: the cheap test first
        if text is not None and "\n" in text and not len(node) and not text.strip() \
                and not _text_kept_verbatim(node):
            node.text = None


def _text_kept_verbatim(node: etree._Element) -> bool:
    """Whether libvirt keeps ``node``'s text as written: a <description>, or anything
    in (or being) a <metadata> element."""
    if node.tag in ("description", "metadata"):
        return True
    return any(up.tag == "metadata" for up in node.iterancestors())


def _copy_into_namespace(src: etree._Element, dst: etree._Element, uri: str) -> None:
    """Copy ``src``'s attributes, text and children into ``dst``, moving unqualified
    elements into ``uri`` (virDomainSetMetadata puts the whole subtree in the namespace)."""
    for key, value in src.attrib.items():
        dst.set(key, value)
    dst.text = src.text
    for child in src:
        if not isinstance(child.tag, str):
            dst.append(_retag_copy(child))
            continue
        local = etree.QName(child).localname
        new = etree.SubElement(dst, etree.QName(uri, local))
        _copy_into_namespace(child, new, uri)
        new.tail = child.tail


def _retag_copy(node: etree._Element) -> etree._Element:
    import copy as _copy
    return _copy.deepcopy(node)


__all__ = ["DomainDef", "DomainOS", "Features", "CPU", "CPUFeature", "Clock", "ClockTimer",
           "MemoryProperty", "parse_uuid", "scale_to_bytes", "DEVICE_BY_TAG"]

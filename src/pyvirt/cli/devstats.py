"""Per-device and per-CPU views: domblklist, domiflist, domblkstat, domifstat,
vcpuinfo, cpu-stats (virsh's formats)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from pyvirt.cli.command import NUMBER, STRING, Opt, command, domain_opt, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import format_table
from pyvirt.cli.tuning import option_int, typed_value

MONITOR = "monitor"
DOMAIN = "domain"


def _devices(ctl: Ctl, inv: Invocation, tag: str) -> list[ElementTree.Element]:
    dom = ctl.domain(inv)
    flags = ctl.binding.VIR_DOMAIN_XML_INACTIVE if inv.has("inactive") else 0
    try:
        xml = dom.XMLDesc(flags)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(None, err) from err
    return ElementTree.fromstring(xml).findall(f"./devices/{tag}")


def _first_attr(node: ElementTree.Element | None, names: tuple[str, ...]) -> str | None:
    if node is None:
        return None
    for name in names:
        if node.get(name):
            return node.get(name)
    return None


@command("domblklist", MONITOR, "list all domain blocks",
         "Get the summary of block devices for a domain.",
         domain_opt(), flag("inactive", "get inactive rather than running configuration"),
         flag("details", "additionally display the type and device value"))
def cmd_domblklist(ctl: Ctl, inv: Invocation) -> bool:
    rows = []
    for disk in _devices(ctl, inv, "disk"):
        target = disk.find("target")
        if target is None or not target.get("dev"):
            raise CommandFailed("unable to query block list")
        source = disk.find("source")
        if source is not None and source.get("pool"):
            shown = f"{source.get('pool')}/{source.get('volume') or ''}"
        else:
            shown = _first_attr(source, ("file", "dev", "dir", "name")) or "-"
        row = [target.get("dev"), shown]
        if inv.has("details"):
            row = [disk.get("type") or "", disk.get("device") or ""] + row
        rows.append(row)
    header = ["Type", "Device", "Target", "Source"] if inv.has("details") \
        else ["Target", "Source"]
    ctl.print(format_table(header, rows))
    return True


@command("domiflist", MONITOR, "list all domain virtual interfaces",
         "Get the summary of virtual interfaces for a domain.",
         domain_opt(), flag("inactive", "get inactive rather than running configuration"))
def cmd_domiflist(ctl: Ctl, inv: Invocation) -> bool:
    rows = []
    for iface in _devices(ctl, inv, "interface"):
        source = _first_attr(iface.find("source"), ("bridge", "dev", "network", "name", "path"))
        target = iface.find("target")
        model = iface.find("model")
        mac = iface.find("mac")
        rows.append([(target.get("dev") if target is not None else None) or "-",
                     iface.get("type") or "", source or "-",
                     (model.get("type") if model is not None else None) or "-",
                     (mac.get("address") if mac is not None else None) or "-"])
    ctl.print(format_table(["Interface", "Type", "Source", "Model", "MAC"], rows))
    return True


#: (typed parameter, legacy name, --human label), in virsh's order
_BLKSTAT_FIELDS = (
    ("rd_operations", "rd_req", "number of read operations:"),
    ("rd_bytes", "rd_bytes", "number of bytes read:"),
    ("wr_operations", "wr_req", "number of write operations:"),
    ("wr_bytes", "wr_bytes", "number of bytes written:"),
    ("errs", "errs", "error count:"),
    ("flush_operations", None, "number of flush operations:"),
    ("rd_total_times", None, "total duration of reads (ns):"),
    ("wr_total_times", None, "total duration of writes (ns):"),
    ("flush_total_times", None, "total duration of flushes (ns):"),
)


def blkstat_lines(device: str, stats: dict[str, Any], human: bool) -> str:
    """cmdDomblkstat's lines: known fields in order (legacy names), then the rest."""
    out = []
    if human:
        out.append(f"Device: {device}\n")
        device = ""
    left = dict(stats)
    for field, legacy, label in _BLKSTAT_FIELDS:
        if field not in left:
            continue
        value = left.pop(field)
        if isinstance(value, int) and value < 0:
            continue
        name = label if human else (legacy or field)
        out.append(f"{device} {name:<31} {typed_value(value)}\n" if human
                   else f"{device} {name} {typed_value(value)}\n")
    for field, value in left.items():
        out.append(f"{device} {field} {typed_value(value)}\n")
    return "".join(out)


@command("domblkstat", MONITOR, "get device block stats for a domain",
         "Get device block stats for a running domain. See man page or use --human for "
         "explanation of fields",
         domain_opt(), Opt("device", STRING, "block device"),
         flag("human", "print a more human readable output"))
def cmd_domblkstat(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    device = str(inv.get("device") or "")
    failure = f"Failed to get block stats {dom.name()} {device}"
    try:
        stats = dict(dom.blockStatsFlags(device, 0))
    except lv.libvirtError as err:
        if err.get_error_code() != lv.VIR_ERR_NO_SUPPORT:
            raise CommandFailed(failure, err) from err
        try:                    # virsh falls back to the five legacy counters
            legacy = dom.blockStats(device)
        except lv.libvirtError as err2:
            raise CommandFailed(failure, err2) from err2
        stats = dict(zip(("rd_operations", "rd_bytes", "wr_operations", "wr_bytes", "errs"),
                         legacy))
    ctl.print(blkstat_lines(device, stats, inv.has("human")))
    return True


_IFSTAT_FIELDS = ("rx_bytes", "rx_packets", "rx_errs", "rx_drop",
                  "tx_bytes", "tx_packets", "tx_errs", "tx_drop")


@command("domifstat", MONITOR, "get network interface stats for a domain",
         "Get network interface stats for a running domain.",
         domain_opt(),
         Opt("interface", STRING, "interface device specified by name or MAC Address",
             required=True))
def cmd_domifstat(ctl: Ctl, inv: Invocation) -> bool:
    dom = ctl.domain(inv)
    device = str(inv.get("interface"))
    try:
        stats = dom.interfaceStats(device)
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"Failed to get interface stats {dom.name()} {device}",
                            err) from err
    ctl.print("".join(f"{device} {name} {value}\n"
                      for name, value in zip(_IFSTAT_FIELDS, stats) if value >= 0))
    return True


# --- CPUs ----------------------------------------------------------------------------

_VCPU_STATES = {0: "offline", 1: "running", 2: "blocked"}


def cpu_list(cpus: list[bool]) -> str:
    """virBitmapFormat: ``0-3,6``."""
    ranges, start = [], None
    for i, on in enumerate(list(cpus) + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            ranges.append(f"{start}" if start == i - 1 else f"{start}-{i - 1}")
            start = None
    return ",".join(ranges)


def affinity(cpus: list[bool], pretty: bool) -> str:
    if pretty:
        return f"{cpu_list(cpus)} (out of {len(cpus)})"
    return "".join("y" if on else "-" for on in cpus)


@command("vcpuinfo", DOMAIN, "detailed domain vcpu information",
         "Returns basic information about the domain virtual CPUs.",
         domain_opt(), flag("pretty", "return human readable output"))
def cmd_vcpuinfo(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    pretty = inv.has("pretty")
    try:
        info, maps = dom.vcpus()
    except lv.libvirtError:
        info = None
    out = []
    if info is not None:
        for (number, state, cpu_time, cpu), cpumap in zip(info, maps):
            out.append(f"{'VCPU:':<15} {number}\n{'CPU:':<15} {cpu}\n"
                       f"{'State:':<15} {_VCPU_STATES.get(state, 'no state')}\n"
                       f"{'CPU time:':<15} {cpu_time / 1e9:.1f}s\n"
                       f"{'CPU Affinity:':<15} {affinity(cpumap, pretty)}\n\n")
    else:                   # an inactive domain: the pinning from its definition
        try:
            maps = dom.vcpuPinInfo(lv.VIR_DOMAIN_AFFECT_CONFIG)
        except lv.libvirtError as err:
            raise CommandFailed(None, err) from err
        for number, cpumap in enumerate(maps):
            out.append(f"{'VCPU:':<15} {number}\n{'CPU:':<15} N/A\n{'State:':<15} N/A\n"
                       f"{'CPU time':<15} N/A\n"
                       f"{'CPU Affinity:':<15} {affinity(cpumap, pretty)}\n\n")
    ctl.print("".join(out).removesuffix("\n"))
    return True


def _stat_line(field: str, value: Any, total: bool) -> str:
    timed = field in ("cpu_time", "user_time", "system_time") if total \
        else field in ("cpu_time", "vcpu_time")
    if timed and isinstance(value, int) and not isinstance(value, bool):
        return f"\t{field:<12} {value // 10**9:9d}.{value % 10**9:09d} seconds\n"
    return f"\t{field:<12} {typed_value(value)}\n"


@command("cpu-stats", DOMAIN, "show domain cpu statistics",
         "Display per-CPU and total statistics about the domain's CPUs",
         domain_opt(), flag("total", "Show total statistics only"),
         Opt("start", NUMBER, "Show statistics from this CPU"),
         Opt("count", NUMBER, "Number of shown CPUs at most"))
def cmd_cpu_stats(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    show_total = inv.has("total")
    start = option_int(inv, "start")
    count = option_int(inv, "count")
    if start is not None and start < 0:
        raise CommandFailed("Invalid value for start CPU")
    if count is not None and count < 0:
        raise CommandFailed("Invalid value for number of CPUs to show")
    show_per_cpu = start is not None or count is not None
    if not show_total and not show_per_cpu:
        show_total = show_per_cpu = True
    start = start or 0
    failure = f"Failed to retrieve CPU statistics for domain '{dom.name()}'"
    out = []
    if show_per_cpu:
        try:
            per_cpu = dom.getCPUStats(False)
        except lv.libvirtError as err:
            raise CommandFailed(failure, err) from err
        if start >= len(per_cpu):
            raise CommandFailed(f"Start CPU {start} is out of range "
                                f"(min: 0, max: {len(per_cpu) - 1})")
        if count is None or count > len(per_cpu):
            if count is not None:
                out.append(f"Only {len(per_cpu)} CPUs available to show\n")
            count = len(per_cpu) - start
        for index in range(start, min(start + count, len(per_cpu))):
            stats = per_cpu[index]
            if not stats:
                continue
            out.append(f"CPU{index}:\n")
            out.extend(_stat_line(k, v, False) for k, v in stats.items())
    if show_total:
        try:
            (total,) = dom.getCPUStats(True)
        except lv.libvirtError as err:
            ctl.print("".join(out))
            raise CommandFailed(failure, err) from err
        out.append("Total:\n")
        out.extend(_stat_line(k, v, True) for k, v in total.items())
    ctl.print("".join(out))
    return True

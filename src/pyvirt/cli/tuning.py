"""Domain tuning: schedinfo, memtune, blkiotune (typed parameters, virsh's formats)."""

from __future__ import annotations

import re
from typing import Any

from pyvirt.cli.command import (ARGV, CONFIG_LIVE_CURRENT, NUMBER, STRING, Opt, command,
                                domain_opt, flag)
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.flags import affect_flags
from pyvirt.cli.parser import Invocation
from pyvirt.cli.table import yes_no
from pyvirt.cli.units import SCALES

GRP = "domain"

#: VIR_DOMAIN_MEMORY_PARAM_UNLIMITED: memtune prints it as "unlimited"
MEMORY_PARAM_UNLIMITED = 9007199254740991
_LLONG_MAX = 2**63 - 1

#: Scheduler fields libvirt defines and their virTypedParameterType (the binding
#: hands back plain ints, so ``--set`` needs the type to check a value as virsh does).
SCHEDULER_FIELD_TYPES = {
    "cpu_shares": "ullong", "global_period": "ullong", "global_quota": "llong",
    "vcpu_period": "ullong", "vcpu_quota": "llong", "emulator_period": "ullong",
    "emulator_quota": "llong", "iothread_period": "ullong", "iothread_quota": "llong",
    "weight": "uint", "cap": "uint", "reservation": "llong", "limit": "llong",
    "shares": "int",
}
_TYPE_WORDS = {"int": "int", "uint": "unsigned int", "llong": "long long",
               "ullong": "unsigned long long", "double": "double"}
_INT_RANGES = {"int": (-2**31, 2**31 - 1), "uint": (0, 2**32 - 1),
               "llong": (-2**63, 2**63 - 1), "ullong": (0, 2**64 - 1)}


def typed_value(value: Any) -> str:
    """vshGetTypedParamValue: how virsh prints one typed parameter's value."""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, float):
        return f"{value:f}"
    return str(value)


def param_lines(params: dict[str, Any], unlimited: bool = False) -> str:
    """``field          : value`` lines (``%-15s: %s``)."""
    out = []
    for name, value in params.items():
        shown = "unlimited" if unlimited and value == MEMORY_PARAM_UNLIMITED \
            and not isinstance(value, bool) else typed_value(value)
        out.append(f"{name:<15}: {shown}\n")
    return "".join(out)


class _Message(Exception):
    """A client-side libvirt error text (virTypedParams* checks), printed as is."""

    def get_error_message(self) -> str:
        return str(self)


# --- schedinfo -----------------------------------------------------------------------

def parse_scheduler_value(field: str, kind: str, text: str) -> Any:
    """virTypedParamsAddFromString for one field of type ``kind``."""
    if kind == "string":
        return text
    if kind == "boolean":
        if text.lower() == "true" or text == "1":
            return True
        if text.lower() == "false" or text == "0":
            return False
        raise ValueError(f"Invalid boolean value for field '{field}'")
    problem = f"Invalid value for field '{field}': expected {_TYPE_WORDS.get(kind, kind)}"
    if kind == "double":
        try:
            return float(text)
        except ValueError:
            raise ValueError(problem) from None
    if not re.fullmatch(r"\s*[+-]?\d+", text):
        raise ValueError(problem)
    number = int(text)
    low, high = _INT_RANGES[kind]
    if kind in ("uint", "ullong") and number < 0 and number >= -high:
        number += high + 1                      # strtoul wraps "-1" like C does
    if not low <= number <= high:
        raise ValueError(problem)
    return number


def _field_kind(name: str, current: Any) -> str:
    if isinstance(current, bool):
        return "boolean"
    if isinstance(current, float):
        return "double"
    if isinstance(current, str):
        return "string"
    return SCHEDULER_FIELD_TYPES.get(name, "llong" if current < 0 else "ullong")


def scheduler_updates(inv: Invocation, params: dict[str, Any]) -> dict[str, Any]:
    """cmdSchedInfoUpdate: ``--set name=value`` operands, then --cap, then --weight."""
    wanted: list[tuple[str, str]] = []
    for item in inv.get("set") or []:
        name, sep, value = str(item).partition("=")
        if not sep:
            raise CommandFailed("Invalid syntax for --set, expecting name=value")
        wanted.append((name, value))
    for option in ("cap", "weight"):
        if inv.has(option):
            wanted.append((option, str(inv.get(option))))
    updates: dict[str, Any] = {}
    for name, text in wanted:
        if name not in params:
            raise CommandFailed(f"invalid scheduler option: {name}")
        if name in updates:
            raise CommandFailed(None, _Message(
                f"invalid argument: parameter '{name}' occurs multiple times"))
        try:
            updates[name] = parse_scheduler_value(name, _field_kind(name, params[name]), text)
        except ValueError as err:
            raise CommandFailed(None, _Message(f"invalid argument: {err}")) from None
    return updates


@command("schedinfo", GRP, "show/set scheduler parameters", "Show/Set scheduler parameters.",
         domain_opt(),
         Opt("weight", NUMBER, "weight for XEN_CREDIT", positional=False),
         Opt("cap", NUMBER, "cap for XEN_CREDIT", positional=False),
         flag("current", "get/set current scheduler info"),
         flag("config", "get/set value to be used on next boot"),
         flag("live", "get/set value from running domain"),
         Opt("set", ARGV, "parameter=value", shown_named=True))
def cmd_schedinfo(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    flags = affect_flags(ctl, inv)
    by_flags = bool(flags) or inv.has("current")
    query_flags = 0 if inv.has("live") and inv.has("config") else flags
    dom = ctl.domain(inv)
    try:
        sched_type, nparams = dom.schedulerType()
    except lv.libvirtError as err:
        raise CommandFailed("Failed to get scheduler type", err) from err
    ctl.print(f"{'Scheduler':<15}: {sched_type}\n")
    if not nparams:
        return True

    def query() -> dict[str, Any]:
        try:
            if by_flags:
                return dict(dom.schedulerParametersFlags(query_flags))
            return dict(dom.schedulerParameters())
        except lv.libvirtError as err:
            raise CommandFailed(None, err) from err

    params = query()
    updates = scheduler_updates(inv, params)
    if updates:
        try:
            if by_flags:
                dom.setSchedulerParametersFlags(updates, flags)
            else:
                dom.setSchedulerParameters(updates)
        except (lv.libvirtError, LookupError) as err:
            raise CommandFailed(None, err) from err
        params = query()
    elif inv.has("live") and inv.has("config"):
        raise CommandFailed("cannot query both live and config at once")
    ctl.print(param_lines(params))
    return True


# --- memtune -------------------------------------------------------------------------

def memtune_size(text: str) -> int:
    """vshMemtuneGetSize: KiB from a scaled integer (default KiB); negative = unlimited."""
    match = re.fullmatch(r"\s*([+-]?\d+)(.*)", text or "")
    if match is None:
        raise ValueError(text)
    number = int(match.group(1))
    if number < 0:
        return MEMORY_PARAM_UNLIMITED
    suffix = match.group(2).lower()
    scale = 1024 if suffix == "" else SCALES.get(suffix)
    if scale is None or number * scale > _LLONG_MAX:
        raise ValueError(text)
    return -(-number * scale // 1024)


_MEMTUNE_FIELDS = (("hard-limit", "hard_limit"), ("soft-limit", "soft_limit"),
                   ("swap-hard-limit", "swap_hard_limit"),
                   ("min-guarantee", "min_guarantee"))


@command("memtune", GRP, "Get or set memory parameters",
         "Get or set the current memory parameters for a guest domain.\n"
         "    To get the memory parameters use following command: \n\n"
         "    virsh # memtune <domain>",
         domain_opt(),
         Opt("hard-limit", NUMBER, "Max memory, as scaled integer (default KiB)"),
         Opt("soft-limit", NUMBER, "Memory during contention, as scaled integer (default KiB)"),
         Opt("swap-hard-limit", NUMBER, "Max memory plus swap, as scaled integer (default KiB)"),
         Opt("min-guarantee", NUMBER, "Min guaranteed memory, as scaled integer (default KiB)"),
         *CONFIG_LIVE_CURRENT)
def cmd_memtune(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    flags = affect_flags(ctl, inv)
    dom = ctl.domain(inv)
    updates: dict[str, int] = {}
    for option, name in _MEMTUNE_FIELDS:
        if inv.has(option):
            try:
                updates[name] = memtune_size(str(inv.get(option)))
            except ValueError:
                raise CommandFailed(f"Unable to parse integer parameter {option}") from None
    if updates:
        try:
            dom.setMemoryParameters(updates, flags)
        except (lv.libvirtError, LookupError) as err:   # the binding checks field names
            raise CommandFailed("Unable to change memory parameters", err) from err
        return True
    params = _get_params(ctl, dom.memoryParameters, flags, "memory")
    ctl.print(param_lines(params, unlimited=True))
    return True


def _get_params(ctl: Ctl, getter: Any, flags: int, what: str) -> dict[str, Any]:
    """virsh asks for the count first: its failure reads "Unable to get number of ..."."""
    try:
        return dict(getter(flags))
    except ctl.binding.libvirtError as err:
        raise CommandFailed(f"Unable to get number of {what} parameters", err) from err


# --- blkiotune -----------------------------------------------------------------------

_BLKIO_DEVICE_FIELDS = (("device-weights", "device_weight"),
                        ("device-read-iops-sec", "device_read_iops_sec"),
                        ("device-write-iops-sec", "device_write_iops_sec"),
                        ("device-read-bytes-sec", "device_read_bytes_sec"),
                        ("device-write-bytes-sec", "device_write_bytes_sec"))


def option_int(inv: Invocation, option: str) -> int | None:
    """vshCommandOptInt: a C int or virsh's "malformed or out of range" error."""
    if not inv.has(option):
        return None
    text = str(inv.get(option))
    if re.fullmatch(r"[+-]?\d+", text) and -2**31 <= int(text) < 2**31:
        return int(text)
    raise CommandFailed(f"Numeric value '{text}' for <{option}> option is malformed "
                        "or out of range")


@command("blkiotune", GRP, "Get or set blkio parameters",
         "Get or set the current blkio parameters for a guest domain.\n"
         "    To get the blkio parameters use following command: \n\n"
         "    virsh # blkiotune <domain>",
         domain_opt(),
         Opt("weight", NUMBER, "IO Weight"),
         Opt("device-weights", STRING,
             "per-device IO Weights, in the form of /path/to/device,weight,..."),
         Opt("device-read-iops-sec", STRING, "per-device read I/O limit per second, in the "
             "form of /path/to/device,read_iops_sec,..."),
         Opt("device-write-iops-sec", STRING, "per-device write I/O limit per second, in the "
             "form of /path/to/device,write_iops_sec,..."),
         Opt("device-read-bytes-sec", STRING, "per-device bytes read per second, in the form "
             "of /path/to/device,read_bytes_sec,..."),
         Opt("device-write-bytes-sec", STRING, "per-device bytes wrote per second, in the "
             "form of /path/to/device,write_bytes_sec,..."),
         *CONFIG_LIVE_CURRENT)
def cmd_blkiotune(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    flags = affect_flags(ctl, inv)
    dom = ctl.domain(inv)
    updates: dict[str, Any] = {}
    weight = option_int(inv, "weight")
    if weight is not None:
        if weight <= 0:
            raise CommandFailed(f"Invalid value of {weight} for I/O weight")
        updates["weight"] = weight
    for option, name in _BLKIO_DEVICE_FIELDS:
        if inv.has(option):
            updates[name] = str(inv.get(option))
    if updates:
        try:
            dom.setBlkioParameters(updates, flags)
        except (lv.libvirtError, LookupError) as err:
            raise CommandFailed("Unable to change blkio parameters", err) from err
        return True
    params = _get_params(ctl, dom.blkioParameters, flags, "blkio")
    ctl.print(param_lines(params))
    return True

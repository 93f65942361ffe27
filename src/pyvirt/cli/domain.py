"""Domain Management: identity, XML, define/undefine, lifecycle, resources, devices."""

from __future__ import annotations

import re

from pyvirt.cli.command import (CONFIG_LIVE_CURRENT, DATA, NUMBER, STRING, Opt, command,
                                domain_opt, flag)
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.files import read_file
from pyvirt.cli.flags import affect_flags, device_affect_flags, option_flags
from pyvirt.cli.objcmd import set_autostart
from pyvirt.cli.parser import Invocation
from pyvirt.cli.units import SCALES
from pyvirt.cli.xpath import XPATH_OPTS, select_opts

GRP = "domain"


# --- identity ---------------------------------------------------------------------

@command("domid", GRP, "convert a domain name or UUID to domain id", "",
         domain_opt("domain name or uuid"))
def cmd_domid(ctl: Ctl, inv: Invocation) -> bool:
    dom = ctl.domain(inv)
    ctl.print("-\n" if dom.ID() < 0 else f"{dom.ID()}\n")
    return True


@command("domname", GRP, "convert a domain id or UUID to domain name", "",
         domain_opt("domain id or uuid"))
def cmd_domname(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(f"{ctl.domain(inv).name()}\n")
    return True


@command("domuuid", GRP, "convert a domain name or id to domain UUID", "",
         domain_opt("domain id or name"))
def cmd_domuuid(ctl: Ctl, inv: Invocation) -> bool:
    ctl.print(f"{ctl.domain(inv).UUIDString()}\n")
    return True


# --- XML ------------------------------------------------------------------------------

@command("dumpxml", GRP, "domain information in XML",
         "Output the domain information as an XML dump to stdout.",
         domain_opt(),
         flag("inactive", "show inactive defined XML"),
         flag("security-info", "include security sensitive information in XML dump"),
         flag("update-cpu", "update guest CPU according to host CPU"),
         flag("migratable", "provide XML suitable for migrations"),
         *XPATH_OPTS)
def cmd_dumpxml(ctl: Ctl, inv: Invocation) -> bool:
    flags = option_flags(ctl, inv, "VIR_DOMAIN_XML_",
                         (("inactive", "INACTIVE"), ("security-info", "SECURE"),
                          ("update-cpu", "UPDATE_CPU"), ("migratable", "MIGRATABLE")))
    dom = ctl.domain(inv)
    xml = ctl.call(None, dom.XMLDesc, flags)
    ctl.print(select_opts(xml, inv))
    return True


@command("define", GRP, "define (but don't start) a domain from an XML file",
         "Define a domain.",
         Opt("file", DATA, "file containing an XML domain description", required=True),
         flag("validate", "validate the XML against the schema"))
def cmd_define(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    path = inv.get("file")
    xml = read_file(path)
    flags = lv.VIR_DOMAIN_DEFINE_VALIDATE if inv.has("validate") else 0
    failure = f"Failed to define domain from {path}"
    if flags:
        dom = ctl.call(failure, ctl.conn.defineXMLFlags, xml, flags)
    else:
        dom = ctl.call(failure, ctl.conn.defineXML, xml)
    ctl.print_extra(f"Domain '{dom.name()}' defined from {path}\n")
    return True


@command("undefine", GRP, "undefine a domain",
         "Undefine an inactive domain, or convert persistent to transient.",
         domain_opt(),
         flag("managed-save", "remove domain managed state file"),
         Opt("storage", STRING, "remove associated storage volumes (comma separated list of "
             "targets or source paths) (see domblklist)"),
         flag("remove-all-storage", "remove all associated storage volumes (use with caution)"),
         flag("delete-storage-volume-snapshots", "delete snapshots associated with volume(s), "
              "requires --remove-all-storage (must be supported by storage driver)"),
         flag("wipe-storage", "wipe data on the removed volumes"),
         flag("snapshots-metadata", "remove all domain snapshot metadata (vm must be inactive)"),
         flag("checkpoints-metadata",
              "remove all domain checkpoint metadata (vm must be inactive)"),
         flag("nvram", "remove nvram file"),
         flag("keep-nvram", "keep nvram file"),
         flag("tpm", "remove TPM state"),
         flag("keep-tpm", "keep TPM state"))
def cmd_undefine(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    name = dom.name()
    volumes = []
    if inv.has("storage") or inv.has("remove-all-storage"):
        if dom.isActive():
            raise CommandFailed("Storage volume deletion is supported only on stopped domains")
        volumes = _storage_to_remove(ctl, inv, dom)
    flags = option_flags(ctl, inv, "VIR_DOMAIN_UNDEFINE_",
                         (("managed-save", "MANAGED_SAVE"),
                          ("snapshots-metadata", "SNAPSHOTS_METADATA"),
                          ("checkpoints-metadata", "CHECKPOINTS_METADATA"),
                          ("nvram", "NVRAM"), ("keep-nvram", "KEEP_NVRAM"),
                          ("tpm", "TPM"), ("keep-tpm", "KEEP_TPM")))
    failure = f"Failed to undefine domain '{name}'"
    if flags:
        ctl.call(failure, dom.undefineFlags, flags)
    else:
        ctl.call(failure, dom.undefine)
    ctl.print_extra(f"Domain '{name}' has been undefined\n")
    ok = True
    for target, path, vol in volumes:
        try:
            if inv.has("wipe-storage"):
                vol.wipe(0)
            vol.delete(lv.VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS
                       if inv.has("delete-storage-volume-snapshots") else 0)
        except lv.libvirtError as err:
            ctl.error(f"Failed to remove storage volume '{target}'({path})")
            ctl.error(err.get_error_message())
            ok = False
            continue
        ctl.print_extra(f"Volume '{target}'({path}) removed.\n")
    return ok


def _storage_to_remove(ctl: Ctl, inv: Invocation, dom) -> list:
    """(target, source path, volume) for --storage / --remove-all-storage; disks
    whose volume libvirt does not manage are reported and skipped, like virsh."""
    from xml.etree import ElementTree
    lv = ctl.binding
    root = ElementTree.fromstring(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE))
    disks = []
    for disk in root.iterfind("devices/disk"):
        target = disk.find("target")
        source = disk.find("source")
        path = None
        if source is not None:
            path = source.get("file") or source.get("dev") or source.get("dir")
        disks.append((target.get("dev") if target is not None else "", path))
    if inv.has("remove-all-storage"):
        chosen = [d for d in disks if d[1]]
    else:
        chosen = []
        for wanted in inv.get("storage").split(","):
            match = [d for d in disks if wanted in (d[0], d[1])]
            if not match:
                raise CommandFailed(f"Volume '{wanted}' was not found in domain's definition.\n")
            chosen.extend(m for m in match if m[1])
    result = []
    for target, path in chosen:
        try:
            result.append((target, path, ctl.conn.storageVolLookupByPath(path)))
        except lv.libvirtError:
            ctl.error(f"Storage volume '{target}'({path}) is not managed by libvirt. "
                      "Remove it manually.\n")
    return result


# --- lifecycle ---------------------------------------------------------------------------

@command("create", GRP, "create a domain from an XML file", "Create a domain.",
         Opt("file", DATA, "file containing an XML domain description", required=True),
         flag("console", "attach to console after creation"),
         flag("paused", "leave the guest paused after creation"),
         flag("autodestroy", "automatically destroy the guest when virsh disconnects"),
         Opt("pass-fds", STRING, "pass file descriptors N,M,... to the guest"),
         flag("validate", "validate the XML against the schema"),
         flag("reset-nvram", "re-initialize NVRAM from its pristine template"))
def cmd_create(ctl: Ctl, inv: Invocation) -> bool:
    path = inv.get("file")
    xml = read_file(path)
    flags = option_flags(ctl, inv, "VIR_DOMAIN_START_",
                         (("paused", "PAUSED"), ("autodestroy", "AUTODESTROY"),
                          ("validate", "VALIDATE"), ("reset-nvram", "RESET_NVRAM")))
    dom = ctl.call(f"Failed to create domain from {path}", ctl.conn.createXML, xml, flags)
    ctl.print_extra(f"Domain '{dom.name()}' created from {path}\n")
    return True


@command("start", GRP, "start a (previously defined) inactive domain",
         "Start a domain, either from the last managedsave\n    state, or via a fresh boot if no "
         "managedsave state\n    is present.",
         domain_opt("name of the inactive domain"),
         flag("console", "attach to console after creation"),
         flag("paused", "leave the guest paused after creation"),
         flag("autodestroy", "automatically destroy the guest when virsh disconnects"),
         flag("bypass-cache", "avoid file system cache when loading"),
         flag("force-boot", "force fresh boot by discarding any managed save"),
         Opt("pass-fds", STRING, "pass file descriptors N,M,... to the guest"),
         flag("reset-nvram", "re-initialize NVRAM from its pristine template"))
def cmd_start(ctl: Ctl, inv: Invocation) -> bool:
    dom = ctl.domain(inv)
    name = dom.name()
    if dom.ID() >= 0:
        raise CommandFailed("Domain is already active")
    flags = option_flags(ctl, inv, "VIR_DOMAIN_START_",
                         (("paused", "PAUSED"), ("autodestroy", "AUTODESTROY"),
                          ("bypass-cache", "BYPASS_CACHE"), ("force-boot", "FORCE_BOOT"),
                          ("reset-nvram", "RESET_NVRAM")))
    failure = f"Failed to start domain '{name}'"
    if flags:
        ctl.call(failure, dom.createWithFlags, flags)
    else:
        ctl.call(failure, dom.create)
    ctl.print_extra(f"Domain '{name}' started\n")
    return True


_SHUTDOWN_MODES = ("acpi", "agent", "initctl", "signal", "paravirt")


def _mode_flags(ctl: Ctl, inv: Invocation, prefix: str, sep: str) -> int:
    flags = 0
    for mode in (inv.get("mode") or "").split(","):
        if not mode:
            continue
        if mode not in _SHUTDOWN_MODES:
            raise CommandFailed(f"Unknown mode {mode} value, expecting 'acpi', 'agent', "
                                f"'initctl', 'signal'{sep} or 'paravirt'")
        flags |= getattr(ctl.binding, f"{prefix}{mode.upper()}")
    return flags


@command("shutdown", GRP, "gracefully shutdown a domain", "Run shutdown in the target domain.",
         domain_opt(),
         Opt("mode", STRING, "shutdown mode: acpi|agent|initctl|signal|paravirt"))
def cmd_shutdown(ctl: Ctl, inv: Invocation) -> bool:
    flags = _mode_flags(ctl, inv, "VIR_DOMAIN_SHUTDOWN_", ",")
    dom = ctl.domain(inv)
    failure = f"Failed to shutdown domain '{dom.name()}'"
    if flags:
        ctl.call(failure, dom.shutdownFlags, flags)
    else:
        ctl.call(failure, dom.shutdown)
    ctl.print_extra(f"Domain '{dom.name()}' is being shutdown\n")
    return True


@command("reboot", GRP, "reboot a domain", "Run a reboot command in the target domain.",
         domain_opt(),
         Opt("mode", STRING, "shutdown mode: acpi|agent|initctl|signal|paravirt"))
def cmd_reboot(ctl: Ctl, inv: Invocation) -> bool:
    flags = _mode_flags(ctl, inv, "VIR_DOMAIN_REBOOT_", "")
    dom = ctl.domain(inv)
    ctl.call(f"Failed to reboot domain '{dom.name()}'", dom.reboot, flags)
    ctl.print_extra(f"Domain '{dom.name()}' is being rebooted\n")
    return True


def _simple(name: str, help: str, description: str, method: str, verb_fail: str,
            done: str, dom_help: str = "domain name, id or uuid", *extra: Opt) -> None:
    """Declare a command that looks a domain up and calls one method."""
    def handler(ctl: Ctl, inv: Invocation) -> bool:
        dom = ctl.domain(inv)
        flags = 0
        if inv.has("graceful"):
            flags |= ctl.binding.VIR_DOMAIN_DESTROY_GRACEFUL
        if inv.has("remove-logs"):
            flags |= ctl.binding.VIR_DOMAIN_DESTROY_REMOVE_LOGS
        failure = f"Failed to {verb_fail} domain '{dom.name()}'"
        if flags:
            ctl.call(failure, dom.destroyFlags, flags)
        elif method == "reset":
            ctl.call(failure, dom.reset, 0)
        else:
            ctl.call(failure, getattr(dom, method))
        ctl.print_extra(f"Domain '{dom.name()}' {done}\n")
        return True
    command(name, GRP, help, description, domain_opt(dom_help), *extra)(handler)


_simple("destroy", "destroy (stop) a domain",
        "Forcefully stop a given domain, but leave its resources intact.",
        "destroy", "destroy", "destroyed", "domain name, id or uuid",
        flag("graceful", "terminate gracefully"),
        flag("remove-logs", "remove domain logs"))
_simple("reset", "reset a domain", "Reset the target domain as if by power button",
        "reset", "reset", "was reset")
_simple("suspend", "suspend a domain", "Suspend a running domain.",
        "suspend", "suspend", "suspended")
_simple("resume", "resume a domain", "Resume a previously suspended domain.",
        "resume", "resume", "resumed")


@command("autostart", GRP, "autostart a domain",
         "Configure a domain to be automatically started at boot.",
         domain_opt(), flag("disable", "disable autostarting"))
def cmd_autostart(ctl: Ctl, inv: Invocation) -> bool:
    dom = ctl.domain(inv)
    return set_autostart(ctl, inv, dom, f"domain '{dom.name()}'", failed="Failed")


# --- resources ---------------------------------------------------------------------------

def scaled_value(text: str, option: str, default_scale: int) -> int:
    """virsh's scaled integer (``1G``, ``512MiB``, ``1024``) in bytes."""
    match = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", text or "")
    scale = None
    if match:
        suffix = match.group(2).lower()
        scale = default_scale if suffix == "" else SCALES.get(suffix)
    if not match or scale is None:
        raise CommandFailed(f"Scaled numeric value '{text}' for <{option}> option is "
                            "malformed or out of range")
    return int(match.group(1)) * scale


def _kib(text: str, option: str) -> int:
    return scaled_value(text, option, 1024) // 1024


@command("setmem", GRP, "change memory allocation",
         "Change the current memory allocation in the guest domain.",
         domain_opt(),
         Opt("size", NUMBER, "new memory size, as scaled integer (default KiB)", required=True),
         *CONFIG_LIVE_CURRENT)
def cmd_setmem(ctl: Ctl, inv: Invocation) -> bool:
    flags = affect_flags(ctl, inv)
    dom = ctl.domain(inv)
    kib = _kib(inv.get("size"), "size")
    if flags or inv.has("current"):
        ctl.call(None, dom.setMemoryFlags, kib, flags)
    else:
        ctl.call(None, dom.setMemory, kib)
    return True


@command("setmaxmem", GRP, "change maximum memory limit",
         "Change the maximum memory allocation limit in the guest domain.",
         domain_opt(),
         Opt("size", NUMBER, "new maximum memory size, as scaled integer (default KiB)",
             required=True),
         *CONFIG_LIVE_CURRENT)
def cmd_setmaxmem(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    flags = affect_flags(ctl, inv) | lv.VIR_DOMAIN_MEM_MAXIMUM
    dom = ctl.domain(inv)
    kib = _kib(inv.get("size"), "size")
    if flags == lv.VIR_DOMAIN_MEM_MAXIMUM and not inv.has("current"):
        ctl.call("Unable to change MaxMemorySize", dom.setMaxMemory, kib)
    else:
        ctl.call("Unable to change MaxMemorySize", dom.setMemoryFlags, kib, flags)
    return True


@command("setvcpus", GRP, "change number of virtual CPUs",
         "Change the number of virtual CPUs in the guest domain.",
         domain_opt(),
         Opt("count", NUMBER, "number of virtual CPUs", required=True),
         flag("maximum", "set maximum limit on next boot"),
         *CONFIG_LIVE_CURRENT,
         flag("guest", "modify cpu state in the guest"),
         flag("hotpluggable", "make added vcpus hot(un)pluggable"))
def cmd_setvcpus(ctl: Ctl, inv: Invocation) -> bool:
    flags = affect_flags(ctl, inv, "VIR_DOMAIN_VCPU_") | option_flags(
        ctl, inv, "VIR_DOMAIN_VCPU_",
        (("maximum", "MAXIMUM"), ("guest", "GUEST"), ("hotpluggable", "HOTPLUGGABLE")))
    dom = ctl.domain(inv)
    text = inv.get("count")
    if not re.fullmatch(r"\d+", text) or int(text) > 2**31 - 1:
        raise CommandFailed(f"Numeric value '{text}' for <count> option is malformed or "
                            "out of range")
    count = int(text)
    if count == 0:
        raise CommandFailed("Invalid value '0' for number of vCPUs")
    if flags or inv.has("current"):
        ctl.call(None, dom.setVcpusFlags, count, flags)
    else:
        ctl.call(None, dom.setVcpus, count)
    return True


# --- devices -------------------------------------------------------------------------------

def _device(verb: str, done: str, method: str, method_flags: str) -> None:
    def handler(ctl: Ctl, inv: Invocation) -> bool:
        if inv.has("current"):
            for other in ("live", "config", "persistent"):
                if inv.has(other):
                    raise CommandFailed(f"Options --current and --{other} are mutually "
                                        "exclusive")
        dom = ctl.domain(inv)
        path = inv.get("file")
        xml = read_file(path)
        flags, explicit = device_affect_flags(ctl, inv, dom)
        failure = f"Failed to {verb} device from {path}"
        if explicit:
            ctl.call(failure, getattr(dom, method_flags), xml, flags)
        else:
            ctl.call(failure, getattr(dom, method), xml)
        ctl.print_extra(f"Device {done} successfully\n")
        return True
    return handler


command("attach-device", GRP, "attach device from an XML file",
        "Attach device from an XML <file>.",
        domain_opt(),
        Opt("file", DATA, "XML file", required=True),
        flag("persistent", "make live change persistent"),
        *CONFIG_LIVE_CURRENT)(_device("attach", "attached", "attachDevice",
                                      "attachDeviceFlags"))
command("detach-device", GRP, "detach device from an XML file",
        "Detach device from an XML <file>",
        domain_opt(),
        Opt("file", DATA, "XML file", required=True),
        flag("persistent", "make live change persistent"),
        *CONFIG_LIVE_CURRENT)(_device("detach", "detached", "detachDevice",
                                      "detachDeviceFlags"))


# --- saving ------------------------------------------------------------------------------

_SAVE_FLAGS = (("bypass-cache", "BYPASS_CACHE"), ("running", "RUNNING"), ("paused", "PAUSED"))


def _save_flags(ctl: Ctl, inv: Invocation) -> int:
    if inv.has("running") and inv.has("paused"):
        raise CommandFailed("Options --running and --paused are mutually exclusive")
    return option_flags(ctl, inv, "VIR_DOMAIN_SAVE_", _SAVE_FLAGS)


@command("managedsave", GRP, "managed save of a domain state",
         "Save and destroy a running domain, so it can be restarted from\n"
         "    the same state at a later time.  When the virsh 'start'\n"
         "    command is next run for the domain, it will automatically\n"
         "    be started from this saved state.",
         domain_opt(),
         flag("bypass-cache", "avoid file system cache when saving"),
         flag("running", "set domain to be running on next start"),
         flag("paused", "set domain to be paused on next start"),
         flag("verbose", "display the progress of save"))
def cmd_managedsave(ctl: Ctl, inv: Invocation) -> bool:
    flags = _save_flags(ctl, inv)
    dom = ctl.domain(inv)
    name = dom.name()
    ctl.call(f"Failed to save domain '{name}' state", dom.managedSave, flags)
    ctl.print_extra(f"\nDomain '{name}' state saved by libvirt\n")
    return True


@command("save", GRP, "save a domain state to a file",
         "Save the RAM state of a running domain.",
         domain_opt(),
         Opt("file", DATA, "where to save the data", required=True),
         flag("bypass-cache", "avoid file system cache when saving"),
         Opt("xml", STRING, "filename containing updated XML for the target"),
         flag("running", "set domain to be running on restore"),
         flag("paused", "set domain to be paused on restore"),
         flag("verbose", "display the progress of save"))
def cmd_save(ctl: Ctl, inv: Invocation) -> bool:
    flags = _save_flags(ctl, inv)
    dom = ctl.domain(inv)
    name, path = dom.name(), inv.get("file")
    xml = read_file(inv.get("xml")) if inv.has("xml") else None
    failure = f"Failed to save domain '{name}' to {path}"
    if flags or xml is not None:
        ctl.call(failure, dom.saveFlags, path, xml, flags)
    else:
        ctl.call(failure, dom.save, path)
    ctl.print_extra(f"\nDomain '{name}' saved to {path}\n")
    return True


@command("restore", GRP, "restore a domain from a saved state in a file",
         "Restore a domain.",
         Opt("file", DATA, "the state to restore", required=True),
         flag("bypass-cache", "avoid file system cache when restoring"),
         Opt("xml", STRING, "filename containing updated XML for the target"),
         flag("running", "restore domain into running state"),
         flag("paused", "restore domain into paused state"),
         flag("reset-nvram", "re-initialize NVRAM from its pristine template"))
def cmd_restore(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    flags = _save_flags(ctl, inv)
    if inv.has("reset-nvram"):
        flags |= lv.VIR_DOMAIN_SAVE_RESET_NVRAM
    path = inv.get("file")
    xml = read_file(inv.get("xml")) if inv.has("xml") else None
    failure = f"Failed to restore domain from {path}"
    if flags or xml is not None:
        ctl.call(failure, ctl.conn.restoreFlags, path, xml, flags)
    else:
        ctl.call(failure, ctl.conn.restore, path)
    ctl.print_extra(f"Domain restored from {path}\n")
    return True

"""The one exception pyvirt raises at its edges, with libvirt's numbers.

Tree::

    Exception
     └── libvirtError            every failure a caller can see: code + domain + message
          (raised through ``error()``, which formats libvirt's message for the code)

Every layer (``conf``, drivers, ``rpc``, ``api``) raises ``libvirtError`` through
:func:`error`, so a script written for libvirt-python catches the same class and
reads the same ``get_error_code()`` / ``get_error_domain()`` values.
This module is deliberately low in the import graph: it imports nothing of pyvirt.
"""

from __future__ import annotations

from typing import Any

# --- virErrorLevel -------------------------------------------------------------
VIR_ERR_NONE = 0
VIR_ERR_WARNING = 1
VIR_ERR_ERROR = 2

# --- virErrorNumber (libvirt's numbering; do not renumber) ---------------------
_CODES = """
OK INTERNAL_ERROR NO_MEMORY NO_SUPPORT UNKNOWN_HOST NO_CONNECT INVALID_CONN
INVALID_DOMAIN INVALID_ARG OPERATION_FAILED GET_FAILED POST_FAILED HTTP_ERROR
SEXPR_SERIAL NO_XEN XEN_CALL OS_TYPE NO_KERNEL NO_ROOT NO_SOURCE NO_TARGET NO_NAME
NO_OS NO_DEVICE NO_XENSTORE DRIVER_FULL CALL_FAILED XML_ERROR DOM_EXIST
OPERATION_DENIED OPEN_FAILED READ_FAILED PARSE_FAILED CONF_SYNTAX WRITE_FAILED
XML_DETAIL INVALID_NETWORK NETWORK_EXIST SYSTEM_ERROR RPC GNUTLS_ERROR
WAR_NO_NETWORK NO_DOMAIN NO_NETWORK INVALID_MAC AUTH_FAILED INVALID_STORAGE_POOL
INVALID_STORAGE_VOL WAR_NO_STORAGE NO_STORAGE_POOL NO_STORAGE_VOL WAR_NO_NODE
INVALID_NODE_DEVICE NO_NODE_DEVICE NO_SECURITY_MODEL OPERATION_INVALID
WAR_NO_INTERFACE NO_INTERFACE INVALID_INTERFACE MULTIPLE_INTERFACES
WAR_NO_NWFILTER INVALID_NWFILTER NO_NWFILTER BUILD_FIREWALL WAR_NO_SECRET
INVALID_SECRET NO_SECRET CONFIG_UNSUPPORTED OPERATION_TIMEOUT
MIGRATE_PERSIST_FAILED HOOK_SCRIPT_FAILED INVALID_DOMAIN_SNAPSHOT
NO_DOMAIN_SNAPSHOT INVALID_STREAM ARGUMENT_UNSUPPORTED STORAGE_PROBE_FAILED
STORAGE_POOL_BUILT SNAPSHOT_REVERT_RISKY OPERATION_ABORTED AUTH_CANCELLED
NO_DOMAIN_METADATA MIGRATE_UNSAFE OVERFLOW BLOCK_COPY_ACTIVE
OPERATION_UNSUPPORTED SSH AGENT_UNRESPONSIVE RESOURCE_BUSY ACCESS_DENIED
DBUS_SERVICE STORAGE_VOL_EXIST CPU_INCOMPATIBLE XML_INVALID_SCHEMA
MIGRATE_FINISH_OK AUTH_UNAVAILABLE NO_SERVER NO_CLIENT AGENT_UNSYNCED LIBSSH
DEVICE_MISSING INVALID_NWFILTER_BINDING NO_NWFILTER_BINDING
INVALID_DOMAIN_CHECKPOINT NO_DOMAIN_CHECKPOINT NO_DOMAIN_BACKUP
INVALID_NETWORK_PORT NETWORK_PORT_EXIST NO_NETWORK_PORT NO_HOSTNAME
CHECKPOINT_INCONSISTENT MULTIPLE_DOMAINS NO_NETWORK_METADATA
""".split()

# --- virErrorDomain ------------------------------------------------------------
_DOMAINS = """
NONE XEN XEND XENSTORE SEXPR XML DOM RPC PROXY CONF QEMU NET TEST REMOTE OPENVZ
XENXM STATS_LINUX LXC STORAGE NETWORK DOMAIN UML NODEDEV XEN_INOTIFY SECURITY
VBOX INTERFACE ONE ESX PHYP SECRET CPU XENAPI NWFILTER HOOK DOMAIN_SNAPSHOT AUDIT
SYSINFO STREAMS VMWARE EVENT LIBXL LOCKING HYPERV CAPABILITIES URI AUTH DBUS
PARALLELS DEVICE SSH LOCKSPACE INITCTL IDENTITY CGROUP ACCESS SYSTEMD BHYVE CRYPTO
FIREWALL POLKIT THREAD ADMIN LOGGING XENXL PERF LIBSSH RESCTRL FIREWALLD
DOMAIN_CHECKPOINT TPM BPF CH
""".split()

ERROR_CODES: dict[str, int] = {f"VIR_ERR_{name}": num for num, name in enumerate(_CODES)}
ERROR_DOMAINS: dict[str, int] = {f"VIR_FROM_{name}": num for num, name in enumerate(_DOMAINS)}
globals().update(ERROR_CODES)
globals().update(ERROR_DOMAINS)

# The text libvirt puts before ": <detail>" for each code (virerror.c's table).
# A code not listed here uses its bare detail.
_PREFIX: dict[int, str] = {
    1: "internal error",
    2: "out of memory",
    3: "this function is not supported by the connection driver",
    5: "no connection driver available",
    6: "invalid connection pointer in",
    7: "invalid domain pointer in",
    8: "invalid argument",
    9: "operation failed",
    17: "missing kernel information",
    19: "missing source information",
    20: "missing target information",
    21: "missing name information",
    22: "missing operating system information",
    23: "missing devices information",
    27: "XML description is invalid or not well formed",
    28: "this domain exists already",
    29: "operation forbidden",
    30: "failed to open",
    31: "failed to read",
    32: "failed to parse",
    33: "configuration file syntax error",
    34: "failed to write",
    35: "XML error",
    36: "invalid network pointer in",
    37: "this network exists already",
    38: "system call error",
    39: "RPC error",
    42: "Domain not found",
    43: "Network not found",
    44: "invalid MAC address",
    45: "authentication failed",
    46: "invalid storage pool pointer in",
    47: "invalid storage volume pointer in",
    49: "Storage pool not found",
    50: "Storage volume not found",
    55: "Requested operation is not valid",
    67: "unsupported configuration",
    68: "Timed out during operation",
    71: "Invalid snapshot",
    72: "Domain snapshot not found",
    73: "invalid stream pointer in",
    74: "argument unsupported",
    75: "Storage pool probe failed",
    76: "Storage pool already built",
    78: "operation aborted",
    80: "metadata not found",
    82: "numerical overflow",
    84: "Operation not supported",
    87: "resource busy",
    88: "access denied",
    90: "storage volume already exists",
    92: "XML document failed to validate against schema",
    99: "device not found",
}


class libvirtError(Exception):  # noqa: N801 - libvirt-python's name
    """libvirt-python's exception: same accessors, same numbers.

    ``err`` is the tuple libvirt-python exposes:
    ``(code, domain, message, level, str1, str2, str3, int1, int2)``.
    """

    def __init__(self, defmsg: str, *, code: int = VIR_ERR_INTERNAL_ERROR,  # noqa: F821
                 domain: int = 0, level: int = VIR_ERR_ERROR,
                 str1: str | None = None, str2: str | None = None,
                 str3: str | None = None, int1: int = 0, int2: int = 0) -> None:
        super().__init__(defmsg)
        self.err: tuple[Any, ...] = (code, domain, defmsg, level, str1, str2, str3, int1, int2)

    def get_error_code(self) -> int:
        return self.err[0]

    def get_error_domain(self) -> int:
        return self.err[1]

    def get_error_message(self) -> str:
        return self.err[2]

    def get_error_level(self) -> int:
        return self.err[3]

    def get_str1(self) -> str | None:
        return self.err[4]

    def get_str2(self) -> str | None:
        return self.err[5]

    def get_str3(self) -> str | None:
        return self.err[6]

    def get_int1(self) -> int:
        return self.err[7]

    def get_int2(self) -> int:
        return self.err[8]


def format_message(code: int, detail: str | None) -> str:
    """libvirt's message for ``code``: its fixed prefix, then ``: detail``."""
    prefix = _PREFIX.get(code)
    if prefix is None:
        return detail or "unknown error"
    return f"{prefix}: {detail}" if detail else prefix


def error(code: int, detail: str | None = None, *, domain: int = 0,
          **extra: Any) -> libvirtError:
    """Build (not raise) a libvirtError with libvirt's formatted message.

    ``raise error(VIR_ERR_NO_DOMAIN, "no domain with matching name 'x'",
    domain=VIR_FROM_TEST)`` gives ``Domain not found: no domain with matching
    name 'x'``, code 42, as libvirt does.
    """
    return libvirtError(format_message(code, detail), code=code, domain=domain, **extra)

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
# libvirt names these codes VIR_WAR_* (warnings); the VIR_ERR_WAR_* spellings
# above are kept for existing callers.
ERROR_WARNINGS: dict[str, int] = {
    name.replace("VIR_ERR_WAR_", "VIR_WAR_"): num
    for name, num in ERROR_CODES.items() if name.startswith("VIR_ERR_WAR_")
}
globals().update(ERROR_CODES)
globals().update(ERROR_DOMAINS)
globals().update(ERROR_WARNINGS)

# virErrorMsg()'s table (virErrorMsgStrings in libvirt 9): for each code, the
# message without a detail and the template with one ("%s" is the detail).
# A code not listed here shows its bare detail.
_MESSAGES: dict[int, tuple[str, str]] = {
    1: ("internal error", "internal error: %s"),
    2: ("out of memory", "out of memory: %s"),
    3: ("this function is not supported by the connection driver",
        "this function is not supported by the connection driver: %s"),
    4: ("unknown host", "unknown host %s"),
    5: ("no connection driver available", "no connection driver available for %s"),
    6: ("invalid connection pointer in", "invalid connection pointer in %s"),
    7: ("invalid domain pointer in", "invalid domain pointer in %s"),
    8: ("invalid argument", "invalid argument: %s"),
    9: ("operation failed", "operation failed: %s"),
    10: ("GET operation failed", "GET operation failed: %s"),
    11: ("POST operation failed", "POST operation failed: %s"),
    12: ("got unknown HTTP error code", "got unknown HTTP error code %s"),
    13: ("failed to serialize S-Expr", "failed to serialize S-Expr: %s"),
    14: ("could not use Xen hypervisor entry", "could not use Xen hypervisor entry %s"),
    15: ("failed Xen syscall", "failed Xen syscall %s"),
    16: ("unknown OS type", "unknown OS type %s"),
    17: ("missing kernel information", "missing kernel information: %s"),
    18: ("missing root device information", "missing root device information in %s"),
    19: ("missing source information for device",
         "missing source information for device %s"),
    20: ("missing target information for device",
         "missing target information for device %s"),
    21: ("missing name information", "missing name information in %s"),
    22: ("missing operating system information",
         "missing operating system information for %s"),
    23: ("missing devices information", "missing devices information for %s"),
    24: ("could not connect to Xen Store", "could not connect to Xen Store %s"),
    25: ("too many drivers registered", "too many drivers registered in %s"),
    26: ("library call failed", "library call failed: %s"),
    27: ("XML description is invalid or not well formed", "XML error: %s"),
    28: ("this domain exists already", "domain %s exists already"),
    29: ("operation forbidden for read only access", "operation forbidden: %s"),
    30: ("failed to open configuration file", "failed to open configuration file %s"),
    31: ("failed to read configuration file", "failed to read configuration file %s"),
    32: ("failed to parse configuration file", "failed to parse configuration file %s"),
    33: ("configuration file syntax error", "configuration file syntax error: %s"),
    34: ("failed to write configuration file", "failed to write configuration file: %s"),
    35: ("parser error", "%s"),
    36: ("invalid network pointer in", "invalid network pointer in %s"),
    37: ("this network exists already", "network %s exists already"),
    38: ("system call error", "%s"),
    39: ("RPC error", "%s"),
    40: ("GNUTLS call error", "%s"),
    41: ("Failed to find the network", "Failed to find the network: %s"),
    42: ("Domain not found", "Domain not found: %s"),
    43: ("Network not found", "Network not found: %s"),
    44: ("invalid MAC address", "invalid MAC address: %s"),
    45: ("authentication failed", "authentication failed: %s"),
    46: ("invalid storage pool pointer in", "invalid storage pool pointer in %s"),
    47: ("invalid storage volume pointer in", "invalid storage volume pointer in %s"),
    48: ("Failed to find a storage driver", "Failed to find a storage driver: %s"),
    49: ("Storage pool not found", "Storage pool not found: %s"),
    50: ("Storage volume not found", "Storage volume not found: %s"),
    51: ("Failed to find a node driver", "Failed to find a node driver: %s"),
    52: ("invalid node device pointer", "invalid node device pointer in %s"),
    53: ("Node device not found", "Node device not found: %s"),
    54: ("Security model not found", "Security model not found: %s"),
    55: ("Requested operation is not valid", "Requested operation is not valid: %s"),
    56: ("Failed to find the interface", "Failed to find the interface: %s"),
    57: ("Interface not found", "Interface not found: %s"),
    58: ("invalid interface pointer in", "invalid interface pointer in %s"),
    59: ("multiple matching interfaces found", "multiple matching interfaces found: %s"),
    60: ("Failed to start the nwfilter driver", "Failed to start the nwfilter driver: %s"),
    61: ("Invalid network filter", "Invalid network filter: %s"),
    62: ("Network filter not found", "Network filter not found: %s"),
    63: ("Error while building firewall", "Error while building firewall: %s"),
    64: ("Failed to find a secret storage driver",
         "Failed to find a secret storage driver: %s"),
    65: ("Invalid secret", "Invalid secret: %s"),
    66: ("Secret not found", "Secret not found: %s"),
    67: ("unsupported configuration", "unsupported configuration: %s"),
    68: ("Timed out during operation", "Timed out during operation: %s"),
    69: ("Failed to make domain persistent after migration",
         "Failed to make domain persistent after migration: %s"),
    70: ("Hook script execution failed", "Hook script execution failed: %s"),
    71: ("Invalid domain snapshot", "Invalid domain snapshot: %s"),
    72: ("Domain snapshot not found", "Domain snapshot not found: %s"),
    73: ("invalid stream pointer", "invalid stream pointer in %s"),
    74: ("argument unsupported", "argument unsupported: %s"),
    75: ("Storage pool probe failed", "Storage pool probe failed: %s"),
    76: ("Storage pool already built", "Storage pool already built: %s"),
    77: ("revert requires force", "revert requires force: %s"),
    78: ("operation aborted", "operation aborted: %s"),
    79: ("authentication cancelled", "authentication cancelled: %s"),
    80: ("metadata not found", "metadata not found: %s"),
    81: ("Unsafe migration", "Unsafe migration: %s"),
    82: ("numerical overflow", "numerical overflow: %s"),
    83: ("block copy still active", "block copy still active: %s"),
    84: ("Operation not supported", "Operation not supported: %s"),
    85: ("SSH transport error", "SSH transport error: %s"),
    86: ("Guest agent is not responding", "Guest agent is not responding: %s"),
    87: ("resource busy", "resource busy: %s"),
    88: ("access denied", "access denied: %s"),
    89: ("error from service", "error from service: %s"),
    90: ("this storage volume exists already", "storage volume %s exists already"),
    91: ("the CPU is incompatible with host CPU",
         "the CPU is incompatible with host CPU: %s"),
    92: ("XML document failed to validate against schema",
         "XML document failed to validate against schema: %s"),
    93: ("migration successfully aborted", "migration successfully aborted: %s"),
    94: ("authentication unavailable", "authentication unavailable: %s"),
    95: ("Server not found", "Server not found: %s"),
    96: ("Client not found", "Client not found: %s"),
    97: ("guest agent replied with wrong id to guest-sync command",
         "guest agent replied with wrong id to guest-sync command: %s"),
    98: ("libssh transport error", "libssh transport error: %s"),
    99: ("device not found", "device not found: %s"),
    100: ("Invalid network filter binding", "Invalid network filter binding: %s"),
    101: ("Network filter binding not found", "Network filter binding not found: %s"),
    102: ("Invalid domain checkpoint", "Invalid domain checkpoint: %s"),
    103: ("Domain checkpoint not found", "Domain checkpoint not found: %s"),
    104: ("Domain backup job id not found", "Domain backup job id not found: %s"),
    105: ("Invalid network port pointer", "Invalid network port pointer: %s"),
    106: ("this network port exists already", "network port %s exists already"),
    107: ("network port not found", "network port not found: %s"),
    108: ("no hostname found", "no hostname found: %s"),
    109: ("checkpoint inconsistent", "checkpoint inconsistent: %s"),
    110: ("multiple matching domains found", "multiple matching domains found: %s"),
    111: ("metadata not found", "metadata not found: %s"),
}

# Kept for callers of the first skeleton: the message each code shows alone.
_PREFIX: dict[int, str] = {code: bare for code, (bare, _tmpl) in _MESSAGES.items()}

# virErrorDomain's names as libvirt's default error handler prints them
# ("libvirt: Domain Config error : ..."); see :func:`domain_label`.
_DOMAIN_LABELS: dict[int, str] = {
    0: "", 1: "Xen Driver", 2: "Xen Daemon", 3: "Xen Store", 4: "S-Expression",
    5: "XML Util", 6: "Domain", 7: "XML-RPC", 8: "Xen Proxy", 9: "Config File",
    10: "QEMU Driver", 11: "Network", 12: "Test Driver", 13: "Remote",
    14: "OpenVZ", 15: "Xen XM", 16: "Linux Stats", 17: "LXC Driver",
    18: "Storage Driver", 19: "Network Driver", 20: "Domain Config",
    21: "UML Driver", 22: "Node Device Driver", 23: "Xen Inotify",
    24: "Security Labeling", 25: "VBox Driver", 26: "Interface Driver",
    27: "ONE Driver", 28: "ESX Driver", 29: "Phyp Driver", 30: "Secrets Driver",
    31: "CPU Driver", 32: "XenAPI Driver", 33: "Network Filter Driver",
    34: "Sync Hook", 35: "Domain Snapshot", 36: "Audit Utils",
    37: "Sysinfo Driver", 38: "Streams", 39: "VMware Driver", 40: "Event Loop",
    41: "libxenlight Driver", 42: "Lock Driver", 43: "Hyper-V Driver",
    44: "Capabilities Utils", 45: "URI Utils", 46: "Auth Utils", 47: "DBus Utils",
    48: "Parallels Cloud Server", 49: "Device Config", 50: "SSH transport layer",
    51: "Lock Space", 52: "Init control", 53: "Identity", 54: "Cgroup",
    55: "Access Manager", 56: "Systemd", 57: "Bhyve", 58: "Crypto",
    59: "Firewall", 60: "Polkit", 61: "Thread jobs", 62: "Admin Interface",
    63: "Log Manager", 64: "Xen XL Config", 65: "Perf Events",
    66: "libssh transport layer", 67: "Resource control", 68: "FirewallD",
    69: "Domain Checkpoint", 70: "TPM", 71: "BPF", 72: "Cloud-Hypervisor Driver",
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


def message_template(code: int, detail: str | None) -> str:
    """libvirt's template for ``code`` (``str1`` of the error): "%s" marks the detail."""
    bare, template = _MESSAGES.get(code, ("unknown error", "%s"))
    return template if detail else bare


def format_message(code: int, detail: str | None) -> str:
    """libvirt's message for ``code`` with ``detail`` put into its template."""
    if code not in _MESSAGES:
        return detail or "unknown error"
    return message_template(code, detail).replace("%s", detail or "", 1)


def domain_label(domain: int) -> str:
    """The name libvirt prints for an error domain ("Test Driver")."""
    return _DOMAIN_LABELS.get(domain, "")


def error(code: int, detail: str | None = None, *, domain: int = 0,
          **extra: Any) -> libvirtError:
    """Build (not raise) a libvirtError with libvirt's formatted message.

    ``raise error(VIR_ERR_NO_DOMAIN, "no domain with matching name 'x'",
    domain=VIR_FROM_TEST)`` gives ``Domain not found: no domain with matching
    name 'x'``, code 42, as libvirt does. ``str1`` (the template), ``str2``
    (the detail) and ``int1``/``int2`` (-1) are filled as libvirt fills them;
    keyword arguments override them.
    """
    fields: dict[str, Any] = {"str1": message_template(code, detail), "str2": detail,
                              "int1": -1, "int2": -1}
    fields.update(extra)
    return libvirtError(format_message(code, detail), code=code, domain=domain, **fields)

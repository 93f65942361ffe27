"""The remote procedures pyvirtd serves: our transcription of the numbers,
struct layouts and ACL rules of libvirt's ``remote_protocol.x`` (9.0).

Everything else (XDR structs, the dispatch table, read-only checks) is made
from this table; see :mod:`pyvirt.remote.schema` for the notation. A
procedure not declared here is answered ``VIR_ERR_NO_SUPPORT``.
"""

from __future__ import annotations

from pyvirt.remote.schema import (KEEPALIVE_PING, KEEPALIVE_PONG, KEEPALIVE_PROGRAM,
                                  KEEPALIVE_PROTOCOL_VERSION, REMOTE_PROGRAM,
                                  REMOTE_PROTOCOL_VERSION, ProtocolTable)

__all__ = ["TABLE", "REMOTE_PROGRAM", "REMOTE_PROTOCOL_VERSION", "KEEPALIVE_PROGRAM",
           "KEEPALIVE_PROTOCOL_VERSION", "KEEPALIVE_PING", "KEEPALIVE_PONG", "FEATURES"]

TABLE = ProtocolTable()
p = TABLE.proc

#: VIR_DRV_FEATURE_* numbers the daemon answers for CONNECT_SUPPORTS_FEATURE.
FEATURE_TYPED_PARAM_STRING = 9
FEATURE_PROGRAM_KEEPALIVE = 10
FEATURE_REMOTE_EVENT_CALLBACK = 14
FEATURE_REMOTE_CLOSE_CALLBACK = 15
# NETWORK_UPDATE args are passed on in remote_protocol.x's order (command, section);
# without this feature a 9.0 client swaps them for the old daemons that had them swapped.
FEATURE_NETWORK_UPDATE_HAS_CORRECT_ORDER = 16
FEATURES = {FEATURE_TYPED_PARAM_STRING: 1, FEATURE_PROGRAM_KEEPALIVE: 1,
            FEATURE_REMOTE_EVENT_CALLBACK: 1, FEATURE_REMOTE_CLOSE_CALLBACK: 1,
            FEATURE_NETWORK_UPDATE_HAS_CORRECT_ORDER: 1}

# --- connection and handshake ---------------------------------------------------------
p(1, "CONNECT_OPEN", "name:string? flags:uint", None, "connect:getattr", high=True)
p(2, "CONNECT_CLOSE", None, None, "none", high=True)
p(3, "CONNECT_GET_TYPE", None, "type:string", "connect:getattr", high=True)
p(4, "CONNECT_GET_VERSION", None, "hv_ver:uhyper", "connect:getattr", high=True)
p(5, "CONNECT_GET_MAX_VCPUS", "type:string?", "max_vcpus:int", "connect:read", high=True)
p(6, "NODE_GET_INFO", None,
  "model:char[32] memory:uhyper cpus:int mhz:int nodes:int sockets:int cores:int threads:int",
  "connect:read", high=True)
p(7, "CONNECT_GET_CAPABILITIES", None, "capabilities:string", "connect:read")
p(59, "CONNECT_GET_HOSTNAME", None, "hostname:string", "connect:getattr", high=True)
p(60, "CONNECT_SUPPORTS_FEATURE", "feature:int", "supported:int", "connect:getattr", high=True)
p(66, "AUTH_LIST", None, "types:int<AUTH_TYPE_LIST_MAX>", "none", high=True)
# SASL: data is remote_protocol.x's ``char data<REMOTE_AUTH_SASL_DATA_MAX>`` (one word a byte)
p(67, "AUTH_SASL_INIT", None, "mechlist:string", "none", high=True)
p(68, "AUTH_SASL_START", "mech:string nil:int data:char<65536>",
  "complete:int nil:int data:char<65536>", "none", high=True)
p(69, "AUTH_SASL_STEP", "nil:int data:char<65536>", "complete:int nil:int data:char<65536>",
  "none", high=True)
p(101, "NODE_GET_CELLS_FREE_MEMORY", "startCell:int maxcells:int",
  "cells:uhyper<NODE_MAX_CELLS>", "connect:read", high=True)
p(102, "NODE_GET_FREE_MEMORY", None, "freeMem:uhyper", "connect:read", high=True)
p(110, "CONNECT_GET_URI", None, "uri:string", "connect:getattr", high=True)
p(122, "NODE_GET_SECURITY_MODEL", None,
  "model:chars<SECURITY_MODEL_MAX> doi:chars<SECURITY_DOI_MAX>", "connect:read", high=True)
p(149, "CONNECT_IS_SECURE", None, "secure:int", "none", high=True)
p(157, "CONNECT_GET_LIB_VERSION", None, "lib_ver:uhyper", "connect:getattr", high=True)
p(203, "CONNECT_GET_SYSINFO", "flags:uint", "sysinfo:string", "connect:read", high=True)
p(342, "CONNECT_GET_DOMAIN_CAPABILITIES",
  "emulatorbin:string? arch:string? machine:string? virttype:string? flags:uint",
  "capabilities:string", "connect:write")
p(360, "CONNECT_REGISTER_CLOSE_CALLBACK", None, None, "connect:getattr")
p(361, "CONNECT_UNREGISTER_CLOSE_CALLBACK", None, None, "connect:getattr")

# --- domains: lookup and listing --------------------------------------------------------
p(21, "CONNECT_LIST_DEFINED_DOMAINS", "maxnames:int", "names:string<DOMAIN_LIST_MAX>",
  "connect:search_domains", high=True)
p(22, "DOMAIN_LOOKUP_BY_ID", "id:int", "dom:dom", "domain:getattr", high=True)
p(23, "DOMAIN_LOOKUP_BY_NAME", "name:string", "dom:dom", "domain:getattr", high=True)
p(24, "DOMAIN_LOOKUP_BY_UUID", "uuid:uuid", "dom:dom", "domain:getattr", high=True)
p(25, "CONNECT_NUM_OF_DEFINED_DOMAINS", None, "num:int", "connect:search_domains", high=True)
p(37, "CONNECT_LIST_DOMAINS", "maxids:int", "ids:int<DOMAIN_LIST_MAX>",
  "connect:search_domains", high=True)
p(51, "CONNECT_NUM_OF_DOMAINS", None, "num:int", "connect:search_domains", high=True)
p(273, "CONNECT_LIST_ALL_DOMAINS", "need_results:int flags:uint",
  "domains:dom<DOMAIN_LIST_MAX> ret:uint", "connect:search_domains", high=True)

# --- domains: definition and lifecycle ---------------------------------------------------
p(8, "DOMAIN_ATTACH_DEVICE", "dom:dom xml:string", None, "domain:write")
p(9, "DOMAIN_CREATE", "dom:dom", None, "domain:start")
p(10, "DOMAIN_CREATE_XML", "xml_desc:string flags:uint", "dom:dom",
  "domain:write domain:start")
p(11, "DOMAIN_DEFINE_XML", "xml:string", "dom:dom", "domain:write domain:save", high=True)
p(12, "DOMAIN_DESTROY", "dom:dom", None, "domain:stop", high=True)
p(13, "DOMAIN_DETACH_DEVICE", "dom:dom xml:string", None, "domain:write")
p(14, "DOMAIN_GET_XML_DESC", "dom:dom flags:uint", "xml:string", "domain:read")
p(15, "DOMAIN_GET_AUTOSTART", "dom:dom", "autostart:int", "domain:read", high=True)
p(16, "DOMAIN_GET_INFO", "dom:dom",
  "state:uchar maxMem:uhyper memory:uhyper nrVirtCpu:ushort cpuTime:uhyper", "domain:read")
p(17, "DOMAIN_GET_MAX_MEMORY", "dom:dom", "memory:uhyper", "domain:read", high=True)
p(18, "DOMAIN_GET_MAX_VCPUS", "dom:dom", "num:int", "domain:read", high=True)
p(19, "DOMAIN_GET_OS_TYPE", "dom:dom", "type:string", "domain:read", high=True)
p(27, "DOMAIN_REBOOT", "dom:dom flags:uint", None, "domain:init_control")
p(28, "DOMAIN_RESUME", "dom:dom", None, "domain:suspend")
p(29, "DOMAIN_SET_AUTOSTART", "dom:dom autostart:int", None, "domain:write", high=True)
p(30, "DOMAIN_SET_MAX_MEMORY", "dom:dom memory:uhyper", None, "domain:write", high=True)
p(31, "DOMAIN_SET_MEMORY", "dom:dom memory:uhyper", None, "domain:write")
p(32, "DOMAIN_SET_VCPUS", "dom:dom nvcpus:uint", None, "domain:write")
p(33, "DOMAIN_SHUTDOWN", "dom:dom", None, "domain:init_control")
p(34, "DOMAIN_SUSPEND", "dom:dom", None, "domain:suspend")
p(35, "DOMAIN_UNDEFINE", "dom:dom", None, "domain:delete", high=True)
p(54, "DOMAIN_RESTORE", "from:string", None, "domain:start domain:write")
p(55, "DOMAIN_SAVE", "dom:dom to:string", None, "domain:hibernate")
p(64, "DOMAIN_BLOCK_STATS", "dom:dom path:string",
  "rd_req:hyper rd_bytes:hyper wr_req:hyper wr_bytes:hyper errs:hyper", "domain:read")
p(65, "DOMAIN_INTERFACE_STATS", "dom:dom path:string",
  "rx_bytes:hyper rx_packets:hyper rx_errs:hyper rx_drop:hyper "
  "tx_bytes:hyper tx_packets:hyper tx_errs:hyper tx_drop:hyper", "domain:read", high=True)
p(121, "DOMAIN_GET_SECURITY_LABEL", "dom:dom",
  "label:chars<SECURITY_LABEL_MAX> enforcing:int", "domain:read", high=True)
p(278, "DOMAIN_GET_SECURITY_LABEL_LIST", "dom:dom",
  "labels:seclabel<SECURITY_LABEL_LIST_MAX> ret:int", "domain:read")
p(150, "DOMAIN_IS_ACTIVE", "dom:dom", "active:int", "domain:read", high=True)
p(151, "DOMAIN_IS_PERSISTENT", "dom:dom", "persistent:int", "domain:read", high=True)
p(159, "DOMAIN_MEMORY_STATS", "dom:dom maxStats:uint flags:uint",
  "stats:memstat<MEMORY_STATS_MAX>", "domain:read")
p(160, "DOMAIN_ATTACH_DEVICE_FLAGS", "dom:dom xml:string flags:uint", None, "domain:write")
p(161, "DOMAIN_DETACH_DEVICE_FLAGS", "dom:dom xml:string flags:uint", None, "domain:write")
p(174, "DOMAIN_UPDATE_DEVICE_FLAGS", "dom:dom xml:string flags:uint", None, "domain:write")
p(182, "DOMAIN_MANAGED_SAVE", "dom:dom flags:uint", None, "domain:hibernate")
p(183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", "dom:dom flags:uint", "result:int", "domain:read")
p(184, "DOMAIN_MANAGED_SAVE_REMOVE", "dom:dom flags:uint", None, "domain:hibernate")
p(196, "DOMAIN_CREATE_WITH_FLAGS", "dom:dom flags:uint", "dom:dom", "domain:start")
p(199, "DOMAIN_SET_VCPUS_FLAGS", "dom:dom nvcpus:uint flags:uint", None, "domain:write")
p(200, "DOMAIN_GET_VCPUS_FLAGS", "dom:dom flags:uint", "num:int", "domain:read")
p(201, "DOMAIN_OPEN_CONSOLE", "dom:dom dev_name:string? flags:uint", None,
  "domain:open_device", stream="read", stream_at=2)
p(202, "DOMAIN_IS_UPDATED", "dom:dom", "updated:int", "domain:read", high=True)
p(204, "DOMAIN_SET_MEMORY_FLAGS", "dom:dom memory:uhyper flags:uint", None, "domain:write")
p(212, "DOMAIN_GET_STATE", "dom:dom flags:uint", "state:int reason:int", "domain:read",
  high=True)
p(231, "DOMAIN_UNDEFINE_FLAGS", "dom:dom flags:uint", None, "domain:delete", high=True)
p(232, "DOMAIN_SAVE_FLAGS", "dom:dom to:string dxml:string? flags:uint", None,
  "domain:hibernate")
p(233, "DOMAIN_RESTORE_FLAGS", "from:string dxml:string? flags:uint", None,
  "domain:start domain:write")
p(234, "DOMAIN_DESTROY_FLAGS", "dom:dom flags:uint", None, "domain:stop", high=True)
p(245, "DOMAIN_RESET", "dom:dom flags:uint", None, "domain:reset")
p(258, "DOMAIN_SHUTDOWN_FLAGS", "dom:dom flags:uint", None, "domain:init_control")
p(262, "DOMAIN_GET_CPU_STATS", "dom:dom nparams:uint start_cpu:int ncpus:uint flags:uint",
  "params:param<CPU_STATS_MAX> nparams:int", "domain:read")
p(344, "CONNECT_GET_ALL_DOMAIN_STATS", "doms:dom<DOMAIN_LIST_MAX> stats:uint flags:uint",
  "retStats:statsrecord<DOMAIN_LIST_MAX>", "connect:search_domains")
p(350, "DOMAIN_DEFINE_XML_FLAGS", "xml:string flags:uint", "dom:dom",
  "domain:write domain:save", high=True)
p(426, "DOMAIN_GET_MESSAGES", "dom:dom flags:uint", "msgs:string<MESSAGES_MAX>",
  "domain:read")

# --- domains: vCPUs, scheduler, guest information -------------------------------------
p(20, "DOMAIN_GET_VCPUS", "dom:dom maxinfo:int maplen:int",
  "info:vcpuinfo<VCPUINFO_MAX> cpumaps:opaque<CPUMAPS_MAX>", "domain:read", high=True)
p(26, "DOMAIN_PIN_VCPU", "dom:dom vcpu:uint cpumap:opaque<CPUMAP_MAX>", None, "domain:write")
p(56, "DOMAIN_GET_SCHEDULER_TYPE", "dom:dom", "type:string nparams:int", "domain:read")
p(57, "DOMAIN_GET_SCHEDULER_PARAMETERS", "dom:dom nparams:int",
  "params:param<SCHEDULER_PARAMETERS_MAX>", "domain:read")
# remote_protocol.x marks 58 domain:read, but virDomainSetSchedulerParameters refuses
# read-only connections: declared as write so the read-only socket denies it too.
p(58, "DOMAIN_SET_SCHEDULER_PARAMETERS", "dom:dom params:param<SCHEDULER_PARAMETERS_MAX>",
  None, "domain:write")
p(197, "DOMAIN_SET_MEMORY_PARAMETERS",
  "dom:dom params:param<DOMAIN_MEMORY_PARAMETERS_MAX> flags:uint", None, "domain:write")
p(198, "DOMAIN_GET_MEMORY_PARAMETERS", "dom:dom nparams:int flags:uint",
  "params:param<DOMAIN_MEMORY_PARAMETERS_MAX> nparams:int", "domain:read")
p(205, "DOMAIN_SET_BLKIO_PARAMETERS",
  "dom:dom params:param<DOMAIN_BLKIO_PARAMETERS_MAX> flags:uint", None, "domain:write")
p(206, "DOMAIN_GET_BLKIO_PARAMETERS", "dom:dom nparams:int flags:uint",
  "params:param<DOMAIN_BLKIO_PARAMETERS_MAX> nparams:int", "domain:read")
p(256, "DOMAIN_SET_INTERFACE_PARAMETERS",
  "dom:dom device:string params:param<16> flags:uint", None, "domain:write")
p(257, "DOMAIN_GET_INTERFACE_PARAMETERS", "dom:dom device:string nparams:int flags:uint",
  "params:param<16> nparams:int", "domain:read")
p(194, "DOMAIN_GET_BLOCK_INFO", "dom:dom path:string flags:uint",
  "allocation:uhyper capacity:uhyper physical:uhyper", "domain:read")
p(210, "DOMAIN_INJECT_NMI", "dom:dom flags:uint", None, "domain:inject_nmi")
p(219, "DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS",
  "dom:dom params:param<SCHEDULER_PARAMETERS_MAX> flags:uint", None, "domain:write")
p(223, "DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS", "dom:dom nparams:int flags:uint",
  "params:param<SCHEDULER_PARAMETERS_MAX>", "domain:read")
p(225, "DOMAIN_PIN_VCPU_FLAGS", "dom:dom vcpu:uint cpumap:opaque<CPUMAP_MAX> flags:uint",
  None, "domain:write")
p(226, "DOMAIN_SEND_KEY",
  "dom:dom codeset:uint holdtime:uint keycodes:uint<SEND_KEY_MAX> flags:uint", None,
  "domain:send_input")
p(229, "DOMAIN_GET_CONTROL_INFO", "dom:dom flags:uint",
  "state:uint details:uint stateTime:uhyper", "domain:read", high=True)
p(230, "DOMAIN_GET_VCPU_PIN_INFO", "dom:dom ncpumaps:int maplen:int flags:uint",
  "cpumaps:opaque<CPUMAPS_MAX> num:int", "domain:read")
p(243, "DOMAIN_BLOCK_STATS_FLAGS", "dom:dom path:string nparams:int flags:uint",
  "params:param<BLOCK_STATS_PARAMETERS_MAX> nparams:int", "domain:read")
p(263, "DOMAIN_GET_DISK_ERRORS", "dom:dom maxerrors:uint flags:uint",
  "errors:diskerror<DISK_ERRORS_MAX> nerrors:int", "domain:read")
p(264, "DOMAIN_SET_METADATA",
  "dom:dom type:int metadata:string? key:string? uri:string? flags:uint", None,
  "domain:write")
p(265, "DOMAIN_GET_METADATA", "dom:dom type:int uri:string? flags:uint", "metadata:string",
  "domain:read")
p(277, "DOMAIN_GET_HOSTNAME", "dom:dom flags:uint", "hostname:string", "domain:read")
p(293, "NODE_GET_CPU_MAP", "need_map:int need_online:int flags:uint",
  "cpumap:opaque<CPUMAP_MAX> online:uint ret:int", "connect:read")
p(337, "DOMAIN_GET_TIME", "dom:dom flags:uint", "seconds:hyper nseconds:uint", "domain:read")
p(349, "DOMAIN_GET_FSINFO", "dom:dom flags:uint", "info:fsinfo<FSINFO_MAX> ret:uint",
  "domain:fs_freeze")
p(353, "DOMAIN_INTERFACE_ADDRESSES", "dom:dom source:uint flags:uint",
  "ifaces:iface<INTERFACE_MAX>", "domain:read")
p(358, "DOMAIN_RENAME", "dom:dom new_name:string? flags:uint", "retcode:int",
  "domain:write domain:save")

# --- domains: jobs, dumps, power management, guest agent ------------------------------
# (served as soon as a driver implements the entry point of the same name)
p(53, "DOMAIN_CORE_DUMP", "dom:dom to:string flags:uint", None, "domain:core_dump")
p(135, "CONNECT_DOMAIN_XML_FROM_NATIVE", "nativeFormat:string nativeConfig:string flags:uint",
  "domainXml:string", "connect:write")
p(136, "CONNECT_DOMAIN_XML_TO_NATIVE", "nativeFormat:string domainXml:string flags:uint",
  "nativeConfig:string", "connect:write")
p(158, "CONNECT_COMPARE_CPU", "xml:string flags:uint", "result:int", "connect:read", high=True)
p(162, "CONNECT_BASELINE_CPU", "xmlCPUs:string<256> flags:uint", "cpu:string", "connect:read")
p(163, "DOMAIN_GET_JOB_INFO", "dom:dom",
  "type:int timeElapsed:uhyper timeRemaining:uhyper dataTotal:uhyper dataProcessed:uhyper "
  "dataRemaining:uhyper memTotal:uhyper memProcessed:uhyper memRemaining:uhyper "
  "fileTotal:uhyper fileProcessed:uhyper fileRemaining:uhyper", "domain:read")
p(164, "DOMAIN_ABORT_JOB", "dom:dom", None, "domain:write")
p(235, "DOMAIN_SAVE_IMAGE_GET_XML_DESC", "file:string flags:uint", "xml:string",
  "domain:read", high=True)
p(236, "DOMAIN_SAVE_IMAGE_DEFINE_XML", "file:string dxml:string flags:uint", None,
  "domain:write domain:hibernate", high=True)
p(250, "NODE_SUSPEND_FOR_DURATION", "target:uint duration:uhyper flags:uint", None,
  "connect:pm_control")
p(251, "DOMAIN_BLOCK_RESIZE", "dom:dom disk:string size:uhyper flags:uint", None,
  "domain:block_write")
p(261, "DOMAIN_PM_SUSPEND_FOR_DURATION", "dom:dom target:uint duration:uhyper flags:uint",
  None, "domain:pm_control")
p(267, "DOMAIN_PM_WAKEUP", "dom:dom flags:uint", None, "domain:pm_control")
p(294, "DOMAIN_FSTRIM", "dom:dom mountPoint:string? minimum:uhyper flags:uint", None,
  "domain:fs_trim")
p(308, "DOMAIN_SET_MEMORY_STATS_PERIOD", "dom:dom period:int flags:uint", None,
  "domain:write")
p(334, "DOMAIN_CORE_DUMP_WITH_FORMAT", "dom:dom to:string dumpformat:uint flags:uint", None,
  "domain:core_dump")
p(335, "DOMAIN_FSFREEZE", "dom:dom mountpoints:string<256> flags:uint", "filesystems:int",
  "domain:fs_freeze")
p(336, "DOMAIN_FSTHAW", "dom:dom mountpoints:string<256> flags:uint", "filesystems:int",
  "domain:fs_freeze")
p(355, "DOMAIN_ADD_IOTHREAD", "dom:dom iothread_id:uint flags:uint", None, "domain:write")
p(356, "DOMAIN_DEL_IOTHREAD", "dom:dom iothread_id:uint flags:uint", None, "domain:write")
p(357, "DOMAIN_SET_USER_PASSWORD", "dom:dom user:string? password:string? flags:uint", None,
  "domain:set_password")
p(372, "DOMAIN_SET_GUEST_VCPUS", "dom:dom cpumap:string state:int flags:uint", None,
  "domain:write")

# --- domain snapshots ----------------------------------------------------------------------
p(185, "DOMAIN_SNAPSHOT_CREATE_XML", "dom:dom xml_desc:string flags:uint", "snap:snap",
  "domain:snapshot")
p(186, "DOMAIN_SNAPSHOT_GET_XML_DESC", "snap:snap flags:uint", "xml:string", "domain:read",
  high=True)
p(187, "DOMAIN_SNAPSHOT_NUM", "dom:dom flags:uint", "num:int", "domain:read", high=True)
p(188, "DOMAIN_SNAPSHOT_LIST_NAMES", "dom:dom maxnames:int flags:uint",
  "names:string<SNAPSHOT_LIST_MAX>", "domain:read", high=True)
p(189, "DOMAIN_SNAPSHOT_LOOKUP_BY_NAME", "dom:dom name:string flags:uint", "snap:snap",
  "domain:read", high=True)
p(190, "DOMAIN_HAS_CURRENT_SNAPSHOT", "dom:dom flags:uint", "result:int", "domain:read")
p(191, "DOMAIN_SNAPSHOT_CURRENT", "dom:dom flags:uint", "snap:snap", "domain:read")
p(192, "DOMAIN_REVERT_TO_SNAPSHOT", "snap:snap flags:uint", None, "domain:snapshot")
p(193, "DOMAIN_SNAPSHOT_DELETE", "snap:snap flags:uint", None, "domain:snapshot")
p(244, "DOMAIN_SNAPSHOT_GET_PARENT", "snap:snap flags:uint", "snap:snap", "domain:read",
  high=True)
p(246, "DOMAIN_SNAPSHOT_NUM_CHILDREN", "snap:snap flags:uint", "num:int", "domain:read",
  high=True)
p(247, "DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES", "snap:snap maxnames:int flags:uint",
  "names:string<SNAPSHOT_LIST_MAX>", "domain:read", high=True)
p(271, "DOMAIN_SNAPSHOT_IS_CURRENT", "snap:snap flags:uint", "current:int", "domain:read")
p(272, "DOMAIN_SNAPSHOT_HAS_METADATA", "snap:snap flags:uint", "metadata:int", "domain:read")
p(274, "DOMAIN_LIST_ALL_SNAPSHOTS", "dom:dom need_results:int flags:uint",
  "snapshots:snap<SNAPSHOT_LIST_MAX> ret:int", "domain:read", high=True)
p(275, "DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN", "snapshot:snap need_results:int flags:uint",
  "snapshots:snap<SNAPSHOT_LIST_MAX> ret:int", "domain:read", high=True)

# --- networks ---------------------------------------------------------------------------------
p(36, "CONNECT_LIST_DEFINED_NETWORKS", "maxnames:int", "names:string<NETWORK_LIST_MAX>",
  "connect:search_networks", high=True)
p(38, "CONNECT_LIST_NETWORKS", "maxnames:int", "names:string<NETWORK_LIST_MAX>",
  "connect:search_networks", high=True)
p(39, "NETWORK_CREATE", "net:net", None, "network:start")
p(40, "NETWORK_CREATE_XML", "xml:string", "net:net", "network:write network:start")
p(41, "NETWORK_DEFINE_XML", "xml:string", "net:net", "network:write network:save", high=True)
p(42, "NETWORK_DESTROY", "net:net", None, "network:stop", high=True)
p(43, "NETWORK_GET_XML_DESC", "net:net flags:uint", "xml:string", "network:read", high=True)
p(44, "NETWORK_GET_AUTOSTART", "net:net", "autostart:int", "network:read", high=True)
p(45, "NETWORK_GET_BRIDGE_NAME", "net:net", "name:string", "network:read", high=True)
p(46, "NETWORK_LOOKUP_BY_NAME", "name:string", "net:net", "network:getattr", high=True)
p(47, "NETWORK_LOOKUP_BY_UUID", "uuid:uuid", "net:net", "network:getattr", high=True)
p(48, "NETWORK_SET_AUTOSTART", "net:net autostart:int", None, "network:write", high=True)
p(49, "NETWORK_UNDEFINE", "net:net", None, "network:delete", high=True)
p(50, "CONNECT_NUM_OF_DEFINED_NETWORKS", None, "num:int", "connect:search_networks",
  high=True)
p(52, "CONNECT_NUM_OF_NETWORKS", None, "num:int", "connect:search_networks", high=True)
p(152, "NETWORK_IS_ACTIVE", "net:net", "active:int", "network:read", high=True)
p(153, "NETWORK_IS_PERSISTENT", "net:net", "persistent:int", "network:read", high=True)
p(283, "CONNECT_LIST_ALL_NETWORKS", "need_results:int flags:uint",
  "nets:net<NETWORK_LIST_MAX> ret:uint", "connect:search_networks", high=True)
p(341, "NETWORK_GET_DHCP_LEASES", "net:net mac:string? need_results:int flags:uint",
  "leases:lease<DHCP_LEASES_MAX> ret:uint", "network:read")
p(432, "NETWORK_DEFINE_XML_FLAGS", "xml:string flags:uint", "net:net",
  "network:write network:save", high=True)
p(437, "NETWORK_CREATE_XML_FLAGS", "xml:string flags:uint", "net:net",
  "network:write network:start")
p(291, "NETWORK_UPDATE",
  "net:net command:uint section:uint parentIndex:int xml:string flags:uint", None,
  "network:write", high=True)

# --- storage pools and volumes ------------------------------------------------------------
p(71, "CONNECT_NUM_OF_STORAGE_POOLS", None, "num:int", "connect:search_storage_pools",
  high=True)
p(72, "CONNECT_LIST_STORAGE_POOLS", "maxnames:int", "names:string<STORAGE_POOL_LIST_MAX>",
  "connect:search_storage_pools", high=True)
p(73, "CONNECT_NUM_OF_DEFINED_STORAGE_POOLS", None, "num:int",
  "connect:search_storage_pools", high=True)
p(74, "CONNECT_LIST_DEFINED_STORAGE_POOLS", "maxnames:int",
  "names:string<STORAGE_POOL_LIST_MAX>", "connect:search_storage_pools", high=True)
p(76, "STORAGE_POOL_CREATE_XML", "xml:string flags:uint", "pool:pool",
  "storage_pool:start storage_pool:write")
p(77, "STORAGE_POOL_DEFINE_XML", "xml:string flags:uint", "pool:pool",
  "storage_pool:write storage_pool:save", high=True)
p(78, "STORAGE_POOL_CREATE", "pool:pool flags:uint", None, "storage_pool:start")
p(79, "STORAGE_POOL_BUILD", "pool:pool flags:uint", None, "storage_pool:format")
p(80, "STORAGE_POOL_DESTROY", "pool:pool", None, "storage_pool:stop", high=True)
p(81, "STORAGE_POOL_DELETE", "pool:pool flags:uint", None, "storage_pool:format")
p(82, "STORAGE_POOL_UNDEFINE", "pool:pool", None, "storage_pool:delete", high=True)
p(83, "STORAGE_POOL_REFRESH", "pool:pool flags:uint", None, "storage_pool:refresh")
p(84, "STORAGE_POOL_LOOKUP_BY_NAME", "name:string", "pool:pool", "storage_pool:getattr",
  high=True)
p(85, "STORAGE_POOL_LOOKUP_BY_UUID", "uuid:uuid", "pool:pool", "storage_pool:getattr",
  high=True)
p(86, "STORAGE_POOL_LOOKUP_BY_VOLUME", "vol:vol", "pool:pool", "storage_pool:getattr",
  high=True)
p(87, "STORAGE_POOL_GET_INFO", "pool:pool",
  "state:uchar capacity:uhyper allocation:uhyper available:uhyper", "storage_pool:read",
  high=True)
p(88, "STORAGE_POOL_GET_XML_DESC", "pool:pool flags:uint", "xml:string",
  "storage_pool:read", high=True)
p(89, "STORAGE_POOL_GET_AUTOSTART", "pool:pool", "autostart:int", "storage_pool:read",
  high=True)
p(90, "STORAGE_POOL_SET_AUTOSTART", "pool:pool autostart:int", None, "storage_pool:write",
  high=True)
p(91, "STORAGE_POOL_NUM_OF_VOLUMES", "pool:pool", "num:int",
  "storage_pool:search_storage_vols", high=True)
p(92, "STORAGE_POOL_LIST_VOLUMES", "pool:pool maxnames:int",
  "names:string<STORAGE_VOL_LIST_MAX>", "storage_pool:search_storage_vols", high=True)
p(93, "STORAGE_VOL_CREATE_XML", "pool:pool xml:string flags:uint", "vol:vol",
  "storage_vol:create")
p(94, "STORAGE_VOL_DELETE", "vol:vol flags:uint", None, "storage_vol:delete")
p(95, "STORAGE_VOL_LOOKUP_BY_NAME", "pool:pool name:string", "vol:vol",
  "storage_vol:getattr", high=True)
p(96, "STORAGE_VOL_LOOKUP_BY_KEY", "key:string", "vol:vol", "storage_vol:getattr", high=True)
p(97, "STORAGE_VOL_LOOKUP_BY_PATH", "path:string", "vol:vol", "storage_vol:getattr",
  high=True)
p(98, "STORAGE_VOL_GET_INFO", "vol:vol", "type:char capacity:uhyper allocation:uhyper",
  "storage_vol:read", high=True)
p(99, "STORAGE_VOL_GET_XML_DESC", "vol:vol flags:uint", "xml:string", "storage_vol:read",
  high=True)
p(100, "STORAGE_VOL_GET_PATH", "vol:vol", "name:string", "storage_vol:read", high=True)
p(125, "STORAGE_VOL_CREATE_XML_FROM", "pool:pool xml:string clonevol:vol flags:uint",
  "vol:vol", "storage_vol:create")
p(154, "STORAGE_POOL_IS_ACTIVE", "pool:pool", "active:int", "storage_pool:read", high=True)
p(155, "STORAGE_POOL_IS_PERSISTENT", "pool:pool", "persistent:int", "storage_pool:read",
  high=True)
p(165, "STORAGE_VOL_WIPE", "vol:vol flags:uint", None, "storage_vol:format")
p(208, "STORAGE_VOL_UPLOAD", "vol:vol offset:uhyper length:uhyper flags:uint", None,
  "storage_vol:data_write", stream="write")
p(209, "STORAGE_VOL_DOWNLOAD", "vol:vol offset:uhyper length:uhyper flags:uint", None,
  "storage_vol:data_read", stream="read")
p(260, "STORAGE_VOL_RESIZE", "vol:vol capacity:uhyper flags:uint", None,
  "storage_vol:resize")
p(281, "CONNECT_LIST_ALL_STORAGE_POOLS", "need_results:int flags:uint",
  "pools:pool<STORAGE_POOL_LIST_MAX> ret:uint", "connect:search_storage_pools", high=True)
p(282, "STORAGE_POOL_LIST_ALL_VOLUMES", "pool:pool need_results:int flags:uint",
  "vols:vol<STORAGE_VOL_LIST_MAX> ret:uint", "storage_pool:search_storage_vols", high=True)
p(378, "STORAGE_VOL_GET_INFO_FLAGS", "vol:vol flags:uint",
  "type:char capacity:uhyper allocation:uhyper", "storage_vol:read", high=True)

# --- event registration -------------------------------------------------------------------
p(313, "CONNECT_NETWORK_EVENT_REGISTER_ANY", "eventID:int net:net?", "callbackID:int",
  "connect:search_networks", high=True)
p(314, "CONNECT_NETWORK_EVENT_DEREGISTER_ANY", "callbackID:int", None, "connect:read",
  high=True)
p(316, "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", "eventID:int dom:dom?",
  "callbackID:int", "connect:search_domains", high=True)
p(317, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", "callbackID:int", None,
  "connect:read", high=True)
p(368, "CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY", "eventID:int pool:pool?",
  "callbackID:int", "connect:search_storage_pools", high=True)
p(369, "CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY", "callbackID:int", None, "connect:read",
  high=True)

# --- event messages (daemon -> client, type MESSAGE) ----------------------------------------
e = TABLE.event
e(318, "DOMAIN_EVENT_CALLBACK_LIFECYCLE", "callbackID:int dom:dom event:int detail:int", 0)
e(319, "DOMAIN_EVENT_CALLBACK_REBOOT", "callbackID:int dom:dom", 1)
e(320, "DOMAIN_EVENT_CALLBACK_RTC_CHANGE", "callbackID:int dom:dom offset:hyper", 2)
e(321, "DOMAIN_EVENT_CALLBACK_WATCHDOG", "callbackID:int dom:dom action:int", 3)
e(322, "DOMAIN_EVENT_CALLBACK_IO_ERROR",
  "callbackID:int dom:dom srcPath:string devAlias:string action:int", 4)
e(323, "DOMAIN_EVENT_CALLBACK_GRAPHICS",
  "callbackID:int dom:dom phase:int local:gaddr remote:gaddr authScheme:string "
  "subject:gident<20>", 5)
e(324, "DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON",
  "callbackID:int dom:dom srcPath:string devAlias:string action:int reason:string", 6)
e(325, "DOMAIN_EVENT_CALLBACK_CONTROL_ERROR", "callbackID:int dom:dom", 7)
e(326, "DOMAIN_EVENT_CALLBACK_BLOCK_JOB",
  "callbackID:int dom:dom path:string type:int status:int", 8)
e(327, "DOMAIN_EVENT_CALLBACK_DISK_CHANGE",
  "callbackID:int dom:dom oldSrcPath:string? newSrcPath:string? devAlias:string reason:int", 9)
e(328, "DOMAIN_EVENT_CALLBACK_TRAY_CHANGE",
  "callbackID:int dom:dom devAlias:string reason:int", 10)
e(329, "DOMAIN_EVENT_CALLBACK_PMWAKEUP", "callbackID:int reason:int dom:dom", 11)
e(330, "DOMAIN_EVENT_CALLBACK_PMSUSPEND", "callbackID:int reason:int dom:dom", 12)
e(331, "DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE", "callbackID:int dom:dom actual:uhyper", 13)
e(332, "DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK", "callbackID:int reason:int dom:dom", 14)
e(333, "DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED", "callbackID:int dom:dom devAlias:string", 15)
e(339, "DOMAIN_EVENT_BLOCK_JOB_2", "callbackID:int dom:dom dst:string type:int status:int",
  16)
e(346, "DOMAIN_EVENT_CALLBACK_TUNABLE", "callbackID:int dom:dom params:param<EVENT_PARAMS_MAX>",
  17)
e(348, "DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE",
  "callbackID:int dom:dom state:int reason:int", 18)
e(354, "DOMAIN_EVENT_CALLBACK_DEVICE_ADDED", "callbackID:int dom:dom devAlias:string", 19)
e(359, "DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION",
  "callbackID:int dom:dom iteration:int", 20)
e(363, "DOMAIN_EVENT_CALLBACK_JOB_COMPLETED",
  "callbackID:int dom:dom params:param<EVENT_PARAMS_MAX>", 21)
e(367, "DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED",
  "callbackID:int dom:dom devAlias:string", 22)
e(379, "DOMAIN_EVENT_CALLBACK_METADATA_CHANGE", "callbackID:int dom:dom type:int nsuri:string?",
  23)
e(315, "NETWORK_EVENT_LIFECYCLE", "callbackID:int net:net event:int detail:int", 0,
  family="network")
e(370, "STORAGE_POOL_EVENT_LIFECYCLE", "callbackID:int pool:pool event:int detail:int", 0,
  family="storage_pool")
e(373, "STORAGE_POOL_EVENT_REFRESH", "callbackID:int pool:pool", 1, family="storage_pool")
e(362, "CONNECT_EVENT_CONNECTION_CLOSED", "reason:int", None, family="connect")

del p, e

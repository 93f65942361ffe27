"""Domain Monitoring: list, dominfo, domstate, domstats."""

from __future__ import annotations

from pyvirt.cli.command import ARGV, Opt, command, domain_opt, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.flags import list_flags, option_flags
from pyvirt.cli.parser import Invocation
from pyvirt.cli.states import reason_word, state_word
from pyvirt.cli.table import format_info, format_table, yes_no
from pyvirt.cli.tuning import typed_value

GRP = "monitor"

# list's filter options and the VIR_CONNECT_LIST_DOMAINS_* constant each sets.
_LIST_FILTERS = [
    ("transient", "TRANSIENT"), ("persistent", "PERSISTENT"),
    ("with-snapshot", "HAS_SNAPSHOT"), ("without-snapshot", "NO_SNAPSHOT"),
    ("with-checkpoint", "HAS_CHECKPOINT"), ("without-checkpoint", "NO_CHECKPOINT"),
    ("state-running", "RUNNING"), ("state-paused", "PAUSED"),
    ("state-shutoff", "SHUTOFF"), ("state-other", "OTHER"),
    ("autostart", "AUTOSTART"), ("no-autostart", "NO_AUTOSTART"),
    ("with-managed-save", "MANAGEDSAVE"), ("without-managed-save", "NO_MANAGEDSAVE"),
]


@command("list", GRP, "list domains", "Returns list of domains.",
         flag("inactive", "list inactive domains"),
         flag("all", "list inactive & active domains"),
         flag("transient", "list transient domains"),
         flag("persistent", "list persistent domains"),
         flag("with-snapshot", "list domains with existing snapshot"),
         flag("without-snapshot", "list domains without a snapshot"),
         flag("with-checkpoint", "list domains with existing checkpoint"),
         flag("without-checkpoint", "list domains without a checkpoint"),
         flag("state-running", "list domains in running state"),
         flag("state-paused", "list domains in paused state"),
         flag("state-shutoff", "list domains in shutoff state"),
         flag("state-other", "list domains in other states"),
         flag("autostart", "list domains with autostart enabled"),
         flag("no-autostart", "list domains with autostart disabled"),
         flag("with-managed-save", "list domains with managed save state"),
         flag("without-managed-save", "list domains without managed save"),
         flag("uuid", "list uuid's only"),
         flag("name", "list domain names only"),
         flag("id", "list domain IDs only"),
         flag("table", "list table (default)"),
         flag("managed-save", "mark inactive domains with managed save state"),
         flag("title", "show domain title"))
def cmd_list(ctl: Ctl, inv: Invocation) -> bool:
    for other in ("uuid", "name", "id"):
        if inv.has("table") and inv.has(other):
            raise CommandFailed(f"Options --table and --{other} are mutually exclusive")
    lv = ctl.binding
    flags = list_flags(ctl, inv, "VIR_CONNECT_LIST_DOMAINS_", _LIST_FILTERS)
    domains = ctl.call("Failed to list domains", ctl.conn.listAllDomains, flags)
    domains.sort(key=lambda d: (d.ID() < 0, d.ID() if d.ID() >= 0 else 0, d.name()))
    plain = [o for o in ("uuid", "id", "name") if inv.has(o)]
    if plain:
        for dom in domains:
            if inv.has("id") and dom.ID() < 0:
                continue
            parts = []
            if inv.has("uuid"):
                parts.append(dom.UUIDString())
            if inv.has("id"):
                parts.append(str(dom.ID()))
            if inv.has("name"):
                parts.append(dom.name())
            ctl.print(" ".join(parts) + "\n")
        return True
    header = ["Id", "Name", "State"] + (["Title"] if inv.has("title") else [])
    rows = []
    for dom in domains:
        state = dom.state()[0]
        word = state_word(state)
        if inv.has("managed-save") and state == lv.VIR_DOMAIN_SHUTOFF \
                and dom.hasManagedSaveImage():
            word = "saved"
        row = ["-" if dom.ID() < 0 else str(dom.ID()), dom.name(), word]
        if inv.has("title"):
            row.append(_title(ctl, dom))
        rows.append(row)
    ctl.print(format_table(header, rows, with_header=not ctl.quiet))
    return True


def _title(ctl: Ctl, dom) -> str:
    lv = ctl.binding
    flags = lv.VIR_DOMAIN_XML_INACTIVE if dom.ID() < 0 else 0
    from xml.etree import ElementTree
    node = ElementTree.fromstring(dom.XMLDesc(flags)).find("title")
    return (node.text or "").split("\n")[0] if node is not None else ""


@command("dominfo", GRP, "domain information", "Returns basic information about the domain.",
         domain_opt())
def cmd_dominfo(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    state, max_mem, memory, vcpus, cpu_time = dom.info()
    rows = [("Id:", "-" if dom.ID() < 0 else dom.ID()), ("Name:", dom.name()),
            ("UUID:", dom.UUIDString()), ("OS Type:", dom.OSType()),
            ("State:", state_word(state)), ("CPU(s):", vcpus)]
    if cpu_time:
        rows.append(("CPU time:", f"{cpu_time / 1e9:.1f}s"))
    rows.append(("Max memory:", "no limit" if max_mem == 2**64 - 1 >> 10 else f"{max_mem} KiB"))
    rows.append(("Used memory:", f"{memory} KiB"))
    rows.append(("Persistent:", yes_no(dom.isPersistent())))
    try:
        rows.append(("Autostart:", "enable" if dom.autostart() else "disable"))
    except lv.libvirtError:
        pass
    try:
        rows.append(("Managed save:", yes_no(dom.hasManagedSaveImage())))
    except lv.libvirtError:
        rows.append(("Managed save:", "unknown"))   # as virsh when the driver can't tell
    try:
        model, doi = ctl.conn.getSecurityModel()
    except lv.libvirtError:
        model = ""
    if model:
        rows.append(("Security model:", model))
        rows.append(("Security DOI:", doi))
        label = dom.securityLabel()
        if label and label[0]:
            rows.append(("Security label:",
                         f"{label[0]} ({'enforcing' if label[1] else 'permissive'})"))
    try:
        messages = dom.getMessages(0)
    except (lv.libvirtError, AttributeError):
        messages = []
    for i, msg in enumerate(messages or []):
        rows.append(("Messages:" if i == 0 else "", msg))
    ctl.print(format_info(rows))
    return True


@command("domstate", GRP, "domain state", "Returns state about a domain.",
         domain_opt(), flag("reason", "also print reason for the state"))
def cmd_domstate(ctl: Ctl, inv: Invocation) -> bool:
    dom = ctl.domain(inv)
    state, reason = dom.state()
    if inv.has("reason"):
        ctl.print(f"{state_word(state)} ({reason_word(state, reason)})\n")
    else:
        ctl.print(f"{state_word(state)}\n")
    return True


_STATS_GROUPS = [("state", "STATE"), ("cpu-total", "CPU_TOTAL"), ("balloon", "BALLOON"),
                 ("vcpu", "VCPU"), ("interface", "INTERFACE"), ("block", "BLOCK"),
                 ("perf", "PERF"), ("iothread", "IOTHREAD"), ("memory", "MEMORY"),
                 ("dirtyrate", "DIRTYRATE"), ("vm", "VM")]
_STATS_LISTS = [("list-active", "ACTIVE"), ("list-inactive", "INACTIVE"),
                ("list-persistent", "PERSISTENT"), ("list-transient", "TRANSIENT"),
                ("list-running", "RUNNING"), ("list-paused", "PAUSED"),
                ("list-shutoff", "SHUTOFF"), ("list-other", "OTHER")]


@command("domstats", GRP, "get statistics about one or multiple domains",
         "Gets statistics about one or more (or all) domains",
         flag("state", "report domain state"),
         flag("cpu-total", "report domain physical cpu usage"),
         flag("balloon", "report domain balloon statistics"),
         flag("vcpu", "report domain virtual cpu information"),
         flag("interface", "report domain network interface information"),
         flag("block", "report domain block device statistics"),
         flag("perf", "report domain perf event statistics"),
         flag("iothread", "report domain IOThread information"),
         flag("memory", "report domain memory usage"),
         flag("dirtyrate", "report domain dirty rate information"),
         flag("vm", "report hypervisor-specific statistics"),
         flag("list-active", "list only active domains"),
         flag("list-inactive", "list only inactive domains"),
         flag("list-persistent", "list only persistent domains"),
         flag("list-transient", "list only transient domains"),
         flag("list-running", "list only running domains"),
         flag("list-paused", "list only paused domains"),
         flag("list-shutoff", "list only shutoff domains"),
         flag("list-other", "list only domains in other states"),
         flag("raw", "do not pretty-print the fields"),
         flag("enforce", "enforce requested stats parameters"),
         flag("backing", "add backing chain information to block stats"),
         flag("nowait", "report only stats that are accessible instantly"),
         Opt("domain", ARGV, "list of domains to get stats for"))
def cmd_domstats(ctl: Ctl, inv: Invocation) -> bool:
    stats = option_flags(ctl, inv, "VIR_DOMAIN_STATS_", _STATS_GROUPS)
    flags = option_flags(ctl, inv, "VIR_CONNECT_GET_ALL_DOMAINS_STATS_",
                         _STATS_LISTS + [("enforce", "ENFORCE_STATS"), ("backing", "BACKING"),
                                         ("nowait", "NOWAIT")])
    if inv.has("domain"):
        doms = []
        for name in inv.get("domain"):
            doms.append(ctl.domain(Invocation(inv.cmd, {"domain": name})))
        records = ctl.conn.domainListGetStats(doms, stats, flags)
    else:
        records = ctl.conn.getAllDomainStats(stats, flags)
    texts = []
    for dom, params in records:
        lines = [f"Domain: '{dom.name()}'\n"]
        for key, value in params.items():
            lines.append(f"  {key}={typed_value(value)}\n")
        texts.append("".join(lines))
    ctl.print("\n".join(texts))
    return True

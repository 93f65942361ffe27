"""dnsmasq's files for one virtual network, as text (no I/O).

:class:`DnsmasqFiles` names the files of one network under the run dir;
:func:`config_text`, :func:`hostsfile_text` and :func:`addnhosts_text` build
their contents from a ``NetworkDef`` as libvirt's ``networkDnsmasqConfContents``
does; :func:`parse_leases` reads dnsmasq's lease file.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HEADER = """##WARNING:  THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
##OVERWRITTEN AND LOST.  Changes to this configuration should be made using:
##    virsh net-edit {name}
## or other application using the libvirt API.
##
## dnsmasq conf file created by pyvirt
"""


@dataclass(frozen=True)
class DnsmasqFiles:
    """Where one network's dnsmasq files live (all under the driver's run dir)."""

    run_dir: Path
    network: str

    def _path(self, suffix: str) -> Path:
        return self.run_dir / f"{self.network}.{suffix}"

    @property
    def conf(self) -> Path:
        return self._path("conf")

    @property
    def pid(self) -> Path:
        return self._path("pid")

    @property
    def leases(self) -> Path:
        return self._path("leases")

    @property
    def hostsfile(self) -> Path:
        return self._path("hostsfile")

    @property
    def addnhosts(self) -> Path:
        return self._path("addnhosts")

    @property
    def log(self) -> Path:
        return self._path("dnsmasq.log")

    def all(self) -> list[Path]:
        return [self.conf, self.pid, self.leases, self.hostsfile, self.addnhosts, self.log]


# --- what dnsmasq needs to know ----------------------------------------------------
def needs_dnsmasq(ndef: Any) -> bool:
    """libvirt starts dnsmasq for a network it bridges that has an address to
    serve on, unless DNS is off and there is no DHCP to give."""
    if (ndef.forward_mode or "none") not in ("none", "nat", "route", "open"):
        return False
    if not ndef.ips:
        return False
    if ndef.dns_enable is False:
        return any(ip.ranges or ip.hosts for ip in ndef.ips)
    return True


def _subnet(ip: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ip.network()


def _lease_time(expiry: int | None, unit: str | None) -> str | None:
    """libvirt's dnsmasq lease time: ``infinite`` or the number with the unit's
    first letter (``2h``, ``30m``, ``120s``)."""
    if expiry is None:
        return None
    return "infinite" if expiry == 0 else f"{expiry}{(unit or 'minutes')[0]}"


def _range_size(ip: Any, start: str, end: str) -> int:
    first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
    size = int(last) - int(first) + 1
    own = ipaddress.ip_address(ip.address)
    return size - 1 if first <= own <= last else size


def _dns_lines(ndef: Any) -> list[str]:
    """Upstream servers and the network's own domain."""
    lines = []
    forwarders = list(ndef.dns_forwarders)
    for fwd in forwarders:
        dom = f"/{fwd.domain}/" if fwd.domain else ""
        lines.append(f"server={dom}{fwd.addr or '#'}")
    if any(f.addr and not f.domain for f in forwarders):
        lines.append("no-resolv")
    if ndef.dns_forward_plain_names is False:
        lines += ["domain-needed", "local=//"]
    if ndef.domain_name:
        if ndef.domain_local_only:
            lines.append(f"local=/{ndef.domain_name}/")
        lines += [f"domain={ndef.domain_name}", "expand-hosts"]
    return lines


def _dhcp_lines(ndef: Any) -> tuple[list[str], int, bool, bool]:
    """dhcp-range/-boot lines; (lines, lease max, any DHCP, any IPv6)."""
    lines: list[str] = []
    lease_max, has_dhcp, has_v6 = 0, False, False
    for ip in ndef.ips:
        net = _subnet(ip)
        if net is None:
            continue
        v4 = net.version == 4
        has_v6 = has_v6 or not v4
        ranges, hosts = list(ip.ranges), list(ip.hosts)
        for rng in ranges:
            spec = f"{rng.start},{rng.end},{net.netmask if v4 else net.prefixlen}"
            lease = _lease_time(rng.lease_expiry, rng.lease_unit)
            lines.append(f"dhcp-range={spec}{',' + lease if lease else ''}")
            lease_max += _range_size(ip, rng.start, rng.end)
        if not ranges and hosts:
            lines.append(f"dhcp-range={ip.address},static" + ("" if v4 else f",{net.prefixlen}"))
        if ranges or hosts:
            has_dhcp = True
            if v4:
                lines += ["dhcp-no-override", "dhcp-authoritative"]
        if ip.tftp_root:
            lines += ["enable-tftp", f"tftp-root={ip.tftp_root}"]
        if ip.bootp_file:
            server = f",,{ip.bootp_server}" if ip.bootp_server else ""
            lines.append(f"dhcp-boot={ip.bootp_file}{server}")
    return lines, lease_max, has_dhcp, has_v6


def config_text(ndef: Any, bridge: str, files: DnsmasqFiles, *, user: str | None = None) -> str:
    """dnsmasq's configuration for network ``ndef`` served on ``bridge``, in the
    order libvirt 9 writes it (plus ``user=`` and ``dhcp-leasefile=``: pyvirt
    reads dnsmasq's own lease file instead of a lease helper's)."""
    dns_on = ndef.dns_enable is not False
    lines = [_HEADER.format(name=ndef.name).rstrip("\n"), "strict-order"]
    if dns_on:
        lines += _dns_lines(ndef)
    else:
        lines.append("port=0")
    lines.append(f"pid-file={files.pid}")
    if user:
        lines.append(f"user={user}")
    lines += ["except-interface=lo", "bind-dynamic", f"interface={bridge}"]
    if (ndef.forward_mode or "none") == "none":   # isolated: no gateway, no upstream DNS
        lines += ["dhcp-option=3", "no-resolv", "ra-param=*,0,0"]
    if dns_on:
        lines += [f"txt-record={txt.name},{txt.value}" for txt in ndef.dns_txts]
        lines += [_srv_record(srv) for srv in ndef.dns_srvs]
    dhcp, lease_max, has_dhcp, has_v6 = _dhcp_lines(ndef)
    lines += dhcp
    if lease_max:
        lines.append(f"dhcp-lease-max={lease_max}")
    if has_dhcp:
        lines.append(f"dhcp-leasefile={files.leases}")
        lines.append(f"dhcp-hostsfile={files.hostsfile}")
    if dns_on:
        lines.append(f"addn-hosts={files.addnhosts}")
    if has_v6:
        lines.append("enable-ra")
    deduped = [x for i, x in enumerate(lines) if x != "no-resolv" or "no-resolv" not in lines[:i]]
    return "\n".join(deduped) + "\n"


def _srv_record(srv: Any) -> str:
    """libvirt's srv-host line: a target of "." (service not available) drops the
    rest; port/priority/weight are positional, so an earlier one left out is
    written as its default (port 1, priority 0) when a later one is given."""
    name = f"_{srv.service}._{srv.protocol}"
    if srv.domain:
        name += f".{srv.domain}"
    parts = [name]
    if srv.target and srv.target != ".":
        parts.append(srv.target)
        port, priority, weight = srv.port or 0, srv.priority or 0, srv.weight or 0
        if port or priority or weight:
            parts.append(str(port or 1))
        if priority or weight:
            parts.append(str(priority))
        if weight:
            parts.append(str(weight))
    return "srv-host=" + ",".join(parts)


def hostsfile_text(ndef: Any) -> str:
    """dhcp-hostsfile lines as libvirt's dnsmasqAddDhcpHost writes them: IPv4
    ``mac,ip[,name]``, IPv6 ``[id:ID,][name,][ip]``; lease time appended."""
    lines = []
    for ip in ndef.ips:
        net = _subnet(ip)
        v6 = net is not None and net.version == 6
        for host in ip.hosts:
            if v6:
                fields = ([f"id:{host.id}"] if host.id else []) + \
                    ([host.name] if host.name else [])
                if not fields:
                    continue
                fields.append(f"[{host.ip}]")
            else:
                fields = [host.mac] if host.mac else []
                fields += [host.ip] if host.ip else []
                fields += [host.name] if host.name else []
                if host.name and not host.mac:
                    fields = [host.name, host.ip]
            lease = _lease_time(host.lease_expiry, host.lease_unit)
            if lease:
                fields.append(lease)
            lines.append(",".join(f for f in fields if f))
    return "".join(f"{line}\n" for line in lines)


def addnhosts_text(ndef: Any) -> str:
    """addn-hosts: ``ip<TAB>name<TAB>...`` for the network's DNS hosts (names of
    static DHCP hosts dnsmasq knows from the hosts file)."""
    entries: dict[str, list[str]] = {}
    if ndef.dns_enable is not False:
        for host in ndef.dns_hosts:
            names = [h.strip() for h in host.hostnames if h and h.strip()]
            if host.ip and names:
                entries.setdefault(host.ip, []).extend(names)
    return "".join(f"{ip}\t" + "".join(f"{n}\t" for n in names) + "\n"
                   for ip, names in entries.items())


# --- leases ----------------------------------------------------------------------
@dataclass(frozen=True)
class Lease:
    expiry: int
    mac: str | None
    iaid: str | None
    ip: str
    hostname: str | None
    clientid: str | None


def parse_leases(text: str) -> list[Lease]:
    """dnsmasq's lease file: IPv4 lines ``expiry mac ip host clientid``; after a
    ``duid`` line, IPv6 lines ``expiry iaid ip host clientid``."""
    found: list[Lease] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0] == "duid":
            continue
        try:
            expiry = int(fields[0])
        except ValueError:
            continue
        host = None if fields[3] == "*" else fields[3]
        client = None if len(fields) < 5 or fields[4] == "*" else fields[4]
        if ":" in fields[2]:
            found.append(Lease(expiry, None, fields[1], fields[2], host, client))
        else:
            found.append(Lease(expiry, fields[1].lower(), None, fields[2], host, client))
    return found

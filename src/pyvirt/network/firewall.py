"""nftables rules for virtual networks, in a table of our own (``inet pyvirt``).

Each running network gets its own base chains, named after its bridge:
``fwd_<bridge>`` (filter, hook forward) and, for NAT, ``nat_<bridge>`` (nat, hook
postrouting). Rules are built as text here (:func:`network_rules`,
:func:`removal_script`) and applied with ``nft -f`` in one transaction
(:func:`apply`). Only our table is ever touched; it is deleted once its last
chain is gone. The forward rules follow libvirt's: NAT lets the network's
subnet out and only related/established traffic in; route lets both ways;
isolated lets traffic only between the network's own ports; open adds nothing.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from dataclasses import dataclass

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_FIREWALL, error

TABLE = "pyvirt"
FAMILY = "inet"
NFT = "nft"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class FirewallPlan:
    """What the rules of one network depend on."""

    bridge: str
    mode: str                                     # nat, route, isolated ("none"), open
    subnets: tuple[IPNetwork, ...] = ()
    forward_dev: str | None = None
    nat_addresses: tuple[str, str] | None = None  # SNAT source range
    nat_ports: tuple[int, int] | None = None
    nat_ipv6: bool = False

    def chain_names(self) -> tuple[str, ...]:
        if self.mode == "open":
            return ()
        names = (f"fwd_{self.bridge}",)
        if self.mode == "nat":
            names += (f"nat_{self.bridge}",)
        return names


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def _fam(net: IPNetwork) -> str:
    return "ip" if net.version == 4 else "ip6"


def forward_rules(plan: FirewallPlan) -> list[str]:
    br = _q(plan.bridge)
    out_dev = f" oifname {_q(plan.forward_dev)}" if plan.forward_dev else ""
    in_dev = f" iifname {_q(plan.forward_dev)}" if plan.forward_dev else ""
    rules = [f"iifname {br} oifname {br} accept"]
    if plan.mode in ("nat", "route"):
        for net in plan.subnets:
            rules.append(f"iifname {br}{out_dev} {_fam(net)} saddr {net} accept")
        for net in plan.subnets:
            state = " ct state related,established" if plan.mode == "nat" and (
                net.version == 4 or plan.nat_ipv6) else ""
            rules.append(f"oifname {br}{in_dev} {_fam(net)} daddr {net}{state} accept")
    rules += [f"iifname {br} reject", f"oifname {br} reject"]
    return rules


def nat_rules(plan: FirewallPlan) -> list[str]:
    rules = []
    out_dev = f" oifname {_q(plan.forward_dev)}" if plan.forward_dev else ""
    for net in plan.subnets:
        if net.version == 6 and not plan.nat_ipv6:
            continue
        fam = _fam(net)
        match = f"{fam} saddr {net}{out_dev}"
        if net.version == 4:
            rules.append(f"{match} ip daddr 224.0.0.0/24 return")
            rules.append(f"{match} ip daddr 255.255.255.255 return")
        ports = plan.nat_ports or (1024, 65535)
        for proto in ("tcp", "udp"):
            rules.append(f"{match} {fam} daddr != {net} meta l4proto {proto} "
                         f"{_translation(plan, fam, ports)}")
        rules.append(f"{match} {fam} daddr != {net} {_translation(plan, fam, None)}")
    return rules


def _translation(plan: FirewallPlan, fam: str, ports: tuple[int, int] | None) -> str:
    port_text = ""
    if ports is not None:
        port_text = f":{ports[0]}" if ports[0] == ports[1] else f":{ports[0]}-{ports[1]}"
    if plan.nat_addresses and fam == "ip":
        start, end = plan.nat_addresses
        target = start if start == end else f"{start}-{end}"
        return f"snat ip to {target}{port_text}"
    return f"masquerade to {port_text}" if port_text else "masquerade"


def network_rules(plan: FirewallPlan) -> str:
    """An ``nft -f`` script that (re)creates the network's chains and rules."""
    if plan.mode == "open":
        return ""
    where = f"{FAMILY} {TABLE}"
    lines = [f"add table {where}"]
    fwd = f"fwd_{plan.bridge}"
    lines.append(f"add chain {where} {fwd} {{ type filter hook forward priority 0; "
                 "policy accept; }")
    lines.append(f"flush chain {where} {fwd}")
    lines += [f"add rule {where} {fwd} {rule}" for rule in forward_rules(plan)]
    if plan.mode == "nat":
        nat = f"nat_{plan.bridge}"
        lines.append(f"add chain {where} {nat} {{ type nat hook postrouting priority 100; "
                     "policy accept; }")
        lines.append(f"flush chain {where} {nat}")
        lines += [f"add rule {where} {nat} {rule}" for rule in nat_rules(plan)]
    return "\n".join(lines) + "\n"


def removal_script(chains: list[str] | tuple[str, ...], existing: set[str]) -> str:
    """Delete those of ``chains`` that exist; the table too when nothing else is left."""
    gone = [c for c in chains if c in existing]
    lines = [f"delete chain {FAMILY} {TABLE} {c}" for c in gone]
    if existing and not existing - set(gone):
        lines = [f"delete table {FAMILY} {TABLE}"]
    return "\n".join(lines) + "\n" if lines else ""


# --- applying ---------------------------------------------------------------------
def nft_available() -> bool:
    return shutil.which(NFT) is not None


def _run_nft(args: list[str], script: str | None = None) -> subprocess.CompletedProcess:
    binary = shutil.which(NFT)
    if binary is None:
        raise error(VIR_ERR_INTERNAL_ERROR, "nft is not available: cannot build the "
                                            "network's firewall rules", domain=VIR_FROM_FIREWALL)
    return subprocess.run([binary, *args], input=script, capture_output=True, text=True,
                          check=False)


def apply(script: str) -> None:
    """Run an ``nft -f -`` script as one transaction."""
    if not script:
        return
    res = _run_nft(["-f", "-"], script)
    if res.returncode != 0:
        raise error(VIR_ERR_INTERNAL_ERROR, f"Failed to apply firewall rules {NFT} -f -: "
                                            f"{res.stderr.strip()}", domain=VIR_FROM_FIREWALL)


def our_chains() -> set[str]:
    """The chains of our table (empty when the table does not exist)."""
    if not nft_available():
        return set()
    res = _run_nft(["-j", "list", "table", FAMILY, TABLE])
    if res.returncode != 0:
        return set()
    found = set()
    for item in json.loads(res.stdout).get("nftables", []):
        chain = item.get("chain")
        if chain is not None and chain.get("table") == TABLE:
            found.add(chain["name"])
    return found


def table_exists() -> bool:
    if not nft_available():
        return False
    return _run_nft(["list", "table", FAMILY, TABLE]).returncode == 0


def add_network(plan: FirewallPlan) -> None:
    apply(network_rules(plan))


def remove_chains(chains: list[str] | tuple[str, ...]) -> None:
    """Remove a network's chains (those still there); never fails on absent ones."""
    if not chains or not nft_available():
        return
    existing = our_chains()
    script = removal_script(chains, existing)
    if script:
        apply(script)

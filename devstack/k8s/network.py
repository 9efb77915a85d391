"""The cluster's network on the host: blackhole routes, the pod bridge, forwarding rules.

Order matters (hard rule): the blackhole routes for the Service and pod ranges go in before any
component starts, so a packet to a ClusterIP that kube-proxy has not yet rewritten, or to a pod
address outside the bridge, is dropped here instead of leaving by the default route.
Everything is named by constants in `layout`, so `down` removes it whether or not `up` finished.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from devstack.k8s import layout

# Rules in the FORWARD chain, each inserted at the top. Docker's engine sets the chain's policy
# to DROP: traffic between pods on the bridge must be allowed, and nothing from a pod may leave
# the bridge for another interface (pods have no egress here).
FORWARD_RULES: tuple[tuple[str, ...], ...] = (
    ("-i", layout.BRIDGE, "-o", layout.BRIDGE, "-j", "ACCEPT"),
    ("-i", layout.BRIDGE, "!", "-o", layout.BRIDGE, "-j", "DROP"),
    ("!", "-i", layout.BRIDGE, "-o", layout.BRIDGE, "-j", "DROP"),
)
BLACKHOLES = (layout.SERVICE_RANGE, layout.POD_RANGE)
# Kernel settings the cluster needs; their values before `up` are put back by `down`.
SYSCTLS = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}
SYSCTL_STATE = layout.ROOT / "sysctls.json"


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True)


def _sysctl(key: str, value: str | None = None) -> str:
    path = Path("/proc/sys", *key.split("."))
    if value is not None:
        path.write_text(value)
    return path.read_text().strip()


def _set_sysctls() -> None:
    if not SYSCTL_STATE.exists():  # a second `up` must not record our own values as the host's
        SYSCTL_STATE.parent.mkdir(parents=True, exist_ok=True)
        SYSCTL_STATE.write_text(json.dumps({key: _sysctl(key) for key in SYSCTLS}))
    for key, value in SYSCTLS.items():
        _sysctl(key, value)


def _restore_sysctls() -> None:
    try:
        before = json.loads(SYSCTL_STATE.read_text())
    except FileNotFoundError:
        return
    for key, value in before.items():
        _sysctl(key, value)
    SYSCTL_STATE.unlink()


def add_blackholes() -> None:
    for cidr in BLACKHOLES:
        if cidr not in _run("ip", "route", "show", "type", "blackhole", cidr).stdout:
            _run("ip", "route", "add", "blackhole", cidr)


def up() -> None:
    add_blackholes()
    if _run("ip", "link", "show", layout.BRIDGE, check=False).returncode != 0:
        _run("ip", "link", "add", layout.BRIDGE, "type", "bridge")
    prefix = layout.POD_SUBNET.split("/")[1]
    if f"{layout.BRIDGE_IP}/{prefix}" not in _run("ip", "-4", "addr", "show", "dev", layout.BRIDGE).stdout:
        _run("ip", "addr", "add", f"{layout.BRIDGE_IP}/{prefix}", "dev", layout.BRIDGE)
    _run("ip", "link", "set", layout.BRIDGE, "up")
    # Pod -> ClusterIP -> pod on the same bridge: routed through the host (forwarding on) and
    # its reply seen by iptables (bridge netfilter), or conntrack cannot undo the DNAT.
    _set_sysctls()
    for rule in reversed(FORWARD_RULES):
        if _run("iptables", "-C", "FORWARD", *rule, check=False).returncode != 0:
            _run("iptables", "-I", "FORWARD", "1", *rule)


def _chains(table: str) -> list[str]:
    return [line.split()[1] for line in _run("iptables", "-t", table, "-S", check=False).stdout.splitlines()
            if line.startswith("-N ")]


def cleanup_iptables(chain_prefixes: tuple[str, ...] = ("KUBE-", "CNI-")) -> None:
    """Our FORWARD rules, then every rule jumping to a KUBE-/CNI- chain, then those chains."""
    for rule in FORWARD_RULES:
        while _run("iptables", "-D", "FORWARD", *rule, check=False).returncode == 0:
            pass
    for table in ("filter", "nat", "mangle"):
        ours = [c for c in _chains(table) if c.startswith(chain_prefixes)]
        for line in _run("iptables", "-t", table, "-S", check=False).stdout.splitlines():
            parts = line.split()
            if parts[:1] == ["-A"] and "-j" in parts and parts[parts.index("-j") + 1] in ours \
                    and parts[1] not in ours:
                _run("iptables", "-t", table, "-D", *parts[1:], check=False)
        for chain in ours:
            _run("iptables", "-t", table, "-F", chain, check=False)
        for chain in ours:
            _run("iptables", "-t", table, "-X", chain, check=False)


def cni_namespaces() -> list[str]:
    netns = Path("/var/run/netns")
    return sorted(p.name for p in netns.glob("cni-*")) if netns.is_dir() else []


def down() -> None:
    """Remove pod namespaces, the bridge, our rules and routes. Safe to run twice."""
    for name in cni_namespaces():
        _run("ip", "netns", "delete", name, check=False)
    _run("ip", "link", "delete", layout.BRIDGE, check=False)
    cleanup_iptables()
    for cidr in BLACKHOLES:
        _run("ip", "route", "del", "blackhole", cidr, check=False)
    # host-local IPAM's leases: stale ones would hand out addresses of pods that are gone.
    subprocess.run(["rm", "-rf", f"/var/lib/cni/networks/{layout.CNI_NETWORK}"], check=False)
    _restore_sysctls()


def leftovers() -> list[str]:
    """What `down` should have removed and is still there (empty when clean)."""
    found = []
    if _run("ip", "link", "show", layout.BRIDGE, check=False).returncode == 0:
        found.append(f"bridge {layout.BRIDGE}")
    found += [f"netns {n}" for n in cni_namespaces()]
    for cidr in BLACKHOLES:
        if _run("ip", "route", "show", "type", "blackhole", cidr).stdout.strip():
            found.append(f"route blackhole {cidr}")
    for table in ("filter", "nat", "mangle"):
        found += [f"iptables {table} chain {c}" for c in _chains(table) if c.startswith(("KUBE-", "CNI-"))]
    for rule in FORWARD_RULES:
        if _run("iptables", "-C", "FORWARD", *rule, check=False).returncode == 0:
            found.append("iptables FORWARD " + " ".join(rule))
    return found

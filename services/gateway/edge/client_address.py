"""The address a request came from, seen through the proxies the operator trusts.

Anonymous callers are told apart by source address (idempotency keys, client ids, rate and
auth-failure budgets: services/gateway/edge/auth.py). Behind an ingress or a load balancer every
request comes from the proxy, so every anonymous caller would be one. With
GATEWAY_TRUSTED_PROXIES set (addresses or CIDR ranges), a request from one of them is taken to
come from the rightmost X-Forwarded-For entry that is not a trusted proxy: the entries left of
it were written by the client and prove nothing. A request from anyone else is its own peer
address, whatever it claims. Trust only the proxies' own addresses: a trusted range that also
holds clients (a whole pod network) lets those clients name any address in the header.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from services.settings import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(text: str, name: str = "GATEWAY_TRUSTED_PROXIES") -> tuple[Network, ...]:
    """'10.0.0.0/8, 192.168.1.7' -> networks; a bad entry is a ConfigError naming it."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {part!r} is not an IP address or CIDR range") from None
    return tuple(out)


def _parsed(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, with an IPv4-mapped IPv6 one (a dual-stack listener's view of an IPv4
    peer, ::ffff:10.0.0.7) as the IPv4 address it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped if mapped is not None else ip


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, proxies: Iterable[Network]) -> bool:
    return ip is not None and any(ip in net for net in proxies if net.version == ip.version)


def client_address(peer: str | None, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str:
    """`peer` unless it is a trusted proxy; then the rightmost X-Forwarded-For entry (of all the
    headers, in order) that is not one. A chain of only trusted proxies ends at its leftmost."""
    address = peer or "?"
    if not proxies or not _trusted(_parsed(address), proxies):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        parsed = _parsed(hop)
        address = str(parsed) if parsed is not None else hop  # one spelling per address
        if not _trusted(parsed, proxies):
            break
    return address

"""Which addresses a user-chosen connection may reach: public ones, and the operator's list."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class EgressRefused(Exception):
    """The target may not be reached; the message says why, in words a user can act on."""


def parse_allowlist(entries: Iterable[str]) -> frozenset[str]:
    """`host:port` pairs (IPv6 as `[::1]:443`), normalized; anything else raises ValueError.

    Only exact pairs: a whole range (say, all of loopback, where PostgreSQL and Redis listen)
    cannot be written here.
    """
    allowed = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{entry!r} is not host:port")
        if "*" in host or "/" in host:
            raise ValueError(f"{entry!r}: list single hosts, not patterns or ranges")
        allowed.add(_pair(host.strip("[]"), int(port)))
    return frozenset(allowed)


def forbidden_reason(address: IPAddress) -> str | None:
    """Why `address` is off limits for user-chosen connections, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (CGNAT) address"
    if address.is_unspecified or address.is_reserved:
        return "a reserved address"
    if address.is_private or not address.is_global:
        return "a private address"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """Resolve a target and check every address it resolves to."""

    allow: frozenset[str] = field(default_factory=frozenset)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to, in the resolver's order; raises EgressRefused.

        A name resolving to any forbidden address is refused whole: an attacker who controls
        a zone could otherwise mix a private address in and win a race.
        """
        host = host.strip().rstrip(".").lower().strip("[]")
        if not host or not 0 < port < 65536:
            raise EgressRefused("The address has no host or no valid port.")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise EgressRefused(f"{host} does not resolve.") from error
        addresses: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise EgressRefused(f"{host} does not resolve.")
        if _pair(host, port) in self.allow:
            return addresses
        for address in addresses:
            reason = forbidden_reason(address)
            if reason and _pair(str(address), port) not in self.allow:
                shown = host if host == str(address) else f"{host} ({address})"
                raise EgressRefused(f"{shown}:{port} is {reason}: mcloud does not connect there.")
        return addresses


def _pair(host: str, port: int) -> str:
    host = host.lower().rstrip(".")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

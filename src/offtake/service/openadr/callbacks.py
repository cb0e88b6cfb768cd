"""Where the VTN may send webhook notifications (SSRF policy).

A subscription's ``callbackUrl`` must be ``http(s)`` and resolve only to public
addresses: loopback, link-local (cloud metadata at 169.254.169.254 included), private
(RFC 1918, ULA fc00::/7), carrier-grade NAT, multicast, reserved and unspecified targets
are refused with 400 when the subscription is written, and checked again before every
delivery (a name may resolve elsewhere later).  An admin allow-lists internal receivers
with ``OFFTAKE_OPENADR_CALLBACK_ALLOW``: a comma-separated list of host names and/or
CIDR blocks (e.g. ``127.0.0.1/32,10.20.0.0/16,receiver.internal``).  Deliveries follow no
redirect, give up after :data:`TIMEOUT_S` and read at most :data:`MAX_RESPONSE_BYTES`
of the answer.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from offtake.errors import InputError

ENV_ALLOW = "OFFTAKE_OPENADR_CALLBACK_ALLOW"
TIMEOUT_S = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def _allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    hosts: set[str] = set()
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in filter(None, (x.strip() for x in os.environ.get(ENV_ALLOW, "").split(","))):
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower().rstrip("."))
    return hosts, nets


def refused_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for cond, why in ((ip.is_loopback, "loopback"), (ip.is_link_local, "link-local"),
                      (ip.is_multicast, "multicast"), (ip.is_unspecified, "unspecified"),
                      (ip in _CGNAT if ip.version == 4 else False, "carrier-grade NAT"),
                      (ip.is_private, "private"), (ip.is_reserved, "reserved")):
        if cond:
            return why
    return None


def check_url(url: str) -> None:
    """Raise :class:`InputError` (400) unless ``url`` may receive notifications."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"callbackUrl '{url[:200]}' must be an http(s) URL with a host")
    host = parts.hostname.lower().rstrip(".")
    hosts, nets = _allow_list()
    if host in hosts:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"callbackUrl '{url[:200]}' has an invalid port") from None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise InputError(f"callbackUrl host '{host}' does not resolve") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if any(ip in n for n in nets if n.version == ip.version):
            continue
        why = refused_reason(ip)
        if why is not None:
            raise InputError(f"callbackUrl host '{host}' resolves to {ip}, a {why} address; "
                             "the VTN sends notifications only to public addresses unless an "
                             f"admin allow-lists the target ({ENV_ALLOW})")

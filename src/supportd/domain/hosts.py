"""Host header values: what a well-formed one is, and which ones name this machine.

A Host header is an authority without user information (RFC 9110 7.2, RFC 3986 3.2.2):
a registered name or an IPv4 address, or an IPv6 address in brackets, then an optional
port. Anything else (`[`, `a]b`, a `/`, `?`, `#` or `@`, spaces) is refused before it can
reach a signature or a link, where it would be read as part of a path or URL.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# Labels of letters, digits, '-' and '_' (container and service names use '_'), at
# most 63 characters each, separated by dots, with an optional final dot.
_NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?")
_PORT = re.compile(r"[0-9]{1,5}")
MAX_NAME = 253
LOCALHOST = frozenset({"localhost", "localhost."})


@dataclass(frozen=True, slots=True)
class Host:
    name: str  # a registered name, an IPv4 address, or an IPv6 address without brackets
    port: int | None
    ipv6: bool = False


def parse_host(value: str) -> Host | None:
    """The host and port of a Host header value, or None if it is not well-formed."""
    if value.startswith("["):
        address, bracket, rest = value[1:].partition("]")
        if not bracket or not _is_ipv6(address):
            return None
        port = _port(rest)
        return None if port is False else Host(address, port, ipv6=True)
    name, colon, port_text = value.partition(":")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        return None
    port = _port(colon + port_text)
    return None if port is False else Host(name, port)


def _port(text: str) -> int | bool | None:
    """None for no port, the port, or False for a malformed one."""
    if not text:
        return None
    if not text.startswith(":") or not _PORT.fullmatch(text[1:]):
        return False
    port = int(text[1:])
    return port if port <= 65535 else False


def _is_ipv6(text: str) -> bool:
    if "%" in text:  # a zone id means nothing to another machine
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def is_loopback_name(name: str) -> bool:
    """`localhost`, or a loopback address (127.0.0.0/8, ::1): names that only ever mean
    this machine. Other names can be pointed at 127.0.0.1 by whoever owns them (DNS
    rebinding)."""
    if name.lower() in LOCALHOST:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_host(value: str) -> bool:
    """Whether a Host header value names this machine: `127.0.0.1`, `[::1]` or
    `localhost`, with any port."""
    host = parse_host(value)
    return host is not None and is_loopback_name(host.name)

"""What an item watches: an ICMP host, `tcp://host:port` or an `http(s)://` URL, parsed once."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?"
)
MAX_LENGTH = 512


class AddressError(ValueError):
    """An address is none of the kinds AutoPing checks; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Address:
    """One address of an item: `kind` is icmp, tcp or http; `text` is what the user wrote."""

    text: str
    kind: str
    host: str
    port: int = 0
    tls: bool = False
    target: str = "/"  # the request target of an http(s) check


def _host(text: str, whole: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if HOSTNAME.fullmatch(text) and not text.replace(".", "").isdigit():
        return text
    raise AddressError(f"{whole!r}: {text!r} is neither an IP address nor a host name")


def parse_address(text: object) -> Address:
    """An Address, or AddressError naming the text and the forms that are accepted."""
    if not isinstance(text, str) or not text or len(text) > MAX_LENGTH:
        raise AddressError(f"an address is a string of 1-{MAX_LENGTH} characters")
    if "://" not in text:
        return Address(text, "icmp", _host(text, text))
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise AddressError(f"{text!r} is not a URL: {err}") from None
    host = parts.hostname or ""
    if parts.scheme == "tcp":
        if port is None or not 0 < port or parts.path not in ("", "/") or parts.query or parts.username:
            raise AddressError(f"{text!r}: a TCP check is tcp://HOST:PORT")
        return Address(text, "tcp", _host(host, text), port)
    if parts.scheme in ("http", "https"):
        if parts.username is not None or parts.fragment:
            raise AddressError(f"{text!r}: an HTTP check takes no user name, password or #fragment")
        tls = parts.scheme == "https"
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        return Address(text, "http", _host(host, text), port or (443 if tls else 80), tls, target)
    raise AddressError(
        f"{text!r}: use a host for ICMP (10.0.0.1), tcp://HOST:PORT or an http:// or https:// URL"
    )

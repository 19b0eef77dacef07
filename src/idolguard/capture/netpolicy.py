"""Which network addresses capture may reach (the SSRF guard shared by the fetcher, Chromium and yt-dlp).

Reported links are attacker-controlled, so a capture must never become a way into the agency's own network:
loopback, RFC 1918, link-local (cloud metadata), CGNAT, multicast, IPv6 ULA and every other non-global
range are refused, whether named directly, by odd spellings (``http://2130706433/``), by DNS names that
resolve there, or by redirects. The check resolves the host once and hands back the checked IPs; callers
connect to those IPs, never to the name again, so DNS rebinding between check and connect has no effect.
The only way in is an explicit allowlist (hostnames, IPs or CIDRs), used by tests for their local server.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from idolguard.capture.errors import CaptureRefused
from idolguard.errors import ErrorCode

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = ("http", "https")
# Ranges Python's ``is_global`` may still call global but that must never be dialled from a capture.
_EXTRA_FORBIDDEN = [
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT (shared address space)
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("fc00::/7"),  # ULA
    ipaddress.ip_network("fe80::/10"),  # link-local
    ipaddress.ip_network("fec0::/10"),  # old site-local
]


DNS_TIMEOUT_S = 10.0


def _getaddrinfo(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CaptureRefused(
            f"cannot resolve host {host!r}: {exc}", code=ErrorCode.CAPTURE_HOST_NOT_FOUND, host=host
        ) from exc
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def with_timeout(resolver: Resolver, seconds: float) -> Resolver:
    """``getaddrinfo`` has no timeout of its own: a hostile or broken DNS server must not stall a capture."""

    def resolve(host: str, port: int) -> list[str]:
        outcome: dict[str, object] = {}

        def work() -> None:
            try:
                outcome["ips"] = resolver(host, port)
            except Exception as exc:  # noqa: BLE001 - handed back to the caller's thread
                outcome["error"] = exc

        thread = threading.Thread(target=work, name=f"resolve-{host}", daemon=True)
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            raise CaptureRefused(
                f"DNS lookup of {host!r} took longer than {seconds:g} s", code=ErrorCode.CAPTURE_DNS_TIMEOUT, host=host
            )
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome["ips"]  # type: ignore[return-value]

    return resolve


system_resolver: Resolver = with_timeout(_getaddrinfo, DNS_TIMEOUT_S)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv6 form (mapped, 6to4, Teredo, NAT64), which would reach it too."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why an address is off limits for capture, or None when it is an ordinary public address."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        reason = forbidden_reason(inner)
        return f"{reason} (embedded in {ip})" if reason else None
    if ip.is_loopback:
        return "loopback address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    for net in _EXTRA_FORBIDDEN:
        if ip.version == net.version and ip in net:
            return f"reserved address ({net})"
    if ip.is_private:
        return "private address"
    if ip.is_reserved or not ip.is_global:
        return "non-global address"
    return None


@dataclass
class Target:
    """A checked URL: connect to ``ips`` (already vetted), send ``host`` as Host/SNI."""

    url: str
    scheme: str
    host: str
    port: int
    ips: list[str]


@dataclass
class NetPolicy:
    """The SSRF guard. ``allow`` entries are hostnames, IPs or CIDRs that may be reached despite the rules."""

    allow: Iterable[str] = ()
    resolver: Resolver = system_resolver
    allowed_hosts: set[str] = field(init=False, default_factory=set)
    allowed_networks: list[IPNetwork] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        for entry in self.allow:
            text = entry.strip().lower().rstrip(".")
            if not text:
                continue
            try:
                self.allowed_networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
            except ValueError:
                self.allowed_hosts.add(text)

    def ip_problem(self, address: str) -> str | None:
        """None when this IP may be dialled; otherwise the reason it may not."""
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return f"not an IP address: {address!r}"
        if any(ip.version == net.version and ip in net for net in self.allowed_networks):
            return None
        return forbidden_reason(ip)

    def check_url(self, url: str) -> Target:
        """Parse, vet and resolve ``url``; raise ``CaptureRefused`` with a clear reason if it is off limits."""
        parts = _split(url)
        host = _ascii_host((parts.hostname or "").lower().rstrip("."), url)
        port = _port(parts)
        if host in self.allowed_hosts:
            ips = self._resolve(host, port)
            return Target(url, parts.scheme, host, port, ips)
        ips = self._resolve(host, port)
        bad = [(ip, reason) for ip in ips if (reason := self.ip_problem(ip))]
        if bad:
            ip, reason = bad[0]
            shown = host if host == ip else f"{host} resolves to {ip}"
            raise CaptureRefused(
                f"refused {url}: {shown}, a {reason}; capture only reaches public addresses "
                f"(allow it explicitly with capture.allow or IDOLGUARD_CAPTURE_ALLOW)",
                code=ErrorCode.CAPTURE_PRIVATE_ADDRESS,
                url=url,
            )
        return Target(url, parts.scheme, host, port, ips)

    def _resolve(self, host: str, port: int) -> list[str]:
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        ips = [str(literal)] if literal is not None else self.resolver(host, port)
        if not ips:
            raise CaptureRefused(f"host {host!r} has no addresses", code=ErrorCode.CAPTURE_HOST_NOT_FOUND, host=host)
        return ips


def check_url_syntax(url: str) -> None:
    """Refuse a URL that could never be captured (malformed, not http/https, no host, credentials) without
    resolving anything, so the CLI can refuse it before any capture record is written."""
    _split(url)


def _split(url: str) -> SplitResult:
    if any(ch in url for ch in "\r\n\t\x00 "):
        raise CaptureRefused(
            f"refused {url!r}: whitespace or control characters in the URL", code=ErrorCode.CAPTURE_INVALID_URL
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise CaptureRefused(f"refused {url!r}: malformed URL ({exc})", code=ErrorCode.CAPTURE_INVALID_URL) from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise CaptureRefused(
            f"refused {url!r}: only http and https URLs can be captured", code=ErrorCode.CAPTURE_SCHEME
        )
    if not parts.hostname:
        raise CaptureRefused(f"refused {url!r}: no host name", code=ErrorCode.CAPTURE_INVALID_URL)
    if parts.username is not None or parts.password is not None:
        raise CaptureRefused(
            f"refused {url!r}: URLs with embedded credentials are not captured", code=ErrorCode.CAPTURE_CREDENTIALS
        )
    return parts


def _ascii_host(host: str, url: str) -> str:
    """Internationalised names in their IDNA (punycode) form, as DNS, the Host header and SNI need them."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise CaptureRefused(
            f"refused {url!r}: invalid international host name ({exc})", code=ErrorCode.CAPTURE_BAD_IDN
        ) from exc


def _port(parts: SplitResult) -> int:
    if parts.port is not None:
        return parts.port
    return 443 if parts.scheme.lower() == "https" else 80

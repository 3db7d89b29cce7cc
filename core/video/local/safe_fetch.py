"""Download a URL to a file without letting the URL reach inside our network (SSRF).

Rules: http and https only; every address a host name resolves to must be public
(no loopback, private, link-local, multicast, reserved, unspecified, shared-address
or cloud-metadata addresses); redirects are followed here, one hop at a time, with the
same check on each hop (at most `MAX_REDIRECTS`).

The check lives in the connector's DNS resolver, so the connection goes to exactly the
addresses that were checked: a name cannot resolve to a public address for the check
and to a private one for the connection (DNS rebinding). IP literals skip aiohttp's
resolver, so they are checked before each request.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from core.errors import TooLarge, UnsafeURL

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_CODES = {301, 302, 303, 307, 308}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo) are judged by
    the IPv4 address inside them too, and deprecated site-local fec0::/10 is internal.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address.is_site_local:
            return False
        else:
            embedded = [address.sixtofour] if address.sixtofour is not None else []
            embedded += list(address.teredo) if address.teredo is not None else []
            if not all(is_public_address(inner) for inner in embedded):
                return False
    if address in METADATA_ADDRESSES:
        return False
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return False
    return not (
        address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified or not address.is_global
    )


AddressPolicy = Callable[[IPAddress], bool]


def allow_any(_address: IPAddress) -> bool:
    return True


class CheckedResolver(AbstractResolver):
    """Resolves names and returns only addresses the policy allows; refuses otherwise."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        import asyncio

        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, family=family)
        except OSError as exc:
            raise UnsafeURL(f"I couldn't resolve the host {host!r}.") from exc
        results: list[ResolveResult] = []
        for info_family, _type, proto, _name, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if not self._policy(address):
                raise UnsafeURL(
                    f"I won't fetch from {host!r}: it resolves to {address}, a private or reserved "
                    "address."
                )
            results.append(ResolveResult(hostname=host, host=str(address), port=int(sockaddr[1]),
                                          family=info_family, proto=proto,
                                          flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV))
        if not results:
            raise UnsafeURL(f"I couldn't resolve the host {host!r}.")
        return results

    async def close(self) -> None:
        return None


def check_url(url: str, policy: AddressPolicy) -> None:
    """Refuse a bad scheme, a missing host, or an IP-literal host the policy forbids."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeURL(f"I only fetch http and https links, not {parts.scheme or 'this'!r}: {url}")
    host = parts.hostname
    if not host:
        raise UnsafeURL(f"That link has no host name: {url}")
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = _legacy_ipv4(host)
        if address is None:
            return  # a name: checked by CheckedResolver at connection time
        if policy(address):
            raise UnsafeURL(f"{host!r} is an unusual way to write the address {address}; "
                            "please use the usual form or the site's name.")
    if not policy(address):
        raise UnsafeURL(f"I won't fetch from {address}: it is a private or reserved address.")


_NUMERIC_HOST = re.compile(r"^[0-9a-fA-FxX.]+$")


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address behind a non-canonical IPv4 spelling (`2130706433`, `0x7f.1`, `127.1`,
    `127.0.0.1.`), which resolvers accept (inet_aton) but `ipaddress` and aiohttp do not."""
    candidate = host.rstrip(".")
    if not candidate[:1].isdigit() or not _NUMERIC_HOST.match(candidate):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(candidate))
    except OSError:
        return None


class SafeFetcher:
    """Streams a URL to a file under a size cap, checking every hop's addresses."""

    def __init__(self, *, max_bytes: int, allow_private: bool = False,
                 policy: AddressPolicy | None = None, timeout_s: float = 600.0) -> None:
        self.max_bytes = max_bytes
        self.policy: AddressPolicy = policy or (allow_any if allow_private else is_public_address)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=20)

    async def fetch(self, url: str, target: Path,
                    on_progress: Callable[[int, int | None], None] | None = None) -> str:
        """Download `url` into `target`; return the final URL (after redirects)."""
        connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.policy), use_dns_cache=False)
        async with aiohttp.ClientSession(connector=connector, timeout=self.timeout,
                                         trust_env=False) as client:
            current = url
            for _hop in range(MAX_REDIRECTS + 1):
                check_url(current, self.policy)
                try:
                    async with client.get(current, allow_redirects=False) as response:
                        if response.status in REDIRECT_CODES and "Location" in response.headers:
                            current = urljoin(current, response.headers["Location"])
                            continue
                        await self._save(response, url, target, on_progress)
                        return current
                except aiohttp.ClientError as exc:
                    raise UnsafeURL(f"I couldn't download {url}: {_describe(exc)}") from exc
                except TimeoutError as exc:  # aiohttp's total timeout; not the agent's own time limit
                    raise UnsafeURL(f"I couldn't download {url}: it took longer than "
                                    f"{self.timeout.total:.0f} s.") from exc
        raise UnsafeURL(f"{url} redirected more than {MAX_REDIRECTS} times; I gave up.")

    async def _save(self, response: aiohttp.ClientResponse, url: str, target: Path,
                    on_progress: Callable[[int, int | None], None] | None) -> None:
        if response.status != 200:
            raise UnsafeURL(f"I couldn't download {url}: the server answered {response.status}.")
        declared = response.content_length
        if declared is not None and declared > self.max_bytes:
            raise TooLarge(_too_large(url, declared, self.max_bytes))
        received = 0
        with target.open("wb") as handle:
            async for chunk in response.content.iter_chunked(1 << 16):
                received += len(chunk)
                if received > self.max_bytes:
                    raise TooLarge(_too_large(url, received, self.max_bytes))
                handle.write(chunk)
                if on_progress is not None:
                    on_progress(received, declared)


def _too_large(what: str, size: int, limit: int) -> str:
    return (f"{what} is larger than the upload limit of {limit / 1_048_576:.0f} MB "
            f"(at least {size / 1_048_576:.1f} MB). Raise MAX_UPLOAD_MB to allow it.")


def _describe(exc: BaseException) -> str:
    cause: Any = exc.__cause__ or exc.__context__
    if isinstance(cause, UnsafeURL):
        return cause.user_message
    return type(exc).__name__

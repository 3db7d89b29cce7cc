"""The address rules of the SSRF-safe downloader, checked without any network."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest
from aiohttp import web

from core.errors import UnsafeURL
from core.video.local.safe_fetch import CheckedResolver, SafeFetcher, check_url, is_public_address


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.8.8", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "169.254.1.1",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1",
    "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "2001:db8::1",
    # IPv6 forms that carry an internal IPv4 address, and deprecated site-local
    "2002:7f00:1::", "2002:a9fe:a9fe::", "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:80ff:fefe", "fec0::1",
])
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8",
                                     "2002:808:808::1"])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("url", ["ftp://example.com/a.mp4", "file:///etc/passwd", "gopher://x/", "http:///path",
                                 "http://127.0.0.1/a.mp4", "https://[::1]/a.mp4"])
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, is_public_address)


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://017700000001/",
                                 "http://0x7f000001/", "http://127.0.0.1./"])
async def test_odd_spellings_of_loopback_get_our_refusal(url: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeURL, match=r"I won't fetch from 127\.0\.0\.1: it is a private or reserved address"):
        await SafeFetcher(max_bytes=10).fetch(url, tmp_path / "out")


def test_an_odd_spelling_of_a_public_address_is_refused_in_words() -> None:
    with pytest.raises(UnsafeURL, match=r"unusual way to write the address 8\.8\.8\.8"):
        check_url("http://134744072/v.mp4", is_public_address)


def test_check_url_leaves_names_to_the_resolver() -> None:
    check_url("https://videos.example.com/a.mp4", is_public_address)


async def test_resolver_refuses_a_name_that_resolves_to_loopback() -> None:
    with pytest.raises(UnsafeURL, match="resolves to"):
        await CheckedResolver(is_public_address).resolve("localhost", 80)


async def test_resolver_returns_the_checked_addresses() -> None:
    results = await CheckedResolver(lambda _address: True).resolve("localhost", 8080)
    assert results and all(result["hostname"] == "localhost" and result["port"] == 8080 for result in results)
    assert {result["host"] for result in results} <= {"127.0.0.1", "::1"}


async def test_a_stalled_download_times_out_with_a_clear_message(tmp_path: Path) -> None:
    """aiohttp's total timeout is a bare TimeoutError; it must not pass for the agent's own time limit."""
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b"x" * 10)
        await release.wait()
        return response

    app = web.Application()
    app.router.add_get("/slow.mp4", stall)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        fetcher = SafeFetcher(max_bytes=1 << 20, allow_private=True, timeout_s=0.3)
        with pytest.raises(UnsafeURL, match="took longer than"):
            await fetcher.fetch(f"http://127.0.0.1:{runner.addresses[0][1]}/slow.mp4", tmp_path / "out")
    finally:
        release.set()
        await runner.cleanup()

"""Watch and media links are signed and expire; they are cached privately; a deleted
video's links, and those of the clips cut from it, stop working."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest

from core.video.backend import UploadSource
from core.video.local import MediaServer
from core.video.local.links import Check, LinkSigner
from tests.core.video.local.conftest import Library, Media

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.media]


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {**dict(parse_qsl(parts.query)), **changes}
    return urlunsplit(parts._replace(query=urlencode({k: v for k, v in query.items() if v is not None})))


async def status_of(url: str) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        await response.read()
        return response.status, dict(response.headers)


async def test_only_signed_links_open_and_they_are_cached_privately(library: Library, media: Media) -> None:
    video = await library.backend.upload(library.collection_id, UploadSource(path=media.talk), name="signed")
    assert video.player_url and video.stream_url and "sig=" in video.player_url
    for url in (video.player_url, video.stream_url):
        status, headers = await status_of(url)
        assert status == 200
        assert headers["Cache-Control"].startswith("private, max-age=") and headers["Referrer-Policy"] == "no-referrer"
        assert 0 < int(headers["Cache-Control"].rsplit("=", 1)[1]) <= 3600

    forged = [with_query(video.player_url, sig=None, exp=None), with_query(video.player_url, sig="A" * 43),
              with_query(video.player_url, exp=str(int(dict(parse_qsl(urlsplit(video.player_url).query))["exp"]) + 1)),
              with_query(video.stream_url, sig=None),
              # one link's signature does not open another path
              video.stream_url.replace(urlsplit(video.stream_url).path, urlsplit(video.player_url).path)]
    for url in forged:
        assert (await status_of(url))[0] == 404, url


async def test_an_expired_link_says_so(library: Library, media: Media) -> None:
    now = [1_000_000.0]
    signer = LinkSigner(b"k" * 32, ttl_s=120, clock=lambda: now[0])
    backend = library.with_limits(links=signer)
    server = MediaServer(backend)
    base = await server.start("127.0.0.1", 0)
    backend.public_url = lambda: base
    try:
        collection = (await backend.create_collection("short-lived links")).id  # its own: the talk is in the other
        video = await backend.upload(collection, UploadSource(path=media.talk), name="short-lived")
        assert video.player_url and (await status_of(video.player_url))[0] == 200
        now[0] += 240  # past the TTL, however it was rounded
        async with aiohttp.ClientSession() as client, client.get(video.player_url) as response:
            assert response.status == 410 and "expired" in await response.text()
        assert video.stream_url and (await status_of(video.stream_url))[0] == 410
    finally:
        await server.stop()


async def test_a_deleted_videos_links_and_renders_stop_working(library: Library, media: Media) -> None:
    backend = library.backend
    collection = (await backend.create_collection("deleted video")).id  # its own: the talk is in the other
    video = await backend.upload(collection, UploadSource(path=media.talk), name="to delete")
    clip = await backend.stream(collection, video.id, [(0.5, 2.0)])
    links = [video.player_url, video.stream_url, video.thumbnail_url, clip.player_url, clip.stream_url]
    assert all(links) and [(await status_of(url or ""))[0] for url in links] == [200] * 5

    await backend.delete_video(collection, video.id)
    assert [(await status_of(url or ""))[0] for url in links] == [404] * 5
    assert await backend.store.stream(clip.id) is None


def test_links_verify_wherever_the_key_is_shared() -> None:
    clock = lambda: 1_000_000.0  # noqa: E731
    made = LinkSigner(b"shared", ttl_s=7 * 24 * 3600, clock=clock).sign("https://bot.example", "/watch/abc")
    query = dict(parse_qsl(urlsplit(made).query))
    assert int(query["exp"]) % 3600 == 0 and int(query["exp"]) >= 1_000_000 + 7 * 24 * 3600
    assert LinkSigner(b"shared", clock=clock).verify("/watch/abc", query).check is Check.ok
    assert LinkSigner(b"another", clock=clock).verify("/watch/abc", query).check is Check.invalid
    assert LinkSigner(b"shared", clock=clock).verify("/watch/abd", query).check is Check.invalid

"""The attachment fetcher against the fake's private file URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from adapters.slack.files import SlackFileFetcher, is_slack_file_host
from adapters.slack.inbound import attachment
from core.errors import NotAVideo, PermissionDenied, TooLarge
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

DATA = b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000


async def test_downloads_with_the_bot_token(fake_slack: FakeSlack, tmp_path: Path) -> None:
    file = attachment(fake_slack.add_file("a.mp4", DATA))  # type: ignore[arg-type]
    path = await SlackFileFetcher(BOT_TOKEN, fake_slack.api_url)(file, tmp_path / "a.mp4", 10_000)
    assert path.read_bytes() == DATA
    assert fake_slack.downloads[-1][1] == BOT_TOKEN


async def test_html_login_page_names_the_scope(fake_slack: FakeSlack, tmp_path: Path) -> None:
    fake_slack.token_scopes[BOT_TOKEN].discard("files:read")
    file = attachment(fake_slack.add_file("a.mp4", DATA))  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied, match="files:read"):
        await SlackFileFetcher(BOT_TOKEN, fake_slack.api_url)(file, tmp_path / "a.mp4", 10_000)


async def test_size_cap_while_streaming_and_type_check(fake_slack: FakeSlack, tmp_path: Path) -> None:
    big = attachment(fake_slack.add_file("a.mp4", DATA))  # type: ignore[arg-type]
    big.size = None  # Slack's declared size missing: the stream is still capped
    with pytest.raises(TooLarge):
        await SlackFileFetcher(BOT_TOKEN, fake_slack.api_url)(big, tmp_path / "a.mp4", 1000)
    assert not (tmp_path / "a.mp4").exists()
    pdf = attachment(fake_slack.add_file("a.pdf", b"%PDF", mimetype="application/pdf"))  # type: ignore[arg-type]
    with pytest.raises(NotAVideo):
        await SlackFileFetcher(BOT_TOKEN, fake_slack.api_url)(pdf, tmp_path / "b.pdf", 1000)


async def test_the_token_never_goes_to_a_host_outside_slack(fake_slack: FakeSlack, tmp_path: Path) -> None:
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(body=DATA, content_type="video/mp4")

    app = web.Application()
    app.router.add_get("/{name}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        file = attachment(fake_slack.add_file("a.mp4", DATA))  # type: ignore[arg-type]
        file.url = f"http://127.0.0.1:{port}/a.mp4"  # same host, another origin: an external file
        with pytest.raises(NotAVideo, match="outside Slack"):
            await SlackFileFetcher(BOT_TOKEN, fake_slack.api_url)(file, tmp_path / "a.mp4", 10_000)
    finally:
        await runner.cleanup()
    assert seen == []


def test_slack_file_hosts() -> None:
    from yarl import URL

    api = URL("https://slack.com/api/")
    assert is_slack_file_host(URL("https://files.slack.com/files-pri/T1-F1/download/a.mp4"), api)
    assert not is_slack_file_host(URL("http://files.slack.com/a.mp4"), api)
    assert not is_slack_file_host(URL("https://files.slack.com.evil.test/a.mp4"), api)
    assert not is_slack_file_host(URL("https://docs.google.com/a"), api)

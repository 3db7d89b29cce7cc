"""The attachment fetcher against the fake's private file URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.slack.files import SlackFileFetcher
from adapters.slack.inbound import attachment
from core.errors import NotAVideo, PermissionDenied, TooLarge
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

DATA = b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000


async def test_downloads_with_the_bot_token(fake_slack: FakeSlack, tmp_path: Path) -> None:
    file = attachment(fake_slack.add_file("a.mp4", DATA))  # type: ignore[arg-type]
    path = await SlackFileFetcher(BOT_TOKEN)(file, tmp_path / "a.mp4", 10_000)
    assert path.read_bytes() == DATA
    assert fake_slack.downloads[-1][1] == BOT_TOKEN


async def test_html_login_page_names_the_scope(fake_slack: FakeSlack, tmp_path: Path) -> None:
    fake_slack.token_scopes[BOT_TOKEN].discard("files:read")
    file = attachment(fake_slack.add_file("a.mp4", DATA))  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied, match="files:read"):
        await SlackFileFetcher(BOT_TOKEN)(file, tmp_path / "a.mp4", 10_000)


async def test_size_cap_while_streaming_and_type_check(fake_slack: FakeSlack, tmp_path: Path) -> None:
    big = attachment(fake_slack.add_file("a.mp4", DATA))  # type: ignore[arg-type]
    big.size = None  # Slack's declared size missing: the stream is still capped
    with pytest.raises(TooLarge):
        await SlackFileFetcher(BOT_TOKEN)(big, tmp_path / "a.mp4", 1000)
    assert not (tmp_path / "a.mp4").exists()
    pdf = attachment(fake_slack.add_file("a.pdf", b"%PDF", mimetype="application/pdf"))  # type: ignore[arg-type]
    with pytest.raises(NotAVideo):
        await SlackFileFetcher(BOT_TOKEN)(pdf, tmp_path / "b.pdf", 1000)

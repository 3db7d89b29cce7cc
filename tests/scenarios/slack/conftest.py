"""The Slack bot end to end: the real Bolt app served in HTTP mode on loopback,
the real slack_sdk client talking to the fake Slack Web API, the core on SQLite
with the local video backend. Events arrive as real signed HTTP POSTs."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from adapters.slack import SlackOptions, SlackRuntime, create_slack_runtime
from adapters.slack.delivery import DeliveryOptions
from adapters.slack.server import HttpServer
from adapters.slack.stream_delivery import StreamOptions
from bot.platforms import slack_config
from bot.wiring import App, build_app
from core.llm.base import BaseLLM
from tests.conftest import make_settings
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeMessage,
    FakeSlack,
    block_action,
    event_body,
    sign,
)

TALK = "Welcome to the quarterly review. Next we discuss the new pricing model. Thank you for listening."


def write_talk_video(path: Path, text: str = TALK) -> Path:
    """A small MP4 with `text` spoken by espeak-ng over a plain picture."""
    wav = path.with_suffix(".wav")
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(wav), text], check=True)
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    subprocess.run(
        [ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=blue:s=160x120:r=10", "-i", str(wav),
         "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
        check=True,
    )
    wav.unlink()
    return path


@pytest.fixture(scope="session")
def talk_video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_talk_video(tmp_path_factory.mktemp("slack-media") / "quarterly review.mp4").read_bytes()


@dataclass
class SlackBot:
    """One running bot and the fake workspace it talks to."""

    fake: FakeSlack
    app: App
    runtime: SlackRuntime
    server: HttpServer
    http: aiohttp.ClientSession
    stopped: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        async with self.http.post(self.url + path, data=body, headers=headers) as response:
            await response.read()
            return response.status

    async def send(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None,
                   timestamp: int | None = None, secret: str = SIGNING_SECRET, team: str | None = None) -> int:
        """POST one signed event_callback to /slack/events; returns the HTTP status."""
        return await send_event(self.http, self.url, event, event_id=event_id, retry_num=retry_num,
                                timestamp=timestamp, secret=secret, team=team)

    async def press(self, action_id: str, value: str, card: FakeMessage, user: str = "U0USER") -> int:
        """Press a button on a card, as Slack's interactivity request (form-encoded)."""
        payload = block_action(action_id, value, channel=card.channel, message_ts_=card.ts, user=user)
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        return await self.post("/slack/interactivity", body, headers)

    def cards(self, channel: str, thread_ts: str) -> list[FakeMessage]:
        """The bot's job cards in a thread (file uploads left out)."""
        return [m for m in self.fake.thread(channel, thread_ts) if not m.files]

    async def final_card(self, channel: str, thread_ts: str, index: int = 0, timeout: float = 60) -> FakeMessage:
        """Wait until the index-th card of the thread shows a final status."""

        def done() -> FakeMessage | None:
            cards = self.cards(channel, thread_ts)
            if len(cards) > index and not cards[index].button("director_cancel") and "⏳" not in cards[index].text:
                return cards[index]
            return None

        card: FakeMessage = await self.fake.wait_until(done, timeout)
        return card

    def turn_ids(self) -> list[str]:
        return [r.params["metadata"]["event_payload"]["turn_id"] for r in self.fake.posted()
                if isinstance(r.params.get("metadata"), dict)]

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        await self.server.stop()
        await self.app.stop()
        await self.runtime.close(grace=2.0)


async def send_event(http: aiohttp.ClientSession, url: str, event: dict[str, Any], *, event_id: str | None = None,
                     retry_num: int | None = None, timestamp: int | None = None, secret: str = SIGNING_SECRET,
                     team: str | None = None) -> int:
    """POST one signed event_callback to `url`/slack/events, as Slack does; the HTTP status."""
    body = json.dumps(event_body(event, event_id=event_id, **({"team": team} if team else {}))).encode()
    headers = {"Content-Type": "application/json", **sign(body, timestamp, secret)}
    if retry_num:
        headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
    async with http.post(url + "/slack/events", data=body, headers=headers) as response:
        await response.read()
        return response.status


BotFactory = Callable[..., Awaitable[SlackBot]]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


@pytest.fixture
async def slack_bot(fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[BotFactory]:
    """`bot = await slack_bot(llm=..., min_interval=..., **settings)`: started, stopped at teardown."""
    bots: list[SlackBot] = []
    http = aiohttp.ClientSession()

    async def factory(llm: BaseLLM | None = None, min_interval: float = 0.2, data_dir: Path | None = None,
                      react: bool = True, delivery: DeliveryOptions | None = None, stream: StreamOptions | None = None,
                      **overrides: Any) -> SlackBot:
        values: dict[str, Any] = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                                  "SLACK_API_URL": fake_slack.api_url,
                                  "SLACK_STREAMING": "false"}  # the edited card; streamed replies opt in
        values.update(overrides)
        settings = make_settings(data_dir or tmp_path / "data", **values)
        app = await build_app(settings, llm=llm)
        options = SlackOptions(delivery=delivery or DeliveryOptions(min_interval=min_interval), react=react,
                               stream=stream or StreamOptions(min_interval=0.05))
        runtime = create_slack_runtime(app, slack_config(settings), options)
        server = HttpServer(runtime.aiohttp_app())
        port = await server.start("127.0.0.1", 0)
        app.media_base_url = f"http://127.0.0.1:{port}"
        await app.start(serve_media=False)
        bot = SlackBot(fake_slack, app, runtime, server, http)
        bots.append(bot)
        return bot

    yield factory
    for bot in reversed(bots):
        await bot.stop()
    await http.close()


def now() -> int:
    return int(time.time())

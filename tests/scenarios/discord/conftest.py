"""The Discord bot end to end: real discord.py over loopback against the fake Discord
(REST + gateway), the core on SQLite with the local video backend. Events arrive as
gateway frames (INTERACTION_CREATE, MESSAGE_CREATE); tests assert on the state the
fake recorded (threads, messages, edits)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.discord import DeliveryOptions, DiscordBot, start_bot, urls
from bot.platforms import discord_config
from bot.wiring import App, build_app
from core.llm.base import BaseLLM
from tests.conftest import make_settings
from tests.fakes.discord_server import FakeDiscord
from tests.helpers.media import make_talk_video

TALK = "Welcome to the quarterly review. Next we discuss the new pricing model. Thank you for listening."


@pytest.fixture(scope="session")
def talk_video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("discord-media") / "quarterly review.mp4"
    return make_talk_video(path, TALK).read_bytes()


@dataclass
class World:
    """The fake server's guild and channels the tests use."""

    fake: FakeDiscord
    guild: int
    channel: int
    other_channel: int


@dataclass
class Bot:
    """One running bot process (App + discord.py client) and the fake it talks to."""

    fake: FakeDiscord
    app: App
    discord: DiscordBot
    http: aiohttp.ClientSession
    stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def job_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """The bot's job messages in a thread (not interaction answers)."""
        return [m for m in self.fake.messages_in(channel_id)
                if m["author"]["id"] == str(self.fake.app_id) and "interaction_metadata" not in m]

    async def final_job(self, channel_id: int, index: int = 0, timeout: float = 90) -> dict[str, Any]:
        """Wait until the index-th job message of a thread shows a final state."""

        def done() -> dict[str, Any] | None:
            jobs = self.job_messages(channel_id)
            if len(jobs) > index and is_final(jobs[index]):
                return jobs[index]
            return None

        message: dict[str, Any] = await self.fake.wait_for(done, timeout)
        return message

    async def thread_of(self, interaction_id: int, timeout: float = 30) -> int:
        """The thread the interaction's answer points at ("Working on it in <#id>")."""

        def pointer() -> int | None:
            original = self.fake.original_response(interaction_id)
            match = re.search(r"<#(\d+)>", (original or {}).get("content") or "")
            return int(match.group(1)) if match else None

        thread: int = await self.fake.wait_for(pointer, timeout)
        return thread

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        await self.discord.close()
        await self.app.stop()


def is_final(message: dict[str, Any]) -> bool:
    return "⏳" not in message["content"] and not custom_ids(message, "cancel")


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("components") or [] for b in row.get("components") or []]


def link_urls(message: dict[str, Any]) -> dict[str, str]:
    return {b["label"]: b["url"] for b in buttons(message) if b.get("url")}


def custom_ids(message: dict[str, Any], action: str) -> list[str]:
    return [b["custom_id"] for b in buttons(message) if (b.get("custom_id") or "").startswith(f"director:{action}:")]


def all_text(message: dict[str, Any]) -> str:
    parts = [message["content"]]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields") or []]
    return "\n".join(parts)


BotFactory = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.close()
    urls.apply(None, None)


@pytest.fixture
def world(fake_discord: FakeDiscord) -> World:
    guild = fake_discord.add_guild("Studio")
    return World(fake_discord, guild, fake_discord.add_text_channel(guild, "clips"),
                 fake_discord.add_text_channel(guild, "marketing"))


@pytest.fixture
async def discord_bot(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[BotFactory]:
    """`bot = await discord_bot(llm=..., min_interval=..., **settings)`: ready on the gateway."""
    bots: list[Bot] = []
    http = aiohttp.ClientSession()

    async def factory(llm: BaseLLM | None = None, min_interval: float = 0.2, data_dir: Path | None = None,
                      options: DeliveryOptions | None = None, **overrides: Any) -> Bot:
        values: dict[str, Any] = {"DISCORD_BOT_TOKEN": fake_discord.bot_token,
                                  "DISCORD_API_URL": fake_discord.api_url,
                                  "DISCORD_GATEWAY_URL": fake_discord.gateway_url}
        values.update(overrides)
        settings = make_settings(data_dir or tmp_path / "data", **values)
        app = await build_app(settings, llm=llm)
        options = options or DeliveryOptions(min_interval=min_interval, edits_per_window=50)
        discord_bot = await start_bot(app, discord_config(settings), options=options)
        bot = Bot(fake_discord, app, discord_bot, http)
        bots.append(bot)
        return bot

    yield factory
    for bot in reversed(bots):
        await bot.stop()
    await http.close()

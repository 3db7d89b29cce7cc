"""Nothing the bot sends or edits can ping: every message it posts, edits, replies or
follows up with carries `allowed_mentions` that allow nobody, so `@everyone` or a
`<@&role>` quoted from a person or written by a model stays text. Checked on the
requests the fake Discord received from the real discord.py client."""

from __future__ import annotations

from typing import Any

from adapters.discord.client import create_client
from adapters.discord.config import DiscordConfig
from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.scenarios.discord.conftest import BotFactory, World, all_text

PINGS = "@everyone @here <@&123456789012345678> <@234567890123456789>"


def message_bodies(world: World) -> list[dict[str, Any]]:
    """Bodies of every request that sends message content (posts, edits, replies, follow-ups)."""
    return [r.body for r in world.fake.requests
            if r.method in ("POST", "PATCH") and isinstance(r.body, dict)
            and ("content" in r.body or "embeds" in r.body)]


def pings_nobody(body: dict[str, Any]) -> bool:
    allowed = body.get("allowed_mentions")
    return (isinstance(allowed, dict) and allowed.get("parse") == [] and not allowed.get("users")
            and not allowed.get("roles") and not allowed.get("replied_user"))


async def test_every_message_sent_or_edited_allows_no_mentions(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake

    def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        return LLMResponse(content=f"Sure {PINGS}, done.")

    bot = await discord_bot(llm=ScriptedLLM(script))
    asked = await fake.slash(world.guild, world.channel, "ask", {"prompt": f"greet {PINGS}"})
    job = await bot.final_job(await bot.thread_of(asked))
    assert "@everyone" in all_text(job)  # quoted, as text

    refused = await fake.slash(world.guild, world.channel, "clip", {"video": "talk", "start": "@everyone",
                                                                    "end": "1:00"})
    await fake.wait_for(lambda: "@everyone" in ((fake.original_response(refused) or {}).get("content") or ""))

    await fake.user_message(world.guild, world.channel, f"hello {PINGS}", mention_bot=True)
    [thread] = await fake.wait_for(lambda: fake.threads_of(world.channel)[1:] or None)
    await bot.final_job(int(thread["id"]))

    bodies = message_bodies(world)
    assert len(bodies) >= 4
    assert [body for body in bodies if not pings_nobody(body)] == []


def test_the_client_pings_nobody_by_default(tmp_path: Any) -> None:
    client = create_client(DiscordConfig(bot_token="t", data_dir=tmp_path))
    assert client.allowed_mentions is not None
    assert pings_nobody({"allowed_mentions": client.allowed_mentions.to_dict()})

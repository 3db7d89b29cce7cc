"""Cancel and Retry are visible to everyone in the thread, but only the person who asked
(or an admin: Manage Server or DISCORD_ADMIN_ROLE) may press them to any effect; anyone
else gets a private note and the job carries on."""

from __future__ import annotations

import asyncio
from typing import Any

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.fakes.discord_server import ALL_TEXT_PERMISSIONS, MANAGE_GUILD
from tests.scenarios.discord.conftest import BotFactory, World, custom_ids

FOLLOWUP = r"/api/v10/webhooks/\d+/[^/]+$"


def blocked(started: asyncio.Event) -> ScriptedLLM:
    async def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return ScriptedLLM(script)


def followup_notes(world: World) -> list[dict[str, Any]]:
    return [r.body for r in world.fake.calls("POST", FOLLOWUP) if r.body]


async def test_only_the_requester_or_an_admin_can_cancel_or_retry(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    started = asyncio.Event()
    bot = await discord_bot(llm=blocked(started))
    alice = fake.add_member(world.guild, "alice")
    bob = fake.add_member(world.guild, "bob")
    interaction = await fake.slash(world.guild, world.channel, "ask", {"prompt": "a long job"}, user_id=alice)
    thread = await bot.thread_of(interaction)
    await asyncio.wait_for(started.wait(), 30)
    [job] = await fake.wait_for(lambda: bot.job_messages(thread))
    message_id = int(job["id"])
    [cancel] = await fake.wait_for(lambda: custom_ids(fake.messages[message_id], "cancel"))

    await fake.click(world.guild, message_id, cancel, user_id=bob)
    [note] = await fake.wait_for(lambda: followup_notes(world))
    assert f"<@{alice}>" in note["content"] and note["flags"] & 64  # ephemeral, to bob only
    assert "⏳" in fake.messages[message_id]["content"]  # still running
    assert custom_ids(fake.messages[message_id], "cancel") == [cancel]

    await fake.click(world.guild, message_id, cancel, user_id=alice)
    final = await bot.final_job(thread)
    assert "Cancelled" in final["content"]
    [retry] = custom_ids(final, "retry")

    await fake.click(world.guild, message_id, retry, user_id=bob)
    await fake.wait_for(lambda: len(followup_notes(world)) == 2)
    assert "Cancelled" in fake.messages[message_id]["content"]  # not rerun

    await fake.click(world.guild, message_id, retry, user_id=bob, permissions=ALL_TEXT_PERMISSIONS | MANAGE_GUILD)
    rerun = await fake.wait_for(lambda: custom_ids(fake.messages[message_id], "cancel") and fake.messages[message_id])
    assert "⏳" in rerun["content"]
    assert len(followup_notes(world)) == 2

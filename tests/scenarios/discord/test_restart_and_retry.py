"""A process dies mid-job: the next one marks the job message interrupted, and its
persistent Retry button (pressed on the new process) reruns it in the same message.
Cancel works the same way while a job runs."""

from __future__ import annotations

import asyncio

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.scenarios.discord.conftest import BotFactory, World, all_text, custom_ids


def blocked(started: asyncio.Event) -> ScriptedLLM:
    """An LLM that never answers: the job stays running until its process goes away."""

    async def script(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return ScriptedLLM(script)


def answering(text: str) -> ScriptedLLM:
    return ScriptedLLM(lambda messages, tools: LLMResponse(content=text))


async def test_interrupted_job_is_retried_from_its_button_after_a_restart(
    discord_bot: BotFactory, world: World, tmp_path
) -> None:
    fake = world.fake
    started = asyncio.Event()
    first = await discord_bot(llm=blocked(started), data_dir=tmp_path / "shared")
    interaction = await fake.slash(world.guild, world.channel, "ask", {"prompt": "a long job"})
    thread = await first.thread_of(interaction)
    await asyncio.wait_for(started.wait(), 30)
    [job] = await fake.wait_for(lambda: first.job_messages(thread))
    await fake.wait_for(lambda: custom_ids(fake.messages[int(job["id"])], "cancel"))

    await first.discord.close()  # the process "dies": its gateway goes, the turn stays "running"
    second = await discord_bot(llm=answering("Recovered."), data_dir=tmp_path / "shared")

    message_id = int(job["id"])
    interrupted = await fake.wait_for(
        lambda: "Interrupted" in fake.messages[message_id]["content"] and fake.messages[message_id])
    [retry] = custom_ids(interrupted, "retry")

    press = await fake.click(world.guild, message_id, retry)
    [callback] = await fake.wait_for(lambda: fake.callbacks(press))
    assert callback.body["type"] == 6  # deferred update: the job message shows what happens
    final = await fake.wait_for(
        lambda: "Done" in fake.messages[message_id]["content"] and fake.messages[message_id], timeout=60)
    assert "Recovered." in all_text(final)
    assert [m["id"] for m in second.job_messages(thread)] == [job["id"]]


async def test_cancel_button_stops_a_running_job(discord_bot: BotFactory, world: World) -> None:
    fake = world.fake
    started = asyncio.Event()
    bot = await discord_bot(llm=blocked(started))
    interaction = await fake.slash(world.guild, world.channel, "ask", {"prompt": "never ends"})
    thread = await bot.thread_of(interaction)
    await asyncio.wait_for(started.wait(), 30)
    [job] = await fake.wait_for(lambda: bot.job_messages(thread))
    message_id = int(job["id"])
    [cancel] = await fake.wait_for(lambda: custom_ids(fake.messages[message_id], "cancel"))

    await fake.click(world.guild, message_id, cancel)
    final = await bot.final_job(thread)
    assert "Cancelled" in final["content"] and custom_ids(final, "retry")

"""A process dies mid-job: the next one marks the job message interrupted, and its
persistent Retry button (pressed on the new process) reruns it in the same message.
Cancel works the same way while a job runs.

The process that dies is `director-bot discord` as a real child process, killed with
SIGKILL, so none of its clean-up runs."""

from __future__ import annotations

import asyncio

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.fakes.openai_server import reply_hang, running_openai_server
from tests.helpers.processes import BotProcess, child_env
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
    async with running_openai_server() as llm:
        llm.handler = lambda request: reply_hang()  # the model never answers: the job stays running
        env = child_env(tmp_path / "shared", DISCORD_BOT_TOKEN=fake.bot_token, DISCORD_API_URL=fake.api_url,
                        DISCORD_GATEWAY_URL=fake.gateway_url, OPENAI_API_KEY="sk-test-key",
                        OPENAI_BASE_URL=llm.base_url)
        first = await BotProcess.start(["discord"], env, cwd=tmp_path)
        try:
            await first.wait_for_line("connected to Discord")
            interaction = await fake.slash(world.guild, world.channel, "ask", {"prompt": "a long job"})
            await llm.wait_for_requests(1)
            job = await fake.wait_for(lambda: next(
                (m for m in fake.messages.values() if custom_ids(m, "cancel") and "interaction_metadata" not in m),
                None))
        finally:
            await first.kill()
    second = await discord_bot(llm=answering("Recovered."), data_dir=tmp_path / "shared")
    thread = await second.thread_of(interaction)

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

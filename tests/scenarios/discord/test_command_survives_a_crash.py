"""A /director command whose process dies right after the defer is not lost: it was
recorded before anything slow happened, and the next Discord process opens its thread,
runs it and answers the person's deferred "thinking…" through the interaction webhook.

The process that dies is `director-bot discord` as a real child process, stuck while
opening the thread (the fake holds that request) and killed with SIGKILL."""

from __future__ import annotations

import asyncio

from tests.fakes.discord_server import API
from tests.helpers.processes import BotProcess, child_env
from tests.scenarios.discord.conftest import BotFactory, World, all_text


async def test_a_command_deferred_by_a_dead_process_is_carried_out_by_the_next(
    discord_bot: BotFactory, world: World, tmp_path
) -> None:
    fake = world.fake
    opening = fake.hold("POST", rf"{API}/channels/{world.channel}/threads")
    env = child_env(tmp_path / "shared", DISCORD_BOT_TOKEN=fake.bot_token, DISCORD_API_URL=fake.api_url,
                    DISCORD_GATEWAY_URL=fake.gateway_url)
    first = await BotProcess.start(["discord"], env, cwd=tmp_path)
    try:
        await first.wait_for_line("connected to Discord")
        interaction = await fake.slash(world.guild, world.channel, "ask", {"prompt": "help"})
        await asyncio.wait_for(opening.wait(), 30)  # deferred, recorded, stuck opening the thread
        [callback] = fake.callbacks(interaction)
        assert callback.body["type"] == 5
    finally:
        await first.kill()
    assert fake.threads_of(world.channel) == []

    second = await discord_bot(data_dir=tmp_path / "shared")
    thread = await second.thread_of(interaction)  # the deferred answer, edited with the token
    final = await second.final_job(thread)
    assert "search" in all_text(final).lower()  # the help card
    assert [t["id"] for t in fake.threads_of(world.channel)] == [str(thread)]
    assert len(second.job_messages(thread)) == 1

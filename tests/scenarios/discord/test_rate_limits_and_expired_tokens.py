"""Edits meet 429s and the final state still lands; an expired interaction token
(the webhook answers 401) does not touch the job message, which uses the bot token."""

from __future__ import annotations

import logging

import pytest

from tests.scenarios.discord.conftest import BotFactory, World, all_text

EDIT = r"/api/v10/channels/\d+/messages/\d+"


async def test_429_on_edits_is_waited_out_and_the_final_state_lands(discord_bot: BotFactory,
                                                                   world: World) -> None:
    fake = world.fake
    bot = await discord_bot()
    fake.rate_limit("PATCH", EDIT, retry_after=0.3, times=3)
    interaction = await fake.slash(world.guild, world.channel, "help")
    job = await bot.final_job(await bot.thread_of(interaction))
    assert "Done" in job["content"] and "help" in all_text(job).lower()
    statuses = [r.status for r in fake.calls("PATCH", EDIT)]
    assert statuses.count(429) == 3 and statuses[-1] == 200


async def test_a_long_rate_limit_becomes_rate_limited_and_the_coalescer_waits(
    discord_bot: BotFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.delivery.coalescer")
    fake = world.fake
    bot = await discord_bot()
    # discord.py raises discord.RateLimited past max_ratelimit_timeout (30 s at least in
    # production); lowered here so a short wait takes that path.
    bot.discord.client.http.max_ratelimit_timeout = 0.05
    fake.rate_limit("PATCH", EDIT, retry_after=0.4, times=2)
    interaction = await fake.slash(world.guild, world.channel, "help")
    job = await bot.final_job(await bot.thread_of(interaction))
    assert "Done" in job["content"]
    assert [r.status for r in fake.calls("PATCH", EDIT)].count(429) == 2
    assert "edit rate limited" in caplog.text  # the job's coalescer waited, not discord.py


async def test_an_expired_interaction_token_leaves_the_job_message_alone(discord_bot: BotFactory,
                                                                        world: World) -> None:
    fake = world.fake
    bot = await discord_bot()
    payload = fake.slash_payload(world.guild, world.channel, "videos")
    fake.expire_interaction(payload["token"])  # every webhook call for it answers 401
    await fake.dispatch("INTERACTION_CREATE", payload)

    [thread] = await fake.wait_for(lambda: fake.threads_of(world.channel))
    job = await bot.final_job(int(thread["id"]))
    assert "Done" in job["content"]
    pointer = fake.calls("PATCH", r"/api/v10/webhooks/\d+/[^/]+/messages/@original")
    assert [r.status for r in pointer] == [401]
    assert len(fake.callbacks(int(payload["id"]))) == 1

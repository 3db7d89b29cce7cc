"""Slack's retries and the app_mention + message twins never start a second turn."""

from __future__ import annotations

import asyncio

from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


async def test_retried_delivery_is_one_turn(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot()
    event = mention(CHANNEL, "help")
    statuses = await asyncio.gather(
        bot.send(event, event_id="EvSAME"),
        bot.send(event, event_id="EvSAME", retry_num=1),
        bot.send(event, event_id="EvSAME", retry_num=2),
    )
    assert statuses == [200, 200, 200]
    await bot.final_card(CHANNEL, event["ts"])
    assert len(bot.turn_ids()) == 1
    assert len(bot.cards(CHANNEL, event["ts"])) == 1


async def test_mention_in_a_thread_arrives_twice_and_runs_once(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot()
    root = mention(CHANNEL, "help")
    await bot.send(root)
    await bot.final_card(CHANNEL, root["ts"])

    reply = mention(CHANNEL, "videos", thread_ts=root["ts"])
    twin = dict(reply, type="message")  # same ts, another event_id, as Slack sends it
    await asyncio.gather(bot.send(twin), bot.send(reply), bot.send(reply, retry_num=1))
    await bot.final_card(CHANNEL, root["ts"], index=1)
    assert len(bot.turn_ids()) == 2
    assert len(bot.cards(CHANNEL, root["ts"])) == 2


async def test_two_bot_processes_answer_once(slack_bot: BotFactory, fake_slack: FakeSlack, tmp_path) -> None:
    first = await slack_bot(data_dir=tmp_path / "shared")
    second = await slack_bot(data_dir=tmp_path / "shared")
    event = mention(CHANNEL, "help")
    await asyncio.gather(first.send(event, event_id="EvX"), second.send(event, event_id="EvX", retry_num=1))
    await first.final_card(CHANNEL, event["ts"])
    assert len(first.turn_ids()) == 1

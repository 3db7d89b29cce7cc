"""SLACK_ALLOWED_CHANNELS: elsewhere the bot says so once, politely, and runs nothing."""

from __future__ import annotations

from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory


async def test_refusal_outside_allowed_channels(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot(SLACK_ALLOWED_CHANNELS="C1, C2")
    event = mention("C9", "help")
    await bot.send(event, event_id="EvR")
    await bot.send(event, event_id="EvR", retry_num=1)
    [refusal] = await fake_slack.wait_until(lambda: fake_slack.thread("C9", event["ts"]))
    assert "not enabled in this channel" in refusal.text
    assert bot.turn_ids() == []

    allowed = mention("C2", "help")
    await bot.send(allowed)
    assert "Done" in (await bot.final_card("C2", allowed["ts"])).text
    assert len(fake_slack.thread("C9", event["ts"])) == 1

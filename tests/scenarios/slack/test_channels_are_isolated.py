"""Each channel gets its own collection; neither can reach the other's videos."""

from __future__ import annotations

from adapters.slack.inbound import channel_key
from tests.fakes.slack_api import TEAM_ID, FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory


async def test_two_channels_two_collections(slack_bot: BotFactory, fake_slack: FakeSlack, talk_video: bytes) -> None:
    bot = await slack_bot()
    upload = mention("C1", "upload", files=[fake_slack.add_file("quarterly review.mp4", talk_video)])
    await bot.send(upload)
    assert "Done" in (await bot.final_card("C1", upload["ts"], timeout=120)).text

    listing = mention("C2", "videos")
    await bot.send(listing)
    await bot.final_card("C2", listing["ts"])
    clip = mention("C2", "clip quarterly 0-2")
    await bot.send(clip)
    refused = await bot.final_card("C2", clip["ts"])
    assert not refused.button_urls()
    assert "quarterly" in refused.all_text() and "can't find" in refused.all_text()

    one = await bot.app.conversations.channel_binding(channel_key(TEAM_ID, "C1"))
    two = await bot.app.conversations.channel_binding(channel_key(TEAM_ID, "C2"))
    assert one and two and one.collection_id != two.collection_id
    assert len(await bot.app.conversations.videos(channel_key(TEAM_ID, "C1"))) == 1
    assert await bot.app.conversations.videos(channel_key(TEAM_ID, "C2")) == []

"""A mention gets one reply in its thread, posted at once and then only edited."""

from __future__ import annotations

from tests.fakes.slack_api import BOT_USER_ID, FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


async def test_mention_gets_one_reply_edited_to_the_answer(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot()
    event = mention(CHANNEL, "help")
    assert await bot.send(event) == 200

    card = await bot.final_card(CHANNEL, event["ts"])
    assert len(bot.cards(CHANNEL, event["ts"])) == 1
    assert fake_slack.calls("chat.postMessage") == 1
    assert card.edits >= 1  # posted as "queued", then edited
    assert "Queued" in card.versions[0][0] or "Working" in card.versions[0][0]
    assert "Done" in card.text and "clip &lt;video&gt;" in card.all_text()  # escaped, as Slack expects
    assert f"<@{BOT_USER_ID}>" not in card.all_text()
    assert (CHANNEL, event["ts"], "eyes") in fake_slack.reactions

"""chat.update answering 429 (more often than the client retries) still ends with
the final state on the card."""

from __future__ import annotations

from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory


async def test_final_state_lands_through_429s(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot(min_interval=0.05)
    fake_slack.rate_limit("chat.update", retry_after=1, times=4)
    event = mention("C1", "help")
    await bot.send(event)
    card = await bot.final_card("C1", event["ts"], timeout=30)
    assert "Done" in card.text and "clip &lt;video&gt;" in card.all_text()  # escaped, as Slack expects
    limited = [r for r in fake_slack.requests if r.method == "chat.update" and r.status == 429]
    assert len(limited) == 4
    assert limited[-1].at - limited[0].at >= 2.5  # Retry-After was honoured each time

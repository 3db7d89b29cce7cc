"""One workspace's backlog never delays another's answers.

Workspace A sends 30 mentions at once; its edit budget (here 4 edits a second, as
Slack's per-workspace limit would allow far fewer) makes its answers trickle. A `help`
from workspace B is answered while A's are still landing, and all of A's land.
"""

from __future__ import annotations

import asyncio

from adapters.slack.delivery import DeliveryOptions
from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory


async def test_a_busy_workspace_does_not_hold_up_another(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot(react=False, delivery=DeliveryOptions(min_interval=0.1, edits_per_window=4,
                                                                 window_seconds=1.0))
    busy = [mention(f"CA{i % 3}", "help", team="TA") for i in range(30)]
    assert await asyncio.gather(*(bot.send(event, team="TA") for event in busy)) == [200] * 30
    quiet = mention("CB", "help", team="TB")
    assert await bot.send(quiet, team="TB") == 200

    def done(event: dict[str, str]) -> bool:
        return any("Done" in card.text for card in bot.cards(event["channel"], event["ts"]))

    await fake_slack.wait_until(lambda: done(quiet), timeout=30)
    still_landing = sum(not done(event) for event in busy)
    assert still_landing > 0  # B was answered while A's answers were still coming
    await fake_slack.wait_until(lambda: all(done(event) for event in busy), timeout=120)
    for event in busy:
        assert len(bot.cards(event["channel"], event["ts"])) == 1

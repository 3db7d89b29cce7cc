"""Only requests signed by Slack, and recent, are processed."""

from __future__ import annotations

import time

from core.turns import TurnStatus
from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory


async def test_bad_signature_and_stale_timestamp_are_refused(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    bot = await slack_bot()
    assert await bot.send(mention("C1", "help"), secret="not-the-secret") == 401
    assert await bot.send(mention("C1", "help"), timestamp=int(time.time()) - 600) == 401
    async with bot.http.get(bot.url + "/healthz") as response:
        assert response.status == 200
    assert fake_slack.calls("chat.postMessage") == 0
    assert await bot.app.store.turns.with_status(list(TurnStatus)) == []

"""A double click on Retry runs the turn again once, not twice."""

from __future__ import annotations

import asyncio

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from core.turns import TurnStatus
from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


async def test_double_click_on_retry_is_one_retry(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    calls = 0

    async def fail_once(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("model down")
        return LLMResponse(content="fine now")

    bot = await slack_bot(llm=ScriptedLLM(fail_once))
    event = mention(CHANNEL, "try")
    await bot.send(event)
    card = await bot.final_card(CHANNEL, event["ts"])
    turn_id = card.button("director_retry")["value"]

    assert await asyncio.gather(bot.press("director_retry", turn_id, card),
                                bot.press("director_retry", turn_id, card)) == [200, 200]
    await fake_slack.wait_until(lambda: "fine now" in card.all_text())
    turns = await bot.app.store.turns.with_status(list(TurnStatus))
    assert len([t for t in turns if t.retry_of == turn_id]) == 1
    assert calls == 2

"""Cancel stops a running turn and the card says so; Retry runs it again in place."""

from __future__ import annotations

import asyncio

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


async def test_cancel_then_retry(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        started.set()
        await release.wait()
        return LLMResponse(content="finished at last")

    bot = await slack_bot(llm=ScriptedLLM(slow))
    event = mention(CHANNEL, "take your time")
    await bot.send(event)
    await asyncio.wait_for(started.wait(), 20)
    [card] = await fake_slack.wait_until(lambda: [c for c in bot.cards(CHANNEL, event["ts"])
                                                  if c.button("director_cancel")])
    turn_id = card.button("director_cancel")["value"]

    assert await bot.press("director_cancel", turn_id, card) == 200
    card = await bot.final_card(CHANNEL, event["ts"])
    assert "Cancelled" in card.text
    assert card.button("director_retry")["value"] == turn_id

    started.clear()
    release.set()
    assert await bot.press("director_retry", turn_id, card) == 200
    await fake_slack.wait_until(lambda: "finished at last" in card.all_text())
    assert "Done" in card.text
    assert len(bot.cards(CHANNEL, event["ts"])) == 1  # the retry edited the same message

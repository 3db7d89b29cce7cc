"""Cancel and Retry are for the person who asked, or a workspace admin; others get a private note."""

from __future__ import annotations

import asyncio

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


async def test_only_the_asker_or_an_admin_can_cancel(slack_bot: BotFactory, fake_slack: FakeSlack) -> None:
    started = asyncio.Event()

    async def slow(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        started.set()
        await asyncio.Event().wait()  # runs until cancelled
        return LLMResponse(content="never")

    fake_slack.add_user("U0ADMIN", is_admin=True)
    bot = await slack_bot(llm=ScriptedLLM(slow))
    event = mention(CHANNEL, "a long job")
    await bot.send(event)
    await asyncio.wait_for(started.wait(), 20)
    [card] = await fake_slack.wait_until(lambda: [c for c in bot.cards(CHANNEL, event["ts"])
                                                  if c.button("director_cancel")])
    turn_id = card.button("director_cancel")["value"]

    assert await bot.press("director_cancel", turn_id, card, user="U0STRANGER") == 200
    [note] = await fake_slack.wait_until(lambda: fake_slack.ephemeral[:1] or None)
    assert note["user"] == "U0STRANGER" and "who asked" in note["text"]
    assert card.button("director_cancel")  # still running

    assert await bot.press("director_cancel", turn_id, card, user="U0ADMIN") == 200
    card = await bot.final_card(CHANNEL, event["ts"])
    assert "Cancelled" in card.text

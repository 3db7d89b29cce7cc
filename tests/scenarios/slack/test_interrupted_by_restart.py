"""A turn cut short by a restart shows "Interrupted" on its card, with Retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.llm.base import LLMResponse, ToolSpec
from core.llm.scripted import ScriptedLLM
from core.messages import ContextMessage
from tests.fakes.slack_api import FakeSlack, mention
from tests.scenarios.slack.conftest import BotFactory

CHANNEL = "C1"


async def test_restart_marks_the_card_interrupted(slack_bot: BotFactory, fake_slack: FakeSlack, tmp_path: Path) -> None:
    started = asyncio.Event()

    async def never(messages: list[ContextMessage], tools: list[ToolSpec]) -> LLMResponse:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    first = await slack_bot(llm=ScriptedLLM(never), data_dir=tmp_path / "shared")
    event = mention(CHANNEL, "a long job")
    await first.send(event)
    await asyncio.wait_for(started.wait(), 20)
    [card] = await fake_slack.wait_until(lambda: first.cards(CHANNEL, event["ts"]))
    # Edits start only once the card's (channel, ts) is stored, as a restart needs it.
    await fake_slack.wait_until(lambda: card.edits >= 1)
    edits_before = card.edits

    # The process dies without finishing the turn: its runner is simply never stopped.
    await first.server.stop()
    second = await slack_bot(data_dir=tmp_path / "shared")
    card = await second.final_card(CHANNEL, event["ts"])
    assert "Interrupted" in card.text
    assert card.edits > edits_before
    assert card.button("director_retry") is not None
    assert len(second.cards(CHANNEL, event["ts"])) == 1

"""50 progress updates within a second become at most 3 edits of one message."""

from __future__ import annotations

import asyncio

from adapters.slack.app import web_client
from adapters.slack.delivery import DeliveryOptions, SlackPort
from core.delivery.port import TurnRef
from core.incoming import ThreadKey
from core.messages import MsgStatus, OutputMessage, TextCard
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack

CHANNEL, THREAD = "C1", "1600000000.000100"


async def test_fifty_updates_make_at_most_three_edits(fake_slack: FakeSlack) -> None:
    port = SlackPort(web_client(BOT_TOKEN, fake_slack.api_url), DeliveryOptions())  # the real 2 s interval
    thread = ThreadKey(platform="slack", workspace_id=TEAM_ID, channel_id=CHANNEL, thread_id=THREAD)
    saved: list[dict[str, str]] = []

    async def save(ref: dict[str, str]) -> None:
        saved.append(ref)

    message = OutputMessage(turn_id="turn-1")
    message.add_observer(port.observer_for(TurnRef(turn_id="turn-1", session_id="s", thread=thread), save))
    message.push_update()
    message.status = MsgStatus.progress
    for i in range(50):
        message.add_action(f"step {i}")
        message.push_update()
        await asyncio.sleep(0.02)
    message.add_card(TextCard(text="the answer"))
    message.status = MsgStatus.success
    await message.publish()

    [card] = fake_slack.thread(CHANNEL, THREAD)
    assert fake_slack.calls("chat.postMessage") == 1
    assert fake_slack.calls("chat.update") <= 3
    assert "the answer" in card.all_text() and "Done" in card.text
    assert saved == [{"channel": CHANNEL, "ts": card.ts}]

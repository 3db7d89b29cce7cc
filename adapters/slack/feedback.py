"""👍/👎 pressed on a finished reply: recorded with the turn, thanked ephemerally.

Slack sends the `feedback_buttons` element as a `block_actions` request with the
pressed button's value ("good:<turn id>" or "bad:<turn id>", see `stream_render`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.stream_render import FEEDBACK_ACTION
from core.conversations import Conversations

log = logging.getLogger(__name__)

THANKS = {"good": "Thanks for the 👍.", "bad": "Thanks for telling me: I've noted the 👎."}


def parse(value: str) -> tuple[str, str] | None:
    """("good" | "bad", turn id) from a button value, or None if it is not ours."""
    rating, _, turn_id = value.partition(":")
    return (rating, turn_id) if rating in THANKS and turn_id else None


def register_feedback(bolt: AsyncApp, client: AsyncWebClient, conversations: Conversations) -> None:
    async def on_feedback(ack: Callable[[], Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        try:
            action, user = body["actions"][0], body["user"]["id"]
            channel = (body.get("channel") or {}).get("id", "")
        except (KeyError, IndexError, TypeError):
            log.debug("ignored a feedback press without the fields it needs")
            return
        parsed = parse(str(action.get("value", "")))
        if parsed is None or not await conversations.feedback(parsed[1], user, parsed[0]):
            log.info("feedback press not recorded (value %r)", str(action.get("value", ""))[:80])
            return
        thread_ts = (body.get("message") or {}).get("thread_ts")
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=THANKS[parsed[0]],
                                            **({"thread_ts": thread_ts} if thread_ts else {}))
        except SlackApiError as exc:
            log.debug("no feedback thanks: %s", exc.response.get("error"))

    bolt.action(FEEDBACK_ACTION)(on_feedback)

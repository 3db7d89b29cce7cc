"""The Bolt `AsyncApp` and its listeners.

Bolt acks an event before the listener runs (process_before_response=False), so
listeners only check, translate and call `conversations.accept` (a few database
writes that also refuse duplicates); the runner does the work. Button presses are
acked first, then handed to `conversations.cancel` / `retry`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import commands, inbound, retries
from adapters.slack.commands import Commands
from adapters.slack.render import CANCEL_ACTION, RETRY_ACTION, WATCH_ACTION
from core.conversations import Conversations
from core.errors import DirectorError
from core.incoming import Incoming

log = logging.getLogger(__name__)


def web_client(token: str, base_url: str) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL as base; retries 429s and 5xx, posts only when safe (`retries`)."""
    return AsyncWebClient(token=token, base_url=base_url if base_url.endswith("/") else base_url + "/",
                          retry_handlers=retries.retry_handlers())


class Listeners:
    """What the Bolt listeners do; kept apart from Bolt's wiring to stay readable."""

    def __init__(self, client: AsyncWebClient, conversations: Conversations, *, allowed_channels: list[str],
                 admin_users: list[str], react: bool, accept_concurrency: int = 1) -> None:
        self._client = client
        # Bolt has already acked when a listener runs, but the listener's database work
        # shares the event loop with the acks of a burst; a small gate keeps acks fast.
        self._gate = asyncio.Semaphore(accept_concurrency)
        self._conversations = conversations
        self._allowed = set(allowed_channels)
        self._react = react
        self._commands = Commands(client, conversations, admin_users)
        self._tasks: set[asyncio.Task[None]] = set()

    def allowed(self, channel: str) -> bool:
        return not self._allowed or channel in self._allowed

    async def app_mention(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        async with self._gate:
            await self._app_mention(body, bot_user_id)

    async def message(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        async with self._gate:
            await self._message(body, bot_user_id)

    async def _app_mention(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        event = body["event"]
        channel, thread_ts = event["channel"], event.get("thread_ts") or event["ts"]
        if not self.allowed(channel):
            if await self._conversations.claim(inbound.event_keys(body)):  # type: ignore[arg-type]
                await self._commands.reply(channel, thread_ts, commands.REFUSAL)
            return
        command = commands.parse(inbound.text_of(event, bot_user_id))
        if command is not None:
            if await self._conversations.claim(inbound.event_keys(body)):  # type: ignore[arg-type]
                await self._commands.collection(command, inbound.team_of(body), channel,  # type: ignore[arg-type]
                                                thread_ts, event.get("user", ""))
            return
        await self._accept(inbound.app_mention(body, bot_user_id), event)  # type: ignore[arg-type]

    async def _message(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        incoming = inbound.message(body, bot_user_id)  # type: ignore[arg-type]
        if incoming is None or not self.allowed(incoming.thread.channel_id):
            return
        if not await self._conversations.has_session(incoming.thread):
            return
        await self._accept(incoming, body["event"])

    async def _accept(self, incoming: Incoming, event: dict[str, Any]) -> None:
        try:
            accepted = await self._conversations.accept(incoming)
        except Exception as exc:  # already acked: say so in the thread rather than stay silent
            log.exception("could not accept a Slack event")
            detail = exc.user_message if isinstance(exc, DirectorError) else "the error is in the bot's log"
            await self._commands.reply(incoming.thread.channel_id, incoming.thread.thread_id,
                                       f"⚠️ Sorry, I couldn't start on that ({detail}). Please try again.")
            return
        if accepted is None or not self._react:
            return
        task = asyncio.get_running_loop().create_task(self._eyes(event["channel"], event["ts"]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _eyes(self, channel: str, ts: str) -> None:
        """👀 on the person's message: seen, working on it. Optional (reactions:write)."""
        try:
            await self._client.reactions_add(channel=channel, timestamp=ts, name="eyes")
        except SlackApiError as exc:
            log.debug("no 👀 reaction: %s", exc.response.get("error"))

    async def control(self, body: dict[str, Any]) -> None:
        """Cancel / Retry pressed on a job card; the value carries the turn id."""
        action = body["actions"][0]
        turn_id, channel = action.get("value", ""), (body.get("channel") or {}).get("id", "")
        if channel and not self.allowed(channel):
            return
        user = (body.get("user") or {}).get("id", "")
        if refusal := await self._press_refusal(turn_id, user):
            await self._commands.tell(channel, user, refusal, (body.get("message") or {}).get("thread_ts"))
            return
        if action["action_id"] == CANCEL_ACTION:
            if not await self._conversations.cancel(turn_id):
                log.info("cancel pressed on turn %s that is not running", turn_id)
        elif await self._conversations.retry(turn_id) is None:
            # Not retryable, or already retried (a double click, or another process).
            log.info("retry pressed on turn %s: nothing to do", turn_id)

    async def _press_refusal(self, turn_id: str, user: str) -> str | None:
        """Cancel and Retry are for the person who asked, or an admin."""
        asker = await self._conversations.requester(turn_id)
        if asker is None or asker == user or await self._commands.is_admin(user):
            return None
        return f"Only <@{asker}>, who asked for this, or an admin can do that."

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _event_listener(handler: Callable[[dict[str, Any], str | None], Awaitable[None]]) -> Any:
    async def listener(body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest) -> None:
        retry = request.headers.get("x-slack-retry-num")
        if retry:  # the ledger refuses it if the first delivery was accepted
            log.info("Slack retry %s of event %s", retry[0], body.get("event_id"))
        await handler(body, context.bot_user_id)

    return listener


def build_bolt_app(client: AsyncWebClient, listeners: Listeners, signing_secret: str | None) -> AsyncApp:
    bolt = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        process_before_response=False,
    )
    bolt.event("app_mention")(_event_listener(listeners.app_mention))
    bolt.event("message")(_event_listener(listeners.message))

    async def on_control(ack: Callable[[], Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        await listeners.control(body)

    async def on_watch(ack: Callable[[], Awaitable[None]]) -> None:
        await ack()  # URL buttons also send block_actions; the browser does the rest

    bolt.action(CANCEL_ACTION)(on_control)
    bolt.action(RETRY_ACTION)(on_control)
    bolt.action(re.compile(f"^{WATCH_ACTION}"))(on_watch)
    return bolt

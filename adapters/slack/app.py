"""The Bolt `AsyncApp` and its listeners.

Requests reach Bolt from the store (`adapters/slack/intake.py`): they were checked
and acknowledged on arrival, so Bolt's own signature check is off and each listener
runs to its end inside the dispatch (process_before_response=True). Listeners only
check, translate and call `conversations.accept` (one transaction, which also
refuses duplicates and deletes the stored request); the runner does the work.
Button presses go to `conversations.cancel` / `retry`.
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
                 admin_users: list[str], react: bool) -> None:
        self._client = client
        self._conversations = conversations
        self._allowed = set(allowed_channels)
        self._react = react
        self._commands = Commands(client, conversations, admin_users)
        self._tasks: set[asyncio.Task[None]] = set()

    def allowed(self, channel: str) -> bool:
        return not self._allowed or channel in self._allowed

    async def app_mention(self, body: dict[str, Any], bot_user_id: str | None, inbox_id: str | None = None) -> None:
        incoming = inbound.app_mention(body, bot_user_id)
        if incoming is None:
            log.debug("ignored an app_mention without the fields it needs")
            return
        channel, thread_ts = incoming.thread.channel_id, incoming.thread.thread_id
        if not self.allowed(channel):
            if await self._conversations.claim(incoming.event_keys):
                await self._commands.reply(channel, thread_ts, commands.REFUSAL)
            return
        command = commands.parse(incoming.text)
        if command is not None:
            if await self._conversations.claim(incoming.event_keys):
                await self._commands.collection(command, incoming.thread.workspace_id, channel, thread_ts,
                                                incoming.user_id)
            return
        await self._accept(incoming, body["event"], inbox_id)

    async def message(self, body: dict[str, Any], bot_user_id: str | None, inbox_id: str | None = None) -> None:
        incoming = inbound.message(body, bot_user_id)
        if incoming is None or not self.allowed(incoming.thread.channel_id):
            return
        if not await self._conversations.has_session(incoming.thread):
            return
        await self._accept(incoming, body["event"], inbox_id)

    async def _accept(self, incoming: Incoming, event: dict[str, Any], inbox_id: str | None) -> None:
        incoming.inbox_id = inbox_id
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


EventHandler = Callable[[dict[str, Any], str | None, str | None], Awaitable[None]]


def _event_listener(handler: EventHandler) -> Any:
    async def listener(body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest) -> None:
        retry = request.headers.get("x-slack-retry-num")
        if retry:  # the ledger refuses it if the first delivery was accepted
            log.info("Slack retry %s of event %s", retry[0], body.get("event_id"))
        try:
            await handler(body, context.bot_user_id, context.get("inbox_id"))
        except (KeyError, TypeError, AttributeError) as exc:  # an event without the fields we need
            log.debug("ignored a Slack event without the fields it needs (%s: %s)", type(exc).__name__, exc)

    return listener


def build_bolt_app(client: AsyncWebClient, listeners: Listeners) -> AsyncApp:
    """Bolt for stored requests: signatures were checked on arrival (`SlackIntake`)."""
    bolt = AsyncApp(
        client=client,
        request_verification_enabled=False,
        process_before_response=True,
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

"""Replies the adapter gives itself, without a turn: channel binding and refusals.

`@Director Bot collection` shows the channel's collection; `collection bind <id>`
binds the channel to an existing one, for workspace admins/owners (users.info) or
SLACK_ADMIN_USERS only. These replies bypass the core's event ledger, so a small
in-process memory of recent keys keeps Slack's retries from answering twice.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.inbound import channel_key
from adapters.slack.markup import escape
from core.conversations import Conversations
from core.errors import DirectorError

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^\s*collection(?:\s+(bind)\s+(\S+))?\s*$", re.I)
REFUSAL = "Sorry, I'm not enabled in this channel. An admin can add it to SLACK_ALLOWED_CHANNELS."


@dataclass(frozen=True)
class CollectionCommand:
    bind_to: str | None = None


def parse(text: str) -> CollectionCommand | None:
    match = _COMMAND.match(text)
    if match is None:
        return None
    return CollectionCommand(bind_to=match.group(2) if match.group(1) else None)


class Commands:
    def __init__(self, client: AsyncWebClient, conversations: Conversations, admin_users: list[str]) -> None:
        self._client = client
        self._conversations = conversations
        self._admins = set(admin_users)

    async def reply(self, channel: str, thread_ts: str, text: str) -> None:
        """A plain-text reply; escaped, since it may quote what a person typed (`collection bind <!here>`)."""
        try:
            await self._client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=escape(text))
        except SlackApiError as exc:
            log.warning("could not reply in the thread: %s", exc.response.get("error"))

    async def tell(self, channel: str, user_id: str, text: str, thread_ts: str | None = None) -> None:
        """A note only `user_id` sees (chat.postEphemeral)."""
        try:
            await self._client.chat_postEphemeral(channel=channel, user=user_id, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("could not tell %s privately: %s", user_id, exc.response.get("error"))

    async def is_admin(self, user_id: str) -> bool:
        if user_id in self._admins:
            return True
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info failed (%s); treating %s as a non-admin", exc.response.get("error"), user_id)
            return False
        user = response.get("user") or {}
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    async def collection(self, command: CollectionCommand, team: str, channel: str, thread_ts: str,
                         user_id: str) -> None:
        key = channel_key(team, channel)
        if command.bind_to is None:
            row = await self._conversations.channel_binding(key)
            text = (f"This channel uses the collection `{row.collection_id}` ({row.backend})."
                    if row else "This channel has no collection yet; it gets one with its first request.")
            await self.reply(channel, thread_ts, text)
            return
        if not await self.is_admin(user_id):
            await self.reply(channel, thread_ts, "Only workspace admins can bind a channel to another collection.")
            return
        try:
            await self._conversations.bind_collection(key, command.bind_to)
        except DirectorError as exc:
            await self.reply(channel, thread_ts, exc.user_message)
            return
        log.info("channel %s bound to collection %s by %s", channel, command.bind_to, user_id)
        await self.reply(channel, thread_ts, f"Done: this channel now uses the collection `{command.bind_to}`.")

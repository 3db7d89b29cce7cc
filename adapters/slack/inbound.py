"""Slack events → `Incoming`, one small function per event kind.

The session key is (team, channel, thread_ts or ts): a ts is unique only inside a
channel. Each Incoming carries two event keys, the delivery's event_id (stable
across Slack's retries) and the message's (team, channel, ts) (shared by the
app_mention and message events one mention in a thread produces), so the core's
ledger refuses every duplicate.

The translators are total: a body without the fields we read (or with a list where
Slack sends a string) is validated against `payloads.EventEnvelope` by pydantic and
becomes None, never an exception.
"""

from __future__ import annotations

import logging

from pydantic import TypeAdapter, ValidationError

from adapters.slack.markup import decode, mentions, strip_mention
from adapters.slack.payloads import EventEnvelope, MessageEvent, SlackFile
from core.incoming import ChannelKey, Incoming, ThreadKey
from core.messages import Attachment

log = logging.getLogger(__name__)

PLATFORM = "slack"
_ENVELOPE: TypeAdapter[EventEnvelope] = TypeAdapter(EventEnvelope)
# Message subtypes that are still a person writing in the thread.
PERSON_SUBTYPES = frozenset({"file_share", "thread_broadcast"})


def envelope(body: object) -> EventEnvelope | None:
    """The body, if it has the shape the translators read; else None (with a debug line)."""
    try:
        return _ENVELOPE.validate_python(body)
    except ValidationError as exc:
        log.debug("ignored a Slack event without the fields we need (%d problem(s))", exc.error_count())
        return None


def team_of(body: EventEnvelope) -> str:
    return body.get("team_id") or body["event"].get("team", "")


def thread_key(body: EventEnvelope) -> ThreadKey:
    event = body["event"]
    return ThreadKey(platform=PLATFORM, workspace_id=team_of(body), channel_id=event["channel"],
                     thread_id=event.get("thread_ts") or event["ts"])


def channel_key(team: str, channel: str) -> ChannelKey:
    return ChannelKey(platform=PLATFORM, workspace_id=team, channel_id=channel)


def event_keys(body: EventEnvelope) -> list[str]:
    event = body["event"]
    return [f"slack:event:{body['event_id']}", f"slack:msg:{team_of(body)}:{event['channel']}:{event['ts']}"]


def attachment(file: SlackFile) -> Attachment:
    return Attachment(
        name=file.get("name") or file.get("title") or file["id"],
        url=file.get("url_private_download") or file.get("url_private"),
        mimetype=file.get("mimetype"),
        size=file.get("size"),
        platform_file_id=file["id"],
    )


def text_of(event: MessageEvent, bot_user_id: str | None) -> str:
    return decode(strip_mention(event.get("text", ""), bot_user_id))


def _incoming(body: EventEnvelope, bot_user_id: str | None) -> Incoming:
    event = body["event"]
    return Incoming(
        thread=thread_key(body),
        user_id=event.get("user", ""),
        text=text_of(event, bot_user_id),
        attachments=[attachment(f) for f in event.get("files", [])],
        event_keys=event_keys(body),
    )


def app_mention(body: object, bot_user_id: str | None) -> Incoming | None:
    """Starts a session, or continues the one of its thread; None for a malformed body."""
    checked = envelope(body)
    return _incoming(checked, bot_user_id) if checked is not None else None


def is_thread_reply_from_a_person(event: MessageEvent, bot_user_id: str | None) -> bool:
    """A `message` we may follow: a person's reply in a thread, not mentioning us.

    Edits, deletions and other subtypes (our own chat.update makes `message_changed`),
    bot posts and our own messages are ignored; a mention is app_mention's to handle.
    """
    if event.get("subtype") and event.get("subtype") not in PERSON_SUBTYPES:
        return False
    if event.get("bot_id") or not event.get("user") or event.get("user") == bot_user_id:
        return False
    if not event.get("thread_ts") or event.get("thread_ts") == event.get("ts"):
        return False
    return not mentions(event.get("text", ""), bot_user_id)


def message(body: object, bot_user_id: str | None) -> Incoming | None:
    """A thread reply without a mention (the caller checks the thread is a session); None otherwise."""
    checked = envelope(body)
    if checked is None or not is_thread_reply_from_a_person(checked["event"], bot_user_id):
        return None
    return _incoming(checked, bot_user_id)

"""Raw Slack payload shapes (TypedDicts), kept apart from our own models.

Only the fields the adapter reads are listed; Slack sends many more.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints
from typing_extensions import NotRequired, TypedDict  # pydantic validates these on Python 3.11

Id = Annotated[str, StringConstraints(min_length=1)]
"""A channel, ts, user or event id: a non-empty string."""


class SlackFile(TypedDict):
    id: Id
    name: NotRequired[str]
    title: NotRequired[str]
    mimetype: NotRequired[str]
    filetype: NotRequired[str]
    size: NotRequired[int]
    url_private: NotRequired[str]
    url_private_download: NotRequired[str]


class MessageEvent(TypedDict):
    """`app_mention` and `message` events share this shape."""

    type: str
    channel: Id
    ts: Id
    user: NotRequired[str]
    text: NotRequired[str]
    thread_ts: NotRequired[str]
    team: NotRequired[str]
    subtype: NotRequired[str]
    bot_id: NotRequired[str]
    event_ts: NotRequired[str]
    channel_type: NotRequired[str]
    client_msg_id: NotRequired[str]
    files: NotRequired[list[SlackFile]]


class EventEnvelope(TypedDict):
    """The Events API body around one event."""

    type: NotRequired[str]  # "event_callback"
    team_id: NotRequired[str]
    api_app_id: NotRequired[str]
    event_id: Id
    event_time: NotRequired[int]
    event: MessageEvent
    authorizations: NotRequired[list[dict[str, Any]]]


class ActionElement(TypedDict):
    action_id: str
    block_id: NotRequired[str]
    value: NotRequired[str]
    type: str


class BlockActionsBody(TypedDict):
    """An interactivity payload for a button press (`block_actions`)."""

    type: str
    team: dict[str, str]
    user: dict[str, str]
    channel: NotRequired[dict[str, str]]
    message: NotRequired[dict[str, Any]]
    actions: list[ActionElement]


Block = dict[str, Any]
"""One Block Kit block, as sent to chat.postMessage / chat.update."""

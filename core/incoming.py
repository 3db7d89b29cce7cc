"""`Incoming`: one platform event, translated by an adapter into neutral terms.

| thing     | Slack               | Discord            | console        |
|-----------|---------------------|--------------------|----------------|
| workspace | team_id             | guild_id           | "local"        |
| channel   | channel id          | parent channel id  | --channel name |
| thread    | thread_ts or ts     | thread id          | --thread name  |
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.messages import Attachment


class ThreadKey(BaseModel, frozen=True):
    """Identifies one conversation (a Session): never the thread id alone."""

    platform: str
    workspace_id: str
    channel_id: str
    thread_id: str

    @property
    def channel(self) -> "ChannelKey":
        return ChannelKey(platform=self.platform, workspace_id=self.workspace_id, channel_id=self.channel_id)


class ChannelKey(BaseModel, frozen=True):
    """Identifies one channel, and so one video collection."""

    platform: str
    workspace_id: str
    channel_id: str


class Incoming(BaseModel):
    thread: ThreadKey
    user_id: str
    text: str
    attachments: list[Attachment] = Field(default_factory=list)
    # Keys that identify this delivery (e.g. Slack event_id and channel:ts). If any
    # was seen before, the event is a duplicate and is refused.
    event_keys: list[str] = Field(default_factory=list)
    channel_name: str | None = None
    # The platform reference of a message the adapter already posted for this turn
    # (e.g. a Discord job message), if any.
    output_ref: dict[str, str] | None = None
    # The stored request (core.runtime.intake) this came from; it is deleted in the same
    # transaction that stores the turn, so a crash in between can only replay it.
    inbox_id: str | None = None

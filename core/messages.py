"""Messages of a conversation, after the Director seed's Input/Output/ContextMessage.

An `OutputMessage` is what a person sees in the thread: an actions log, the agents
used, content cards and an overall status. Agents put their artifacts (links, hits)
on it as cards, so the LLM's prose can never drop a link. Adapters register
observers to render it; the core never knows which platform is watching.
"""

from __future__ import annotations

import enum
import logging
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Protocol, Union

from pydantic import BaseModel, Field, PrivateAttr

log = logging.getLogger(__name__)


def _new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CardStatus(str, enum.Enum):
    progress = "progress"
    success = "success"
    error = "error"


class MsgStatus(str, enum.Enum):
    """Overall status of an output message; mirrors the turn's lifecycle."""

    queued = "queued"
    progress = "progress"
    success = "success"
    error = "error"
    cancelled = "cancelled"
    interrupted = "interrupted"

    @property
    def is_final(self) -> bool:
        return self not in (MsgStatus.queued, MsgStatus.progress)


# --- content cards -------------------------------------------------------------


class _Card(BaseModel):
    id: str = Field(default_factory=_new_id)
    agent_name: str = ""
    status: CardStatus = CardStatus.success
    status_message: str = ""


class TextCard(_Card):
    type: Literal["text"] = "text"
    text: str = ""


class VideoData(BaseModel):
    """A playable video or stream: the Watch link is `player_url`."""

    id: str
    name: str = ""
    stream_url: str | None = None
    player_url: str | None = None
    thumbnail_url: str | None = None
    download_url: str | None = None
    length: float | None = None
    start: float | None = None
    end: float | None = None
    size_bytes: int | None = None


class VideoCard(_Card):
    type: Literal["video"] = "video"
    video: VideoData


class VideosCard(_Card):
    type: Literal["videos"] = "videos"
    videos: list[VideoData] = Field(default_factory=list)
    total: int | None = None


class ImageCard(_Card):
    type: Literal["image"] = "image"
    url: str
    alt: str = ""


class ShotData(BaseModel):
    start: float
    end: float
    text: str = ""
    score: float | None = None


class SearchResultVideo(BaseModel):
    video_id: str
    title: str = ""
    stream_url: str | None = None
    player_url: str | None = None
    shots: list[ShotData] = Field(default_factory=list)


class SearchResultsCard(_Card):
    type: Literal["search_results"] = "search_results"
    query: str = ""
    results: list[SearchResultVideo] = Field(default_factory=list)


Card = Annotated[
    Union[TextCard, VideoCard, VideosCard, ImageCard, SearchResultsCard],
    Field(discriminator="type"),
]


# --- input -----------------------------------------------------------------------


class Attachment(BaseModel):
    """A file a person attached; adapters may pre-download it to `local_path`."""

    name: str
    url: str | None = None
    mimetype: str | None = None
    size: int | None = None
    local_path: str | None = None
    platform_file_id: str | None = None


class InputMessage(BaseModel):
    id: str = Field(default_factory=_new_id)
    session_id: str = ""
    user_id: str = ""
    text: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)


# --- output ----------------------------------------------------------------------


class OutputObserver(Protocol):
    """Adapters implement this to render an OutputMessage.

    `on_update` must return quickly (it is called on every progress tick); it should
    only remember the latest state. `on_publish` is awaited once the message is final
    and must make sure the final state lands. An observer may also offer
    `async settled()`: wait until what it started for the last update (e.g. posting the
    platform message) is done.
    """

    def on_update(self, message: "OutputMessage") -> None: ...

    async def on_publish(self, message: "OutputMessage") -> None: ...

    # Optional: `def on_event(self, message, event) -> None` receives live turn events
    # (text deltas, tool calls; see core/reasoning/events.py). It must return quickly.


class OutputMessage(BaseModel):
    id: str = Field(default_factory=_new_id)
    session_id: str = ""
    turn_id: str = ""
    status: MsgStatus = MsgStatus.queued
    actions: list[str] = Field(default_factory=list)
    agents: list[str] = Field(default_factory=list)
    content: list[Card] = Field(default_factory=list)
    updated_at: datetime = Field(default_factory=utcnow)

    _observers: list[OutputObserver] = PrivateAttr(default_factory=list)

    # observers ------------------------------------------------------------------

    def add_observer(self, observer: OutputObserver) -> None:
        self._observers.append(observer)

    def push_update(self) -> None:
        """Tell observers the message changed; cheap, never blocks."""
        self.updated_at = utcnow()
        for observer in list(self._observers):
            try:
                observer.on_update(self)
            except Exception:  # an observer bug must not break the turn
                log.exception("output observer failed on update")

    async def settled(self) -> None:
        """Wait until observers have finished what the last update started (those that can say)."""
        for observer in list(self._observers):
            settled = getattr(observer, "settled", None)
            if settled is not None:
                try:
                    await settled()
                except Exception:
                    log.exception("output observer failed while settling")

    def emit(self, event: Any) -> None:
        """Hand a live turn event to the observers that take them (`on_event`)."""
        for observer in list(self._observers):
            handler = getattr(observer, "on_event", None)
            if handler is None:
                continue
            try:
                handler(self, event)
            except Exception:  # an observer bug must not break the turn
                log.exception("output observer failed on event")

    async def publish(self) -> None:
        """Tell observers the message is final (and let them persist/deliver it)."""
        self.updated_at = utcnow()
        for observer in list(self._observers):
            try:
                await observer.on_publish(self)
            except Exception:
                log.exception("output observer failed on publish")

    # building ---------------------------------------------------------------------

    def add_action(self, action: str) -> None:
        self.actions.append(action)

    def use_agent(self, agent_name: str) -> None:
        if agent_name not in self.agents:
            self.agents.append(agent_name)

    def add_card(self, card: Any) -> Any:
        self.content.append(card)
        return card

    def cards_of(self, card_type: type[Any]) -> list[Any]:
        return [card for card in self.content if isinstance(card, card_type)]

    def text(self) -> str:
        """All text cards joined: what a plain-text renderer shows."""
        return "\n\n".join(card.text for card in self.content if isinstance(card, TextCard) and card.text)


# --- LLM context -----------------------------------------------------------------


class ToolCall(BaseModel):
    id: str
    name: str
    arguments: str = "{}"  # raw JSON text, exactly as the model produced it


class ContextMessage(BaseModel):
    """One entry of the LLM history (OpenAI chat shape, our own type)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, text: str) -> "ContextMessage":
        return cls(role="system", content=text)

    @classmethod
    def user(cls, text: str) -> "ContextMessage":
        return cls(role="user", content=text)

    @classmethod
    def assistant(cls, text: str | None, tool_calls: list[ToolCall] | None = None) -> "ContextMessage":
        return cls(role="assistant", content=text, tool_calls=tool_calls or [])

    @classmethod
    def tool(cls, call: ToolCall, text: str) -> "ContextMessage":
        return cls(role="tool", content=text, tool_call_id=call.id, name=call.name)

    def approx_tokens(self) -> int:
        """A cheap token estimate (about 4 characters a token) for budgeting."""
        size = len(self.content or "")
        size += sum(len(call.name) + len(call.arguments) for call in self.tool_calls)
        return size // 4 + 4

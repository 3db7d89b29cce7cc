"""Database tables (SQLAlchemy 2 declarative). The schema itself lives in Alembic
migrations under `core/storage/migrations`; change both together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.messages import utcnow


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ChannelRow(Base):
    """A platform channel and the video collection it is bound to."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "channel_id", name="uq_channel_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    workspace_id: Mapped[str] = mapped_column(String(128))
    channel_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256), default="")
    backend: Mapped[str] = mapped_column(String(32))
    collection_id: Mapped[str] = mapped_column(String(128))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SessionRow(Base):
    """One conversation: a thread of a channel."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("platform", "workspace_id", "channel_id", "thread_id", name="uq_session_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    workspace_id: Mapped[str] = mapped_column(String(128))
    channel_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str] = mapped_column(String(128))
    channel_pk: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    created_by: Mapped[str] = mapped_column(String(128), default="")
    memory: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TurnRow(Base):
    """One input message and the job that answers it."""

    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_turn_seq"),
        Index("ix_turns_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128), default="")
    retry_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The process that queued or runs the turn (`processes.id`); a dead owner's turns are
    # adopted by a live process instead of "every running turn of my platform".
    owner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The task-queue job running the turn (PostgreSQL runtime), for Cancel from any process.
    job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The final state reached the platform; a final turn not yet delivered is delivered by
    # whoever adopts it after its owner died.
    delivered: Mapped[bool] = mapped_column(default=False)
    # Cancel pressed in another process (the owner polls for it).
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MessageRow(Base):
    """The input or output message of a turn; the output keeps its platform reference."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("turn_id", "role", name="uq_message_turn_role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id"))
    role: Mapped[str] = mapped_column(String(8))  # "input" | "output"
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    platform_ref: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContextRow(Base):
    """One LLM history entry of a session, in order."""

    __tablename__ = "context_messages"
    __table_args__ = (Index("ix_context_session_seq", "session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    turn_id: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    tokens: Mapped[int] = mapped_column(Integer, default=0)


class EventKeyRow(Base):
    """A processed platform event key; the primary key refuses duplicates."""

    __tablename__ = "event_ledger"
    __table_args__ = (Index("ix_event_ledger_created", "created_at"),)

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProcessRow(Base):
    """A running (or ended) bot process; its heartbeat says it is alive."""

    __tablename__ = "processes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))  # web, slack, discord, worker, console
    platforms: Mapped[str] = mapped_column(String(128), default="")  # comma-separated
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class InboxRow(Base):
    """A platform request stored before it was acknowledged; deleted once handled."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_platform_owner", "platform", "owner"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # made by the writer: one round trip per batch
    platform: Mapped[str] = mapped_column(String(32))
    workspace_id: Mapped[str] = mapped_column(String(128), default="")  # handled in order per workspace
    kind: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # the order to replay in


# --- local video backend ----------------------------------------------------------


class LocalCollectionRow(Base):
    __tablename__ = "local_collections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LocalVideoRow(Base):
    __tablename__ = "local_videos"
    __table_args__ = (
        Index("ix_local_videos_collection", "collection_id"),
        Index("ix_local_videos_content", "collection_id", "content_sha256"),  # 0004_local_media
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("local_collections.id"))
    name: Mapped[str] = mapped_column(String(512))
    file_path: Mapped[str] = mapped_column(Text)  # relative to the data directory
    duration: Mapped[float] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    has_audio: Mapped[bool] = mapped_column(default=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    source: Mapped[str] = mapped_column(Text, default="")
    indexed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # --- 0004_local_media: audio items, duplicate uploads, playable renditions ---
    kind: Mapped[str] = mapped_column(String(16), default="video", server_default="video")  # "video" | "audio"
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # of the bytes received
    play_path: Mapped[str | None] = mapped_column(Text, nullable=True)  # browser-playable copy; None: the original


class LocalSegmentRow(Base):
    """A transcript segment with word timestamps (`words`: [[start, end, word], ...])."""

    __tablename__ = "local_segments"
    __table_args__ = (Index("ix_local_segments_video", "video_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("local_videos.id"))
    idx: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)


class LocalStreamRow(Base):
    """A rendered clip or compilation served at /watch/<id>."""

    __tablename__ = "local_streams"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("local_collections.id"))
    title: Mapped[str] = mapped_column(String(512))
    file_path: Mapped[str] = mapped_column(Text)
    duration: Mapped[float] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what was cut, for reuse
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeedbackRow(Base):
    """A person's 👍/👎 on a turn's answer; pressing again replaces their vote."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("turn_id", "user_id", name="uq_feedback_vote"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(128))
    rating: Mapped[str] = mapped_column(String(8))  # "good" | "bad"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

"""Repositories over the tables: the database is the source of truth.

Any process can rebuild a turn's OutputMessage and find the platform message to
edit from what is stored here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession as DBSession

from core.incoming import ChannelKey, Incoming, ThreadKey
from core.messages import ContextMessage, InputMessage, OutputMessage, utcnow
from core.storage.database import session_factory
from core.storage.feedback import FeedbackStore
from core.storage.models import Base, ChannelRow, ContextRow, EventKeyRow, InboxRow, MessageRow, SessionRow, TurnRow
from core.turns import TurnStatus

log = logging.getLogger(__name__)


def new_id() -> str:
    return uuid.uuid4().hex


class EventLedger:
    """Processed platform event keys; a key can be claimed once, across processes."""

    def __init__(self, sessions: async_sessionmaker[DBSession]) -> None:
        self._sessions = sessions

    async def claim(self, keys: Iterable[str]) -> bool:
        """Record all keys; False (and nothing recorded) if any was seen before."""
        keys = sorted(set(keys))
        if not keys:
            return True
        try:
            async with self._sessions.begin() as db:
                db.add_all(EventKeyRow(key=key[:255]) for key in keys)
        except IntegrityError:
            return False
        return True

    async def prune(self, older_than: datetime) -> int:
        """Forget keys recorded before `older_than`; how many were removed."""
        async with self._sessions.begin() as db:
            result = await db.execute(delete(EventKeyRow).where(EventKeyRow.created_at < older_than))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class ChannelStore:
    def __init__(self, sessions: async_sessionmaker[DBSession]) -> None:
        self._sessions = sessions

    async def get(self, key: ChannelKey) -> ChannelRow | None:
        async with self._sessions() as db:
            return await db.scalar(
                select(ChannelRow).where(
                    ChannelRow.platform == key.platform,
                    ChannelRow.workspace_id == key.workspace_id,
                    ChannelRow.channel_id == key.channel_id,
                )
            )

    async def get_or_bind(
        self, key: ChannelKey, backend: str, name: str, create_collection: Callable[[], Awaitable[str]]
    ) -> ChannelRow:
        """The channel's binding; on first use create its collection and store the binding."""
        row = await self.get(key)
        if row is not None:
            return row
        collection_id = await create_collection()
        try:
            async with self._sessions.begin() as db:
                row = ChannelRow(
                    platform=key.platform, workspace_id=key.workspace_id, channel_id=key.channel_id,
                    name=name, backend=backend, collection_id=collection_id, settings={},
                )
                db.add(row)
            return row
        except IntegrityError:  # another process bound it first; use theirs
            log.info("channel bound concurrently; using the existing binding")
            existing = await self.get(key)
            assert existing is not None
            return existing

    async def rebind(self, key: ChannelKey, backend: str, collection_id: str, name: str = "") -> ChannelRow:
        """Bind a channel to an existing collection (admins only; checked by the caller)."""
        async with self._sessions.begin() as db:
            row = await db.scalar(
                select(ChannelRow).where(
                    ChannelRow.platform == key.platform,
                    ChannelRow.workspace_id == key.workspace_id,
                    ChannelRow.channel_id == key.channel_id,
                )
            )
            if row is None:
                row = ChannelRow(
                    platform=key.platform, workspace_id=key.workspace_id, channel_id=key.channel_id,
                    name=name, backend=backend, collection_id=collection_id, settings={},
                )
                db.add(row)
            else:
                row.backend, row.collection_id = backend, collection_id
            return row


class SessionStore:
    def __init__(self, sessions: async_sessionmaker[DBSession]) -> None:
        self._sessions = sessions

    async def find(self, key: ThreadKey) -> SessionRow | None:
        async with self._sessions() as db:
            return await db.scalar(
                select(SessionRow).where(
                    SessionRow.platform == key.platform,
                    SessionRow.workspace_id == key.workspace_id,
                    SessionRow.channel_id == key.channel_id,
                    SessionRow.thread_id == key.thread_id,
                )
            )

    async def get(self, session_id: str) -> SessionRow | None:
        async with self._sessions() as db:
            return await db.get(SessionRow, session_id)

    async def get_or_create(self, key: ThreadKey, channel_pk: int, created_by: str) -> SessionRow:
        row = await self.find(key)
        if row is not None:
            return row
        try:
            async with self._sessions.begin() as db:
                row = SessionRow(
                    id=new_id(), platform=key.platform, workspace_id=key.workspace_id,
                    channel_id=key.channel_id, thread_id=key.thread_id, channel_pk=channel_pk,
                    created_by=created_by, memory={},
                )
                db.add(row)
            return row
        except IntegrityError:
            existing = await self.find(key)
            assert existing is not None
            return existing

    async def save_memory(self, session_id: str, memory: dict[str, Any]) -> None:
        async with self._sessions.begin() as db:
            await db.execute(
                update(SessionRow).where(SessionRow.id == session_id).values(memory=memory, updated_at=utcnow())
            )



class TurnStore:
    def __init__(self, sessions: async_sessionmaker[DBSession]) -> None:
        self._sessions = sessions

    async def create(
        self, session_id: str, message: InputMessage, *, retry_of: str | None = None,
        output_ref: dict[str, Any] | None = None, owner: str | None = None,
    ) -> TurnRow:
        """A queued turn with its input and an empty output; seq orders turns of a session."""
        for _attempt in range(5):
            try:
                async with self._sessions.begin() as db:
                    return await _add_turn(db, session_id, message, retry_of=retry_of, output_ref=output_ref,
                                           owner=owner)
            except IntegrityError:
                continue  # another process took this seq; try the next one
        raise RuntimeError("could not allocate a turn sequence number")

    async def get(self, turn_id: str) -> TurnRow | None:
        async with self._sessions() as db:
            return await db.get(TurnRow, turn_id)

    async def set_status(self, turn_id: str, status: TurnStatus, error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status.value}
        now = utcnow()
        if status is TurnStatus.running:
            values["started_at"] = now
        if status.is_final:
            values["finished_at"] = now
            values["error"] = error
        async with self._sessions.begin() as db:
            await db.execute(update(TurnRow).where(TurnRow.id == turn_id).values(**values))

    async def _message(self, turn_id: str, role: str) -> MessageRow | None:
        async with self._sessions() as db:
            return await db.scalar(select(MessageRow).where(MessageRow.turn_id == turn_id, MessageRow.role == role))

    async def load_input(self, turn_id: str) -> InputMessage:
        row = await self._message(turn_id, "input")
        assert row is not None, f"turn {turn_id} has no input"
        return InputMessage.model_validate(row.content)

    async def load_output(self, turn_id: str) -> tuple[OutputMessage, dict[str, Any] | None]:
        row = await self._message(turn_id, "output")
        assert row is not None, f"turn {turn_id} has no output"
        return OutputMessage.model_validate(row.content), row.platform_ref

    async def save_output(self, output: OutputMessage) -> None:
        async with self._sessions.begin() as db:
            await db.execute(
                update(MessageRow)
                .where(MessageRow.turn_id == output.turn_id, MessageRow.role == "output")
                .values(content=output.model_dump(mode="json"), updated_at=utcnow())
            )

    async def set_output_ref(self, turn_id: str, ref: dict[str, Any]) -> None:
        async with self._sessions.begin() as db:
            await db.execute(
                update(MessageRow)
                .where(MessageRow.turn_id == turn_id, MessageRow.role == "output")
                .values(platform_ref=ref)
            )

    async def find_by_output_ref(self, key: str, value: str) -> TurnRow | None:
        """The turn whose job message has `ref[key] == value` (e.g. a Slack ts)."""
        async with self._sessions() as db:
            rows = await db.execute(
                select(MessageRow.turn_id, MessageRow.platform_ref).where(MessageRow.role == "output")
                .order_by(MessageRow.updated_at.desc())
            )
            for turn_id, ref in rows:
                if ref and str(ref.get(key)) == value:
                    return await db.get(TurnRow, turn_id)
        return None

    async def mark_delivered(self, turn_id: str) -> None:
        async with self._sessions.begin() as db:
            await db.execute(update(TurnRow).where(TurnRow.id == turn_id).values(delivered=True))

    async def orphans(self, platforms: list[str], alive_ids: Select[tuple[str]]) -> list[TurnRow]:
        """Turns of these platforms whose owner is dead and that still need someone: queued,
        running, or ended but not delivered. Oldest first."""
        unfinished = TurnRow.status.in_([TurnStatus.queued.value, TurnStatus.running.value])
        async with self._sessions() as db:
            result = await db.scalars(
                select(TurnRow).join(SessionRow, SessionRow.id == TurnRow.session_id)
                .where(SessionRow.platform.in_(platforms), or_(unfinished, TurnRow.delivered.is_(False)),
                       or_(TurnRow.owner.is_(None), TurnRow.owner.not_in(alive_ids)))
                .order_by(TurnRow.created_at, TurnRow.seq)
            )
            return list(result)

    async def adopt(self, turn: TurnRow, owner: str) -> bool:
        """Become the turn's owner, unless another process adopted it first."""
        previous = TurnRow.owner.is_(None) if turn.owner is None else TurnRow.owner == turn.owner
        async with self._sessions.begin() as db:
            result = await db.execute(update(TurnRow).where(TurnRow.id == turn.id, previous).values(owner=owner))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_owner(self, turn_id: str, owner: str, job_id: int | None = None) -> None:
        values: dict[str, Any] = {"owner": owner}
        if job_id is not None:
            values["job_id"] = job_id
        async with self._sessions.begin() as db:
            await db.execute(update(TurnRow).where(TurnRow.id == turn_id).values(**values))

    async def request_cancel(self, turn_id: str) -> TurnRow | None:
        """Ask the turn's owner to cancel it (polled by in-process runners); the row, or
        None if the turn already ended."""
        async with self._sessions.begin() as db:
            turn = await db.get(TurnRow, turn_id)
            if turn is None or TurnStatus(turn.status).is_final:
                return None
            turn.cancel_requested = True
            return turn

    async def cancel_requests(self, owner: str) -> list[str]:
        """Ids of this owner's unfinished turns someone asked to cancel."""
        async with self._sessions() as db:
            result = await db.scalars(select(TurnRow.id).where(
                TurnRow.owner == owner, TurnRow.cancel_requested.is_(True),
                TurnRow.status.in_([TurnStatus.queued.value, TurnStatus.running.value])))
            return list(result)

    async def with_status(self, statuses: Iterable[TurnStatus]) -> list[TurnRow]:
        async with self._sessions() as db:
            result = await db.scalars(
                select(TurnRow).where(TurnRow.status.in_([s.value for s in statuses]))
                .order_by(TurnRow.created_at, TurnRow.seq)
            )
            return list(result)

    async def for_session(self, session_id: str) -> list[TurnRow]:
        async with self._sessions() as db:
            result = await db.scalars(select(TurnRow).where(TurnRow.session_id == session_id).order_by(TurnRow.seq))
            return list(result)


class ContextStore:
    """The LLM history of each session, appended turn by turn."""

    def __init__(self, sessions: async_sessionmaker[DBSession]) -> None:
        self._sessions = sessions

    async def append(self, session_id: str, turn_id: str, messages: list[ContextMessage]) -> None:
        if not messages:
            return
        async with self._sessions.begin() as db:
            await _append_context(db, session_id, turn_id, messages)

    async def load(self, session_id: str, max_rows: int = 400) -> list[tuple[str, ContextMessage]]:
        """The newest `max_rows` entries as (turn_id, message), oldest first."""
        async with self._sessions() as db:
            rows = await db.execute(
                select(ContextRow.turn_id, ContextRow.payload).where(ContextRow.session_id == session_id)
                .order_by(ContextRow.seq.desc()).limit(max_rows)
            )
            items = [(turn_id, ContextMessage.model_validate(payload)) for turn_id, payload in rows]
        items.reverse()
        return items


async def _add_turn(db: DBSession, session_id: str, message: InputMessage, *, retry_of: str | None = None,
                    output_ref: dict[str, Any] | None = None, owner: str | None = None) -> TurnRow:
    """Add a queued turn (next seq of its session) with its input and an empty output."""
    seq = await db.scalar(select(func.coalesce(func.max(TurnRow.seq), 0)).where(TurnRow.session_id == session_id))
    now = utcnow()
    turn = TurnRow(id=new_id(), session_id=session_id, seq=int(seq or 0) + 1, status=TurnStatus.queued.value,
                   user_id=message.user_id, retry_of=retry_of, owner=owner, delivered=False,
                   cancel_requested=False, created_at=now)
    await _insert(db, turn)
    output = OutputMessage(session_id=session_id, turn_id=turn.id)
    await _insert(db, MessageRow(id=message.id, turn_id=turn.id, role="input", content=message.model_dump(mode="json"),
                                 updated_at=now),
                  MessageRow(id=output.id, turn_id=turn.id, role="output", content=output.model_dump(mode="json"),
                             platform_ref=output_ref, updated_at=now))
    return turn


async def _insert(db: DBSession, *rows: Base) -> None:
    """INSERT new rows of one table in one statement, without the ORM's unit of work.

    The rows stay plain (transient) objects for the caller to read; the hot path of
    accepting and ending a turn spends most of its CPU in flushes otherwise.
    """
    table = rows[0].__table__
    # Columns no row sets are left to their defaults; executemany compiles one statement, so
    # every row gives the same keys.
    keys = [column.key for column in table.columns if any(getattr(row, column.key) is not None for row in rows)]
    await db.execute(insert(table), [{key: getattr(row, key) for key in keys} for row in rows])


class AcceptedTurn:
    """What `Store.accept_turn` stored: the turn, its session, and whether the session is new."""

    def __init__(self, turn: TurnRow, session: SessionRow, new_session: bool) -> None:
        self.turn, self.session, self.new_session = turn, session, new_session


class TurnRecord:
    """Everything stored about one turn, loaded in one transaction to run or show it."""

    def __init__(self, turn: TurnRow, session: SessionRow, channel: ChannelRow, input_message: InputMessage,
                 output: OutputMessage, output_ref: dict[str, Any] | None) -> None:
        self.turn, self.session, self.channel = turn, session, channel
        self.input, self.output, self.output_ref = input_message, output, output_ref


async def _append_context(db: DBSession, session_id: str, turn_id: str, messages: list[ContextMessage]) -> None:
    if not messages:
        return
    seq = await db.scalar(select(func.coalesce(func.max(ContextRow.seq), 0)).where(ContextRow.session_id == session_id))
    # One executemany statement rather than an INSERT ... RETURNING per message.
    await db.execute(insert(ContextRow), [
        {"session_id": session_id, "turn_id": turn_id, "seq": int(seq or 0) + offset,
         "payload": message.model_dump(mode="json"), "tokens": message.approx_tokens()}
        for offset, message in enumerate(messages, start=1)])


class Store:
    """All repositories over one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = session_factory(engine)
        self.ledger = EventLedger(self.sessionmaker)
        self.channels = ChannelStore(self.sessionmaker)
        self.sessions = SessionStore(self.sessionmaker)
        self.turns = TurnStore(self.sessionmaker)
        self.context = ContextStore(self.sessionmaker)
        self.feedback = FeedbackStore(self.sessionmaker)

    async def load_turn(self, turn_id: str) -> TurnRecord:
        async with self.sessionmaker() as db:
            row = (await db.execute(
                select(TurnRow, SessionRow, ChannelRow).where(TurnRow.id == turn_id)
                .join(SessionRow, SessionRow.id == TurnRow.session_id)
                .join(ChannelRow, ChannelRow.id == SessionRow.channel_pk))).one_or_none()
            assert row is not None, f"unknown turn {turn_id}"
            turn, session, channel = row
            messages = {row.role: row for row in await db.scalars(select(MessageRow).where(MessageRow.turn_id == turn_id))}
        return TurnRecord(turn, session, channel, InputMessage.model_validate(messages["input"].content),
                          OutputMessage.model_validate(messages["output"].content), messages["output"].platform_ref)

    async def accept_turn(self, incoming: Incoming, channel_pk: int, owner: str | None) -> AcceptedTurn | None:
        """In one transaction: claim the event keys, find or open the thread's session, store
        the input and a queued turn, and delete the stored request it came from.

        None if a key was claimed before (a duplicate delivery). All or nothing, so a crash
        can only leave the request to be replayed, never a claimed key without its turn.
        """
        keys = sorted({key[:255] for key in incoming.event_keys})
        for _attempt in range(5):
            try:
                return await self._accept_once(incoming, keys, channel_pk, owner)
            except IntegrityError:
                continue  # a concurrent writer took a key, the session or the seq: look again
        raise RuntimeError("could not store the turn after 5 attempts")

    async def _accept_once(self, incoming: Incoming, keys: list[str], channel_pk: int,
                           owner: str | None) -> AcceptedTurn | None:
        thread = incoming.thread
        async with self.sessionmaker.begin() as db:
            if keys and await db.scalar(select(EventKeyRow.key).where(EventKeyRow.key.in_(keys)).limit(1)):
                if incoming.inbox_id is not None:
                    await db.execute(delete(InboxRow).where(InboxRow.id == incoming.inbox_id))
                return None
            now = utcnow()
            if keys:
                await _insert(db, *(EventKeyRow(key=key, created_at=now) for key in keys))
            session = await db.scalar(select(SessionRow).where(
                SessionRow.platform == thread.platform, SessionRow.workspace_id == thread.workspace_id,
                SessionRow.channel_id == thread.channel_id, SessionRow.thread_id == thread.thread_id))
            new_session = session is None
            if session is None:
                session = SessionRow(id=new_id(), platform=thread.platform, workspace_id=thread.workspace_id,
                                     channel_id=thread.channel_id, thread_id=thread.thread_id,
                                     channel_pk=channel_pk, created_by=incoming.user_id, memory={},
                                     created_at=now, updated_at=now)
                await _insert(db, session)
            message = InputMessage(session_id=session.id, user_id=incoming.user_id, text=incoming.text,
                                   attachments=incoming.attachments)
            turn = await _add_turn(db, session.id, message, output_ref=incoming.output_ref, owner=owner)
            if incoming.inbox_id is not None:
                await db.execute(delete(InboxRow).where(InboxRow.id == incoming.inbox_id))
        return AcceptedTurn(turn, session, new_session)

    async def end_turn(self, turn_id: str, session_id: str, status: TurnStatus, error: str | None,
                       context: list[ContextMessage], memory: dict[str, Any] | None,
                       output: OutputMessage | None = None) -> None:
        """Record how a turn ended (its final message too), with what it adds to the session,
        in one transaction."""
        now = utcnow()
        async with self.sessionmaker.begin() as db:
            await _append_context(db, session_id, turn_id, context)
            if memory is not None:
                await db.execute(update(SessionRow).where(SessionRow.id == session_id)
                                 .values(memory=memory, updated_at=now))
            if output is not None:
                await db.execute(update(MessageRow)
                                 .where(MessageRow.turn_id == turn_id, MessageRow.role == "output")
                                 .values(content=output.model_dump(mode="json"), updated_at=now))
            await db.execute(update(TurnRow).where(TurnRow.id == turn_id)
                             .values(status=status.value, error=error, finished_at=now, cancel_requested=False))

    async def close(self) -> None:
        await self.engine.dispose()


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite drops tz info; treat naive datetimes as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    from datetime import timezone

    return value.replace(tzinfo=timezone.utc)

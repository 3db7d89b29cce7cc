"""Running one turn: load it from the database, show it, reason, store the outcome,
then deliver its final state.

Split from the schedulers (`inprocess.py`, `queue.py`) so both run turns the same way.
Recording the end (database) and delivering it (the platform) are separate steps, so
a scheduler can free a turn's slot before delivery, which may wait for the platform's
rate budget. Delivery is marked in the database; a final state that a dead process
never delivered is delivered by whoever adopts the turn (`adopt_orphans`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from core.agents.base import AgentContext
from core.delivery.persist import PersistingObserver
from core.delivery.port import TurnRef
from core.delivery.registry import PlatformRegistry
from core.incoming import ThreadKey
from core.llm.base import BaseLLM
from core.log_context import turn_context
from core.messages import CardStatus, ContextMessage, InputMessage, MsgStatus, OutputMessage, TextCard
from core.reasoning.engine import ReasoningEngine
from core.runner.turn_files import discard_turn_files, turn_work_dir
from core.session import CollectionScope, Session
from core.storage.models import ChannelRow, SessionRow, TurnRow
from core.storage.store import Store
from core.turns import TurnStatus
from core.video.backend import VideoBackend

log = logging.getLogger(__name__)

_FINAL_STATUS = {
    MsgStatus.success: TurnStatus.succeeded,
    MsgStatus.error: TurnStatus.failed,
    MsgStatus.cancelled: TurnStatus.cancelled,
    MsgStatus.interrupted: TurnStatus.interrupted,
}


def _why_cancelled() -> str:
    return "cancel"


@dataclass
class PreparedTurn:
    """A turn loaded and shown on its platform, waiting for its slot."""

    turn: TurnRow
    session_row: SessionRow
    channel: ChannelRow
    input: InputMessage
    output: OutputMessage
    ref: TurnRef
    persist: PersistingObserver
    # Asked when the turn's task is cancelled: "shutdown" ends it as interrupted, else cancelled.
    why_cancelled: Callable[[], str] = field(default=_why_cancelled)


def thread_key(row: SessionRow) -> ThreadKey:
    return ThreadKey(platform=row.platform, workspace_id=row.workspace_id,
                     channel_id=row.channel_id, thread_id=row.thread_id)


class TurnExecutor:
    def __init__(self, store: Store, backend: VideoBackend, llm: BaseLLM, engine: ReasoningEngine,
                 platforms: PlatformRegistry, *, work_dir: Path, max_upload_bytes: int,
                 persist_interval_s: float = 3.0) -> None:
        self.store = store
        self.backend = backend
        self.llm = llm
        self.engine = engine
        self.platforms = platforms
        self.work_dir = work_dir
        self.max_upload_bytes = max_upload_bytes
        self.persist_interval_s = persist_interval_s
        # Set when the process shuts down: turns stopped then end as interrupted, not cancelled.
        self.shutting_down = False

    async def prepare(self, turn_id: str, *, show_queued: bool = True) -> PreparedTurn:
        """Load a turn and attach its observers; its message shows it as queued."""
        record = await self.store.load_turn(turn_id)
        turn, session_row, channel = record.turn, record.session, record.channel
        input_message, output = record.input, record.output
        ref = TurnRef(turn_id=turn.id, session_id=session_row.id, thread=thread_key(session_row),
                      user_id=turn.user_id, input_text=input_message.text, output_ref=record.output_ref)
        persist = PersistingObserver(self.store.turns, self.persist_interval_s)
        output.add_observer(persist)
        self._attach_port(output, ref)
        if show_queued:
            output.status = MsgStatus.queued
            output.push_update()
        return PreparedTurn(turn, session_row, channel, input_message, output, ref, persist)

    def _attach_port(self, output: OutputMessage, ref: TurnRef) -> None:
        port = self.platforms.port(ref.thread.platform)
        if port is None:
            return

        async def save_ref(platform_ref: dict[str, str]) -> None:
            ref.output_ref = platform_ref
            await self.store.turns.set_output_ref(ref.turn_id, platform_ref)

        output.add_observer(port.observer_for(ref, save_ref))

    async def execute(self, prepared: PreparedTurn) -> TurnStatus:
        """Run the turn to its end; cancellation ends it as cancelled."""
        with turn_context(prepared.session_row.id, prepared.turn.id):
            return await self._execute(prepared)

    async def _execute(self, prepared: PreparedTurn) -> TurnStatus:
        output = prepared.output
        session = Session(
            id=prepared.session_row.id, key=prepared.ref.thread,
            collection=CollectionScope(self.backend, prepared.channel.collection_id),
            created_by=prepared.session_row.created_by, memory=dict(prepared.session_row.memory or {}),
        )
        ctx = AgentContext(
            session=session, output=output, llm=self.llm, attachments=prepared.input.attachments,
            fetch_attachment=self.platforms.fetcher(prepared.ref.thread.platform),
            work_dir=turn_work_dir(self.work_dir, prepared.turn.id), max_upload_bytes=self.max_upload_bytes,
        )
        user = ContextMessage.user(prepared.input.text)
        error: str | None = None
        try:
            await self.store.turns.set_status(prepared.turn.id, TurnStatus.running)
            history = await self._history(session.id)
            outcome = await self.engine.run(ctx, prepared.input, history)
            status, context, error = outcome.status, outcome.context, outcome.error
        except asyncio.CancelledError:
            if self.shutting_down or prepared.why_cancelled() == "shutdown":
                status, note = MsgStatus.interrupted, "(Interrupted by a restart.)"
                output.add_action("Interrupted by a restart")
            else:
                status, note = MsgStatus.cancelled, "(Cancelled by the person.)"
                output.add_action("Cancelled")
            context = [user, ContextMessage.assistant(note)]
        except Exception as exc:
            log.exception("turn %s failed", prepared.turn.id)
            error = type(exc).__name__
            status, context = MsgStatus.error, [user, ContextMessage.assistant("(This request failed.)")]
            output.add_card(TextCard(agent_name="director", status=CardStatus.error,
                                     status_message="Something went wrong on my side; the error is in the bot's log."))
        await asyncio.shield(self._record_end(prepared, session, status, context, error))
        return _FINAL_STATUS[status]

    async def _record_end(self, prepared: PreparedTurn, session: Session, status: MsgStatus,
                          context: list[ContextMessage], error: str | None) -> None:
        await discard_turn_files(self.work_dir, prepared.turn.id, prepared.input.attachments)
        output = prepared.output
        for card in output.content:
            if card.status is CardStatus.progress:  # work this turn did not finish
                card.status = CardStatus.error if status is not MsgStatus.success else CardStatus.success
                if status in (MsgStatus.cancelled, MsgStatus.interrupted):
                    card.status_message = f"Stopped ({status.value}) while: {card.status_message}"
        output.status = status
        memory = session.memory if session.memory != (prepared.session_row.memory or {}) else None
        await prepared.persist.settled()  # a progress save must not land after the final one
        await self.store.end_turn(prepared.turn.id, session.id, _FINAL_STATUS[status], error, context, memory,
                                  output=output)

    async def deliver(self, prepared: PreparedTurn) -> None:
        """Show the recorded final state on the platform (may wait for its rate budget)."""
        try:
            await prepared.output.publish()
        except Exception:
            log.exception("delivering the end of turn %s failed", prepared.turn.id)
        finally:
            await asyncio.shield(self.store.turns.mark_delivered(prepared.turn.id))

    async def end_unrun(self, prepared: PreparedTurn, status: MsgStatus) -> None:
        """Record the end of a turn that never ran (cancelled while queued, or interrupted)."""
        await discard_turn_files(self.work_dir, prepared.turn.id, prepared.input.attachments)
        prepared.output.status = status
        await prepared.persist.settled()
        await self.store.end_turn(prepared.turn.id, prepared.session_row.id, _FINAL_STATUS[status], None, [], None,
                                  output=prepared.output)

    async def _history(self, session_id: str) -> list[list[ContextMessage]]:
        """Earlier turns, whole: a turn cut by the row limit would start with a tool result
        whose call is missing, which OpenAI-compatible servers refuse."""
        rows = await self.store.context.load(session_id)
        turns = [[message for _, message in group] for _, group in groupby(rows, key=lambda row: row[0])]
        if turns and turns[0][0].role != "user":
            turns.pop(0)
        return turns

    async def interrupt(self, turn_id: str) -> None:
        """End a turn that was running in a process that died: interrupted, with Retry."""
        prepared = await self.prepare(turn_id, show_queued=False)
        prepared.output.add_action("Interrupted by a restart")
        await self.end_unrun(prepared, MsgStatus.interrupted)
        await self.deliver(prepared)

    async def deliver_stored(self, turn_id: str) -> None:
        """Deliver a final state a dead process recorded but never showed."""
        prepared = await self.prepare(turn_id, show_queued=False)
        await self.deliver(prepared)

"""Showing a turn in Slack as a streamed reply: chat.startStream → appendStream → stopStream.

The default where Slack allows it (SLACK_STREAMING=true). The reply is one message in
the thread: each agent call is a task (`task_update`: pending → in_progress →
complete | error, with what the agent last reported, "indexing spoken words… 40%"),
the model's answer streams as markdown as it arrives, and at the end `stopStream`
gets the results as blocks (▶ Watch, search hits, errors, Retry, 👍/👎).

Rules, so every guarantee of the edited card still holds:
- Appends are coalesced: at most one `appendStream` per `min_interval` per reply, and
  a per-workspace budget under Tier 4; never a call per token. A 429 waits for
  Retry-After and resends the same chunks; the final state always lands.
- `assistant.threads.setStatus` says what the bot does while no text flows, refreshed
  before Slack clears it (2 minutes), cleared at the end.
- Stop (`appendStream` answers `stopped_by_user`) cancels the turn like Cancel; the
  cancelled state then lands through `chat.update` on the same message, with Retry.
- Age: a reply streams while its stream is younger than `max_age_s` (240 s; Slack's
  streams expire after about 5 minutes). Then the stream is stopped and the same
  message becomes the edited card (`chat.update` on the stream's ts), so a 20-minute
  job still ends in one coherent reply. An expired or vanished stream does the same.
- Refused streaming (`method_not_supported_for_channel_type`, an older Grid, a missing
  scope…) falls back to the edited card, unchanged; the channel is remembered.
- A stored reference (a retried turn, a restart, a worker of the queue runtime) resumes
  the stream if it is young, else edits that message as a card.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.delivery import DeliveryOptions, SlackPort, SlackTurnObserver, retry_after
from adapters.slack.render import SlackRender
from adapters.slack.stream_render import (
    MAX_MARKDOWN,
    card_with_feedback,
    defuse,
    progress_details,
    stop_blocks,
    task_chunk,
    task_title,
    text_chunk,
    unsent_text,
)
from adapters.slack.uploads import InlineClips
from core.delivery.port import SaveRef, TurnRef
from core.delivery.rate import RateWindows
from core.messages import MsgStatus, OutputMessage
from core.reasoning.events import TextDelta, TextDiscarded, ToolCallFinished, ToolCallStarted

log = logging.getLogger(__name__)

STOPPED = "stopped_by_user"
GONE = frozenset({"message_not_in_streaming_state", "message_not_found", "channel_not_found",
                  "cant_update_message", "streaming_state_conflict"})
REMEMBERED = frozenset({"method_not_supported_for_channel_type", "unknown_method", "not_allowed_token_type"})
LOADING = ["Looking at your videos…", "Working on it…", "Still on it…"]
Cancel = Callable[[str], Awaitable[bool]]


@dataclass
class StreamOptions:
    """Stream pacing; tests shrink these."""

    enabled: bool = True
    min_interval: float = 1.0  # between appends of one reply
    max_age_s: float = 240.0  # stream while younger, then finish with chat.update
    status_refresh_s: float = 90.0  # Slack clears a status after 2 minutes
    tick_s: float = 15.0  # how often a silent reply checks its age and status
    appends_per_window: int = 90  # per workspace (Tier 4: 100+ a minute)
    window_seconds: float = 60.0
    clock: Callable[[], float] = field(default=time.time)  # wall time: the age is stored with the reference


@dataclass
class _Task:
    tool: str
    title: str
    status: str = "pending"
    details: str = ""


class CardAfterStream(SlackTurnObserver):
    """The edited card of a reply that left its stream; 👍/👎 when final."""

    def render(self, message: OutputMessage) -> SlackRender:
        return card_with_feedback(message)


class SlackStreamObserver:
    """One turn's streamed reply; hands over to an edited card when it must."""

    def __init__(self, port: "StreamingSlackPort", turn: TurnRef, save_ref: SaveRef) -> None:
        self._port = port
        self._client: AsyncWebClient = port.client
        self._options = port.stream_options
        self._turn = turn
        self._save_ref = save_ref
        self._ref: dict[str, str] | None = dict(turn.output_ref) if turn.output_ref else None
        self._card: SlackTurnObserver | None = None
        self._latest: OutputMessage | None = None
        self._queue: list[dict[str, Any]] = []
        self._sent_text: dict[str, int] = {}
        self._tasks: dict[str, _Task] = {}
        self._wake = asyncio.Event()
        self._done = asyncio.Event()
        self._final = False
        self._start_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._side: set[asyncio.Task[Any]] = set()
        self._ticking = False
        self._last_append = 0.0
        self._last_text_at = 0.0
        self._last_status_at = 0.0
        self._status_on = True
        self.appends = 0
        if self._ref is not None and not self._young():
            self._card = self._card_for(self._ref)

    # state --------------------------------------------------------------------------

    @property
    def ref(self) -> dict[str, str] | None:
        return self._ref

    @property
    def streaming(self) -> bool:
        return self._card is None and self._ref is not None

    def pending(self) -> list[asyncio.Task[Any]]:
        tasks = [self._start_task, self._flush_task, *self._side]
        out = [t for t in tasks if t is not None and not t.done()]
        return out + (self._card.pending() if self._card is not None else [])

    async def settled(self) -> None:
        """The stream has started and its reference is stored (or the card's post landed)."""
        if self._start_task is not None:
            await asyncio.shield(self._start_task)
        if self._card is not None:
            await self._card.settled()

    def _young(self) -> bool:
        ref = self._ref or {}
        if ref.get("stream") != "1":
            return False  # a card, or a stream already stopped
        try:
            started = float(ref.get("started", "0"))
        except ValueError:
            return False
        return self._options.clock() - started < self._options.max_age_s

    def _card_for(self, ref: dict[str, str] | None) -> SlackTurnObserver:
        """A card on the stored message (CardAfterStream if it was a stream), or a new card."""
        turn = self._turn.model_copy(update={"output_ref": ref}) if ref else self._turn
        kind = CardAfterStream if ref and ref.get("stream") else SlackTurnObserver
        return kind(self._client, turn, self._save_ref, self._port.windows, self._port.options)

    # OutputObserver -------------------------------------------------------------------

    def on_update(self, message: OutputMessage) -> None:
        self._latest = message
        if self._card is not None:
            self._card.on_update(message)
        elif self._ref is None:
            if self._start_task is None:
                self._start_task = asyncio.get_running_loop().create_task(self._start())
        else:
            self._progress(message)
            self._start_ticker(message)
            self._kick()

    def _start_ticker(self, message: OutputMessage) -> None:
        """Only once the turn runs: a process that only showed "queued" (the queue
        runtime's web process) leaves no loop behind."""
        if not self._ticking and message.status == MsgStatus.progress:
            self._ticking = True
            self._side_task(self._tick())

    def on_event(self, message: OutputMessage, event: Any) -> None:
        self._latest = message
        if self._card is not None:
            return
        if isinstance(event, ToolCallStarted):
            task = self._tasks[event.call_id] = _Task(event.tool, task_title(event.tool))
            self._queue.append(task_chunk(event.call_id, task.title, task.status))
        elif isinstance(event, ToolCallFinished):
            task = self._tasks.get(event.call_id) or _Task(event.tool, task_title(event.tool))
            self._tasks[event.call_id] = task
            if task.status == "pending":  # it ran: every task shows the whole lifecycle
                self._queue.append(task_chunk(event.call_id, task.title, "in_progress", task.details))
            task.status, task.details = ("complete" if event.ok else "error"), event.message
            self._queue.append(task_chunk(event.call_id, task.title, task.status, task.details))
        elif isinstance(event, TextDelta) and event.delta:
            self._sent_text[event.card_id] = self._sent_text.get(event.card_id, 0) + len(event.delta)
            self._queue.append({**text_chunk(defuse(event.delta)), "_card": event.card_id})
        elif isinstance(event, TextDiscarded):
            # Not the answer after all (tools follow): drop what was not sent yet; what
            # already streamed stays as the reply's lead-in.
            self._queue = [c for c in self._queue if c.get("_card") != event.card_id]
            self._sent_text.pop(event.card_id, None)
            return
        else:
            return
        self._kick()

    async def on_publish(self, message: OutputMessage) -> None:
        self._latest = message
        if self._start_task is not None:
            await asyncio.shield(self._start_task)
        if self._card is None and self._ref is None:
            self._card = self._card_for(None)  # never started: the card posts the final state once
        if self._card is None:
            await self._finish_stream(message)
        try:
            if self._card is not None:
                await self._card.on_publish(message)
            elif message.status == MsgStatus.success and self._ref is not None:
                clips = InlineClips(self._client, self._port.options.inline_clip_bytes)
                uploaded = await clips.upload(message, self._ref, self._turn.thread.thread_id)
                if uploaded and ",".join(uploaded) != self._ref.get("uploads", ""):
                    self._ref = {**self._ref, "uploads": ",".join(uploaded)}
                    await self._save_ref(self._ref)
        finally:
            self._done.set()
            await self._set_status("")

    # starting -------------------------------------------------------------------------

    async def _start(self) -> None:
        thread = self._turn.thread
        await self._set_status("is working on it…", LOADING)
        for attempt in range(4):
            try:
                response = await self._client.chat_startStream(
                    channel=thread.channel_id, thread_ts=thread.thread_id, task_display_mode="timeline",
                    recipient_user_id=self._turn.user_id or None, recipient_team_id=thread.workspace_id or None)
                break
            except SlackApiError as exc:
                wait = retry_after(exc)
                if wait is not None and attempt < 3:
                    await asyncio.sleep(wait)
                    continue
                error = str(exc.response.get("error"))
                log.info("Slack refused a streamed reply (%s); showing the edited card", error)
                if error in REMEMBERED:
                    self._port.refused.add(thread.channel_id)
                return self._fall_back()
            except Exception:
                log.exception("starting a streamed reply failed; showing the edited card")
                return self._fall_back()
        ref = {"channel": str(response["channel"]), "ts": str(response["ts"]), "stream": "1",
               "started": f"{self._options.clock():.3f}"}
        self._ref = ref
        try:
            await self._save_ref(ref)
        except Exception:
            log.exception("could not store where the reply of turn %s is", self._turn.turn_id)
        self._last_append = time.monotonic()
        if self._latest is not None:
            self._progress(self._latest)
            self._start_ticker(self._latest)
        self._kick()

    def _fall_back(self) -> None:
        self._card = self._card_for(None)
        if self._latest is not None:
            self._card.on_update(self._latest)

    # appending --------------------------------------------------------------------------

    def _progress(self, message: OutputMessage) -> None:
        """Agents' progress reports become task details."""
        for task_id, task in self._tasks.items():
            if task.status not in ("pending", "in_progress"):
                continue
            details = progress_details(message, task.tool)
            if details and details != task.details:
                task.status, task.details = "in_progress", details
                self._queue.append(task_chunk(task_id, task.title, task.status, details))

    def _kick(self) -> None:
        self._wake.set()
        if self.streaming and (self._flush_task is None or self._flush_task.done()):
            self._flush_task = asyncio.get_running_loop().create_task(self._flush())

    def _take(self) -> list[dict[str, Any]]:
        """The next append: queued chunks in order, text merged (≤ 12,000 characters), a
        task's repeated status folded into its latest."""
        batch: list[dict[str, Any]] = []
        text = 0
        while self._queue:
            chunk = self._queue[0]
            if chunk["type"] == "markdown_text":
                room = MAX_MARKDOWN - text
                if room <= 0:
                    break
                piece, rest = chunk["text"][:room], chunk["text"][room:]
                if rest:
                    self._queue[0] = {**chunk, "text": rest}
                else:
                    self._queue.pop(0)
                text += len(piece)
                if batch and batch[-1]["type"] == "markdown_text":
                    batch[-1] = text_chunk(batch[-1]["text"] + piece)
                else:
                    batch.append(text_chunk(piece))
                continue
            self._queue.pop(0)
            last = batch[-1] if batch else None
            if last and last["type"] == "task_update" and last["id"] == chunk["id"] and last["status"] == chunk["status"]:
                batch[-1] = chunk
            else:
                batch.append(chunk)
        return batch

    async def _pace(self) -> None:
        wait = self._options.min_interval - (time.monotonic() - self._last_append)
        if wait > 0 and not self._final:
            await asyncio.sleep(wait)
        await self._port.append_windows.get(self._turn.thread.workspace_id).acquire(urgent=self._final)

    async def _flush(self) -> None:
        failures = 0
        while self.streaming:
            if not self._final:
                await self._wake.wait()
            await self._pace()
            self._wake.clear()
            if not self._young():
                await self._leave_stream(stop=True)
                return
            batch = self._take()
            if not batch:
                if self._final:
                    return
                continue
            assert self._ref is not None
            try:
                await self._client.chat_appendStream(channel=self._ref["channel"], ts=self._ref["ts"], chunks=batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._queue[:0] = batch
                error = exc.response.get("error") if isinstance(exc, SlackApiError) else None
                wait = retry_after(exc) if isinstance(exc, SlackApiError) else None
                if wait is not None:
                    log.info("appendStream rate limited; retrying after %.1f s", wait)
                    await asyncio.sleep(wait)
                    self._wake.set()
                    continue
                if error == STOPPED:
                    await self._stopped()
                    return
                failures += 1
                log.warning("appendStream failed (%s, attempt %d)", error or type(exc).__name__, failures)
                if error in GONE or failures >= 3:
                    await self._leave_stream(stop=False)
                    return
                await asyncio.sleep(min(0.1 * 2**failures, 2.0))
                self._wake.set()
                continue
            failures = 0
            self.appends += 1
            self._last_append = time.monotonic()
            if any(chunk["type"] == "markdown_text" for chunk in batch):
                self._last_text_at = self._last_append
            self._advance(batch)
            if self._queue:
                self._wake.set()
            elif self._final:
                return

    def _advance(self, batch: list[dict[str, Any]]) -> None:
        """A task shown as pending is running now (the engine runs calls as it announces them)."""
        if self._final:
            return
        for chunk in batch:
            task = self._tasks.get(chunk.get("id", "")) if chunk["type"] == "task_update" else None
            if task is not None and task.status == "pending":
                task.status = "in_progress"
                self._queue.append(task_chunk(chunk["id"], task.title, task.status, task.details))

    # leaving the stream ---------------------------------------------------------------------

    async def _leave_stream(self, *, stop: bool) -> None:
        """Finish on the same message as an edited card (the stream is old, gone or stopped)."""
        assert self._ref is not None
        if self._card is not None:
            return
        if stop:
            try:
                await self._client.chat_stopStream(channel=self._ref["channel"], ts=self._ref["ts"])
            except Exception as exc:
                log.debug("stopping an old stream: %s", getattr(exc, "response", {}).get("error", exc))
        log.info("the reply of turn %s left its stream; it ends through chat.update", self._turn.turn_id)
        await self._mark_stopped()
        self._card = self._card_for(self._ref)
        if self._latest is not None:
            self._card.on_update(self._latest)

    async def _mark_stopped(self) -> None:
        """Store that the stream is over: a Retry or a restart then edits the message."""
        assert self._ref is not None
        if self._ref.get("stream") == "stopped":
            return
        self._ref = {**self._ref, "stream": "stopped"}
        try:
            await self._save_ref(self._ref)
        except Exception:
            log.exception("could not store that the reply of turn %s stopped streaming", self._turn.turn_id)

    async def _stopped(self) -> None:
        """The person pressed Stop: cancel the turn, as the Cancel button does."""
        log.info("Stop pressed on the reply of turn %s; cancelling it", self._turn.turn_id)
        await self._leave_stream(stop=False)
        if self._port.cancel is not None:
            self._side_task(self._port.cancel(self._turn.turn_id))

    def _finish_tasks(self, message: OutputMessage) -> None:
        stopped = message.status in (MsgStatus.cancelled, MsgStatus.interrupted)
        for task_id, task in self._tasks.items():
            if task.status in ("pending", "in_progress"):
                task.status = "complete" if message.status == MsgStatus.success else "error"
                task.details = f"Stopped ({message.status.value})" if stopped else task.details
                self._queue.append(task_chunk(task_id, task.title, task.status, task.details))

    async def _finish_stream(self, message: OutputMessage) -> None:
        """Flush what is left, then stopStream with the results; chat.update if it cannot."""
        self._finish_tasks(message)
        self._queue.extend(text_chunk(defuse(text)) for text in unsent_text(message, self._sent_text))
        self._final = True
        self._kick()
        if self._flush_task is not None:
            await asyncio.shield(self._flush_task)
        if self._card is None and not await self._stop(message):
            await self._leave_stream(stop=False)

    async def _stop(self, message: OutputMessage) -> bool:
        assert self._ref is not None
        blocks = stop_blocks(message)
        for attempt in range(8):
            try:
                await self._client.chat_stopStream(
                    channel=self._ref["channel"], ts=self._ref["ts"], blocks=blocks,
                    metadata={"event_type": "director_turn", "event_payload": {"turn_id": self._turn.turn_id}})
                await self._mark_stopped()
                return True
            except SlackApiError as exc:
                wait = retry_after(exc)
                if wait is not None:
                    await asyncio.sleep(wait)
                    continue
                log.warning("stopStream failed (%s); finishing with chat.update", exc.response.get("error"))
                return False
            except Exception:
                log.exception("stopStream failed (attempt %d)", attempt + 1)
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
        return False

    # status -----------------------------------------------------------------------------------

    async def _tick(self) -> None:
        """While the reply is silent: leave an old stream in time, refresh the status line."""
        while not self._done.is_set():
            try:
                await asyncio.wait_for(self._done.wait(), self._options.tick_s)
                return
            except asyncio.TimeoutError:
                pass
            if not self._young() and self.streaming:
                self._kick()  # the flush loop leaves the stream
            elif self.streaming and not self._queue and time.monotonic() - self._last_append >= self._options.tick_s:
                self._heartbeat()
            quiet = time.monotonic() - max(self._last_text_at, self._last_status_at)
            if quiet >= self._options.status_refresh_s:
                await self._set_status(self._status_text())

    def _heartbeat(self) -> None:
        """Re-send the latest task's state: Slack answers an append with `stopped_by_user`
        once Stop was pressed, so a silent reply still learns of it within `tick_s`."""
        if self._tasks:
            task_id, task = list(self._tasks.items())[-1]
            self._queue.append(task_chunk(task_id, task.title, task.status, task.details))
            self._kick()

    def _status_text(self) -> str:
        running = [t for t in self._tasks.values() if t.status in ("pending", "in_progress")]
        if not running:
            return "is working on it…"
        task = running[-1]
        return f"is running {task.title.lower()}: {task.details}"[:120] if task.details else \
            f"is running {task.title.lower()}…"[:120]

    async def _set_status(self, text: str, loading: list[str] | None = None) -> None:
        if not self._status_on:
            return
        thread = self._turn.thread
        try:
            await self._client.assistant_threads_setStatus(channel_id=thread.channel_id, thread_ts=thread.thread_id,
                                                           status=text, loading_messages=loading)
            self._last_status_at = time.monotonic()
        except SlackApiError as exc:
            if retry_after(exc) is None:
                self._status_on = False  # not allowed here (scope, surface): no status for this reply
                log.debug("no status line: %s", exc.response.get("error"))
        except Exception as exc:
            log.debug("setting the status failed: %s", type(exc).__name__)

    def _side_task(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._side.add(task)
        task.add_done_callback(self._side.discard)


class StreamingSlackPort(SlackPort):
    """The Slack port that streams replies where Slack allows it, else the edited card."""

    def __init__(self, client: AsyncWebClient, options: DeliveryOptions | None = None,
                 stream_options: StreamOptions | None = None, cancel: Cancel | None = None) -> None:
        super().__init__(client, options)
        self.client = client
        self.stream_options = stream_options or StreamOptions()
        self.cancel = cancel
        self.refused: set[str] = set()  # channels where Slack refused streaming
        self.append_windows = RateWindows(self.stream_options.appends_per_window, self.stream_options.window_seconds)

    @property
    def windows(self) -> RateWindows:
        return self._windows

    def observer_for(self, turn: TurnRef, save_ref: SaveRef) -> Any:
        if not self.stream_options.enabled or turn.thread.channel_id in self.refused:
            return super().observer_for(turn, save_ref)
        observer = SlackStreamObserver(self, turn, save_ref)
        self._observers.add(observer)  # type: ignore[arg-type]
        return observer

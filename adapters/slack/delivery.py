"""Showing a turn in Slack: one reply in the thread, posted once, then only edited.

The runner asks `SlackPort.observer_for` for each turn. The observer posts the job
card on the first update (or edits the stored message of a retried or interrupted
turn), stores its (channel, ts) right away, and hands every later state to an
`EditCoalescer`: latest state wins, at least `min_interval` between edits, an
unchanged render is skipped, a per-workspace budget keeps all turns under
chat.update's Tier 3 limit, a 429 waits for Retry-After, and the final state lands.

Lost responses: if chat.postMessage fails in a way that leaves us unsure whether
Slack posted (timeout, connection reset, 5xx), we do not post again for progress;
the final state is posted once at the end. At worst a thread shows one stale extra
card, never a lost answer or a storm of duplicates. The post is made once here: the
Web API client retries it only when nothing was posted (a 429, a connection never
made; see `retries`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SlackRender, render, section
from adapters.slack.uploads import InlineClips
from core.delivery.job_message import JobMessageObserver
from core.delivery.port import SaveRef, TurnRef
from core.delivery.rate import RateWindows
from core.errors import RateLimited
from core.messages import MsgStatus, OutputMessage
from core.retry_after import parse_retry_after

log = logging.getLogger(__name__)

GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed", "channel_not_found"})
TOO_BIG = frozenset({"msg_too_long", "msg_blocks_too_long", "invalid_blocks"})


@dataclass
class DeliveryOptions:
    """Edit pacing; tests shrink these."""

    min_interval: float = 2.0
    edits_per_window: int = 40
    window_seconds: float = 60.0
    inline_clip_bytes: int = 20 * 1024 * 1024


def retry_after(error: SlackApiError) -> float | None:
    """Seconds to wait if Slack answered 429, else None."""
    response = error.response
    if getattr(response, "status_code", None) != 429 and response.get("error") != "ratelimited":
        return None
    headers = {str(k).lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    value = headers.get("retry-after")
    return parse_retry_after(value[0] if isinstance(value, list) else value) or 1.0


class SlackTurnObserver(JobMessageObserver[SlackRender]):
    """Renders one turn's OutputMessage into one Slack message."""

    def __init__(self, client: AsyncWebClient, turn: TurnRef, save_ref: SaveRef,
                 coalescer_window: RateWindows, options: DeliveryOptions) -> None:
        super().__init__(turn, save_ref, min_interval=options.min_interval,
                         window=coalescer_window.get(turn.thread.workspace_id))
        self._client = client
        self._options = options

    def render(self, message: OutputMessage) -> SlackRender:
        return render(message)

    async def on_publish(self, message: OutputMessage) -> None:
        await super().on_publish(message)
        if message.status == MsgStatus.success and self._ref is not None:
            clips = InlineClips(self._client, self._options.inline_clip_bytes)
            uploaded = await clips.upload(message, self._ref, self._turn.thread.thread_id)
            if uploaded and ",".join(uploaded) != self._ref.get("uploads", ""):
                await self._store_ref({**self._ref, "uploads": ",".join(uploaded)})

    async def _post(self, rendered: SlackRender) -> None:
        try:
            response = await self._client.chat_postMessage(
                channel=self._turn.thread.channel_id, thread_ts=self._turn.thread.thread_id, **rendered.kwargs(),
                metadata={"event_type": "director_turn", "event_payload": {"turn_id": self._turn.turn_id}},
            )
        except SlackApiError as exc:
            log.error("could not post the job card: %s", exc.response.get("error"))
            return
        except Exception:
            log.exception("posting the job card failed; will post the final state instead")
            return
        await self._store_ref({"channel": str(response["channel"]), "ts": str(response["ts"])})

    async def _edit(self, rendered: SlackRender) -> None:
        assert self._ref is not None
        try:
            await self._client.chat_update(channel=self._ref["channel"], ts=self._ref["ts"], **rendered.kwargs())
        except SlackApiError as exc:
            wait = retry_after(exc)
            if wait is not None:
                raise RateLimited(wait) from exc
            error = exc.response.get("error")
            if error in GONE:
                log.warning("job card %s can no longer be edited (%s)", self._ref["ts"], error)
                return
            if error in TOO_BIG:
                log.warning("Slack refused the card (%s); sending a short one", error)
                await self._client.chat_update(channel=self._ref["channel"], ts=self._ref["ts"],
                                               text=rendered.text[:3000], blocks=[section(rendered.text[:3000])])
                return
            raise


class SlackPort:
    """The core's `PlatformPort` for Slack; one shared per-workspace edit budget."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, options: DeliveryOptions | None = None) -> None:
        self._client = client
        self.options = options or DeliveryOptions()
        self._windows = RateWindows(self.options.edits_per_window, self.options.window_seconds)

        self._observers: weakref.WeakSet[SlackTurnObserver] = weakref.WeakSet()

    def observer_for(self, turn: TurnRef, save_ref: SaveRef) -> SlackTurnObserver:
        observer = SlackTurnObserver(self._client, turn, save_ref, self._windows, self.options)
        self._observers.add(observer)
        return observer

    async def aclose(self, grace: float = 5.0) -> None:
        """At shutdown: let in-flight edits land for up to `grace` seconds, then stop them."""
        tasks = [task for observer in list(self._observers) for task in observer.pending()]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

"""The edit coalescer: latest state wins, intervals, budgets, 429s, final always lands.

`send` here is the platform edge (a recorder); the coalescer itself is the real thing.
"""

from __future__ import annotations

import asyncio

from core.delivery.coalescer import EditCoalescer
from core.delivery.rate import RateWindow
from core.errors import RateLimited
from core.messages import MsgStatus, OutputMessage, TextCard


def _render(message: OutputMessage) -> str:
    return f"{message.status.value}|{len(message.actions)}|{message.text()}"


class Recorder:
    def __init__(self, fail_with: list[Exception] | None = None) -> None:
        self.sent: list[str] = []
        self.fail_with = list(fail_with or [])
        self.attempts = 0

    async def __call__(self, rendered: str) -> None:
        self.attempts += 1
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.sent.append(rendered)


async def test_fifty_updates_in_a_burst_become_at_most_three_edits() -> None:
    recorder = Recorder()
    coalescer = EditCoalescer(_render, recorder, min_interval=0.3)
    message = OutputMessage(status=MsgStatus.progress)
    for tick in range(50):
        message.add_action(f"step {tick}")
        coalescer.update(message)
        await asyncio.sleep(0)
    message.status = MsgStatus.success
    message.add_card(TextCard(text="final"))
    await coalescer.finish(message)
    assert len(recorder.sent) <= 3
    assert recorder.sent[-1] == "success|50|final"


async def test_unchanged_render_is_not_sent() -> None:
    recorder = Recorder()
    coalescer = EditCoalescer(_render, recorder, min_interval=0)
    message = OutputMessage(status=MsgStatus.progress)
    coalescer.prime(_render(message))
    coalescer.update(message)
    await coalescer.finish(message)
    assert recorder.sent == []


async def test_rate_limited_edit_is_retried_after_retry_after_and_final_lands() -> None:
    recorder = Recorder(fail_with=[RateLimited(0.05), RateLimited(0.05)])
    coalescer = EditCoalescer(_render, recorder, min_interval=0)
    message = OutputMessage(status=MsgStatus.success)
    message.add_card(TextCard(text="result"))
    await coalescer.finish(message)
    assert recorder.attempts == 3
    assert recorder.sent == ["success|0|result"]


async def test_other_failures_are_retried_for_the_final_state() -> None:
    recorder = Recorder(fail_with=[RuntimeError("502 from proxy")])
    coalescer = EditCoalescer(_render, recorder, min_interval=0)
    message = OutputMessage(status=MsgStatus.error)
    await coalescer.finish(message)
    assert recorder.sent == ["error|0|"]


async def test_shared_window_caps_edits_across_messages() -> None:
    window = RateWindow(max_events=2, per_seconds=60)
    first, second = Recorder(), Recorder()
    a = EditCoalescer(_render, first, min_interval=0, window=window)
    b = EditCoalescer(_render, second, min_interval=0, window=window)
    a.update(OutputMessage(status=MsgStatus.progress))
    b.update(OutputMessage(status=MsgStatus.progress))
    await asyncio.sleep(0.05)
    assert len(first.sent) + len(second.sent) == 2
    assert window.delay() > 0  # a third edit would have to wait for the window


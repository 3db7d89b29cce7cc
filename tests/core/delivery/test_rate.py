"""Rate windows: slots free up with time; idle keys are forgotten."""

from __future__ import annotations

from core.delivery.rate import RateWindow


def test_rate_window_frees_slots_as_time_passes() -> None:
    now = [0.0]
    window = RateWindow(max_events=1, per_seconds=10, clock=lambda: now[0])
    window._events.append(0.0)
    assert window.delay() == 10
    now[0] = 10.0
    assert window.delay() == 0


def test_rate_windows_forget_idle_keys() -> None:
    from core.delivery.rate import RateWindows

    windows = RateWindows(4, 5)
    for number in range(1500):
        windows.get(f"thread-{number}")
    assert len(windows._windows) <= 1001


async def test_final_states_go_before_progress_under_rate_pressure() -> None:
    import asyncio

    window = RateWindow(max_events=1, per_seconds=0.1)
    await window.acquire()  # the window is full
    granted: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await window.acquire(urgent=urgent)
        granted.append(name)

    progress = [asyncio.create_task(take(f"progress {i}", False)) for i in range(3)]
    await asyncio.sleep(0)  # they queue first
    final = asyncio.create_task(take("final", True))
    await asyncio.gather(*progress, final)
    assert granted[0] == "final"
    assert granted[1:] == ["progress 0", "progress 1", "progress 2"]

"""Discord adapter figures, against the loopback fake with the real discord.py client.

    python -m benchmarks.bench_discord [--interactions 50]

1. Time from INTERACTION_CREATE (gateway frame sent) to the defer callback arriving.
2. Edits per turn against the number of progress updates, with production pacing
   (≥ 1.5 s between edits, ≤ 4 edits per 5 s per channel).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from adapters.discord import DeliveryOptions, start_bot, urls
from bot.platforms import discord_config
from bot.settings import Settings
from bot.wiring import build_app
from core.delivery.port import TurnRef
from core.messages import MsgStatus, OutputMessage, TextCard
from tests.fakes.discord_server import FakeDiscord


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def defer_latency(fake: FakeDiscord, guild: int, channel: int, count: int) -> list[float]:
    """ms from the gateway frame to the type-5 callback, one interaction at a time."""
    latencies = []
    for _ in range(count):
        payload = fake.slash_payload(guild, channel, "help")
        sent = await fake.dispatch("INTERACTION_CREATE", payload)
        [callback] = await fake.wait_for(lambda: fake.callbacks(int(payload["id"])))
        latencies.append((callback.at - sent) * 1000)
        # the next request only once this one is accepted and pointed at its thread
        await fake.wait_for(lambda: "<#" in ((fake.original_response(int(payload["id"])) or {}).get("content") or ""))
    return latencies


async def edits_for(bot_port: object, fake: FakeDiscord, guild: int, thread: int, updates: int,
                    spacing: float) -> tuple[int, float]:
    """Push `updates` progress states `spacing` s apart, publish, count edits that landed."""
    turn = TurnRef(turn_id=f"bench{updates}", session_id="s", user_id="u",
                   thread={"platform": "discord", "workspace_id": str(guild), "channel_id": str(thread),
                           "thread_id": str(thread)})
    saved: dict[str, str] = {}

    async def save_ref(ref: dict[str, str]) -> None:
        saved.update(ref)

    observer = bot_port.observer_for(turn, save_ref)  # type: ignore[attr-defined]
    message = OutputMessage(turn_id=turn.turn_id, status=MsgStatus.queued)
    message.add_observer(observer)
    message.push_update()
    card = message.add_card(TextCard(text="starting"))
    message.status = MsgStatus.progress
    started = time.monotonic()
    for i in range(updates):
        card.text = f"step {i + 1} of {updates}"
        message.push_update()
        await asyncio.sleep(spacing)
    message.status = MsgStatus.success
    await message.publish()
    elapsed = time.monotonic() - started
    return len(fake.edits_of(int(saved["message"]))), elapsed


async def main(interactions: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    fake = FakeDiscord()
    await fake.start()
    guild = fake.add_guild()
    channel = fake.add_text_channel(guild, "bench")
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(_env_file=None, DIRECTOR_DATA_DIR=Path(data), MEDIA_PORT=0,  # type: ignore[call-arg]
                            DISCORD_BOT_TOKEN=fake.bot_token, DISCORD_API_URL=fake.api_url,
                            DISCORD_GATEWAY_URL=fake.gateway_url, LOG_LEVEL="WARNING")
        app = await build_app(settings)
        bot = await start_bot(app, discord_config(settings), options=DeliveryOptions())
        try:
            latencies = await defer_latency(fake, guild, channel, interactions)
            print(f"defer latency over {len(latencies)} interactions (ms): "
                  f"median {statistics.median(latencies):.1f}, p95 {percentile(latencies, 0.95):.1f}, "
                  f"max {max(latencies):.1f}")
            print("updates  spacing  duration  edits (production pacing: 1.5 s apart, ≤ 4 per 5 s)")
            for updates, spacing in ((1, 0.0), (10, 0.05), (40, 0.05), (120, 0.05), (300, 0.05)):
                thread = fake.add_thread(channel, f"bench {updates}")
                edits, elapsed = await edits_for(bot.port, fake, guild, thread, updates, spacing)
                print(f"{updates:7d}  {spacing:6.2f}s  {elapsed:7.1f}s  {edits:5d}")
        finally:
            await bot.close()
            await app.stop()
            await fake.close()
            urls.apply(None, None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactions", type=int, default=50)
    args = parser.parse_args(sys.argv[1:])
    asyncio.run(main(args.interactions))

"""Slack ack latency under a burst, and Web API calls per turn (run by hand).

    python benchmarks/bench_slack_ack.py [--burst 200]

Sends a burst of signed app_mention events over loopback HTTP to (a) a bare Bolt
app whose listener does nothing, and (b) Director Bot's Slack adapter (dedupe,
persist, hand to the runner), both served the same way against the fake Slack
Web API. Prints p50/p99 ack latency of each and their ratio (target <= 1.3), then
how many Slack API calls one turn cost once every turn has finished.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.slack import SlackOptions, create_slack_runtime  # noqa: E402
from adapters.slack.delivery import DeliveryOptions  # noqa: E402
from adapters.slack.server import HttpServer, create_web_app  # noqa: E402
from bot.platforms import slack_config  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body, mention, sign  # noqa: E402


CONNECTIONS = 32  # like Slack's delivery: many requests, a bounded number of connections


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def burst(url: str, bodies: list[bytes]) -> list[float]:
    """POST every body at once (over CONNECTIONS keep-alive connections); each
    request's time from being sent to its HTTP answer, in ms."""
    gc.collect()  # same footing for both apps: no garbage left from the previous phase
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    slots = asyncio.Semaphore(CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(body: bytes) -> float:
            headers = {"Content-Type": "application/json", **sign(body)}
            async with slots:
                started = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
            return (time.perf_counter() - started) * 1000

        return list(await asyncio.gather(*(one(body) for body in bodies)))


def bodies(count: int, channel: str) -> list[bytes]:
    return [json.dumps(event_body(mention(channel, "help"))).encode() for _ in range(count)]


async def warm(url: str, channel: str) -> None:
    await burst(url, bodies(3, channel))


async def bare_bolt(fake: FakeSlack, count: int) -> list[float]:
    bolt = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url), signing_secret=SIGNING_SECRET)

    @bolt.event("app_mention")
    async def nothing(body: dict[str, Any]) -> None:
        return None

    server = HttpServer(create_web_app(bolt))
    port = await server.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await warm(url, "CWARM")
        return await burst(url, bodies(count, "CBARE"))
    finally:
        await server.stop()


async def director(fake: FakeSlack, count: int, data_dir: Path) -> tuple[list[float], Counter[str], int]:
    settings = Settings(_env_file=None, DIRECTOR_DATA_DIR=data_dir, MEDIA_PORT=0, LOG_LEVEL="WARNING",  # type: ignore[call-arg]
                        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
                        MAX_CONCURRENT_TURNS=8)
    app = await build_app(settings)
    runtime = create_slack_runtime(app, slack_config(settings), SlackOptions(delivery=DeliveryOptions(
        min_interval=2.0, edits_per_window=10_000)))
    server = HttpServer(runtime.aiohttp_app())
    port = await server.start("127.0.0.1", 0)
    await app.start(serve_media=False)
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await warm(url, "CWARM")
        await fake.wait_until(lambda: sum("Done" in m.text for m in fake.bot_messages("CWARM")) == 3, 120)
        before = len(fake.requests)
        latencies = await burst(url, bodies(count, "CDIR"))
        await fake.wait_until(lambda: sum("Done" in m.text for m in fake.bot_messages("CDIR")) == count, 600)
        await runtime.port.aclose(grace=10)
        calls = Counter(r.method for r in fake.requests[before:])
        return latencies, calls, count
    finally:
        await server.stop()
        await app.stop()
        await runtime.close()


async def main(count: int) -> None:
    fake = await FakeSlack().start()
    try:
        bare = await bare_bolt(fake, count)
        with tempfile.TemporaryDirectory() as tmp:
            ours, calls, turns = await director(fake, count, Path(tmp))
    finally:
        await fake.close()
    for name, values in (("bare Bolt", bare), ("Director Bot", ours)):
        print(f"{name:>13}: ack p50 {percentile(values, 0.5):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms   "
              f"mean {statistics.fmean(values):7.1f} ms   ({len(values)} events in a burst)")
    print(f"        ratio: p50 {percentile(ours, 0.5) / percentile(bare, 0.5):.2f}   "
          f"p99 {percentile(ours, 0.99) / percentile(bare, 0.99):.2f}   (target <= 1.3)")
    per_turn = {method: n / turns for method, n in sorted(calls.items())}
    print(f"API calls per turn: {sum(calls.values()) / turns:.2f} total; "
          + ", ".join(f"{m} {v:.2f}" for m, v in per_turn.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=200)
    asyncio.run(main(parser.parse_args().burst))

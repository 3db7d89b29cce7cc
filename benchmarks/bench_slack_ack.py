"""Slack ack latency under a burst, and Web API calls per turn (run by hand).

    python benchmarks/bench_slack_ack.py [--burst 200] [--postgres URL]

Sends a burst of signed app_mention events over loopback HTTP to (a) a bare Bolt
app whose listener does nothing, and (b) Director Bot's HTTP mode, which answers
200 only once each request is stored (checked, stored with group commit, handled
after the answer), on SQLite and, given a URL (or TEST_DATABASE_URL), on
PostgreSQL. Prints p50/p99 ack latency of each and the ratio to the bare app
(target p99 <= 1.3x), then how many Slack API calls one turn cost (SQLite, once
every turn has finished).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import uuid
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
from aiohttp import web  # noqa: E402
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request  # noqa: E402

from adapters.slack.server import HttpServer  # noqa: E402
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

    async def dispatch(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    bare = web.Application()
    bare.router.add_post("/slack/events", dispatch)
    server = HttpServer(bare)
    port = await server.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await warm(url, "CWARM")
        return await burst(url, bodies(count, "CBARE"))
    finally:
        await server.stop()


async def director(fake: FakeSlack, count: int, data_dir: Path, database_url: str | None = None,
                   ) -> tuple[list[float], Counter[str] | None, int]:
    values: dict[str, Any] = {"DIRECTOR_DATA_DIR": data_dir, "MEDIA_PORT": 0, "LOG_LEVEL": "WARNING",
                              "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                              "SLACK_API_URL": fake.api_url, "SLACK_STREAMING": "false", "MAX_CONCURRENT_TURNS": 8}
    if database_url:
        values["DATABASE_URL"] = database_url
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    app = await build_app(settings, role="web")
    runtime = create_slack_runtime(app, slack_config(settings), SlackOptions(delivery=DeliveryOptions(
        min_interval=2.0, edits_per_window=10_000)))
    server = HttpServer(runtime.aiohttp_app())
    port = await server.start("127.0.0.1", 0)
    await app.start(serve_media=False)
    url = f"http://127.0.0.1:{port}/slack/events"
    channel = f"C{uuid.uuid4().hex[:6]}"
    try:
        await warm(url, "CWARM")
        await app.intake.drained()
        before = len(fake.requests)
        latencies = await burst(url, bodies(count, channel))
        if database_url:  # turns wait for workers there: measure the acks and the intake only
            await app.intake.drained()
            return latencies, None, count
        await fake.wait_until(lambda: sum("Done" in m.text for m in fake.bot_messages(channel)) == count, 600)
        await runtime.port.aclose(grace=10)
        calls = Counter(r.method for r in fake.requests[before:])
        return latencies, calls, count
    finally:
        await server.stop()
        await app.stop()
        await runtime.close()


def line(name: str, values: list[float], bare: list[float] | None = None) -> str:
    text = (f"{name:>24}: ack p50 {percentile(values, 0.5):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms   "
            f"mean {statistics.fmean(values):7.1f} ms")
    if bare is not None:
        text += (f"   ratio p50 {percentile(values, 0.5) / percentile(bare, 0.5):.2f}"
                 f" p99 {percentile(values, 0.99) / percentile(bare, 0.99):.2f}")
    return text


async def postgres_schema_url(url: str) -> tuple[str, str]:
    """A fresh schema on `url` for this run, as a URL that selects it."""
    import psycopg
    from urllib.parse import quote

    from core.storage.database import libpq_url

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as connection:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}", schema


async def drop_schema(url: str, schema: str) -> None:
    import psycopg

    from core.storage.database import libpq_url

    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as connection:
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def main(count: int, postgres: str | None) -> None:
    fake = await FakeSlack().start()
    try:
        bare = await bare_bolt(fake, count)
        with tempfile.TemporaryDirectory() as tmp:
            ours, calls, turns = await director(fake, count, Path(tmp) / "sqlite")
            pg: list[float] | None = None
            if postgres:
                url, schema = await postgres_schema_url(postgres)
                try:
                    pg, _, _ = await director(fake, count, Path(tmp) / "pg", url)
                finally:
                    await drop_schema(postgres, schema)
    finally:
        await fake.close()
    print(f"{count} signed mentions in one burst over {CONNECTIONS} connections; target: p99 <= 1.3x the bare app")
    print(line("bare Bolt (only acks)", bare))
    print(line("Director Bot, SQLite", ours, bare))
    if pg is not None:
        print(line("Director Bot, PostgreSQL", pg, bare))
    assert calls is not None
    per_turn = {method: n / turns for method, n in sorted(calls.items())}
    print(f"API calls per turn: {sum(calls.values()) / turns:.2f} total; "
          + ", ".join(f"{m} {v:.2f}" for m, v in per_turn.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL URL (a schema is created and dropped); default TEST_DATABASE_URL")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.burst, arguments.postgres))

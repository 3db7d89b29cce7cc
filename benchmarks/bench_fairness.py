"""One workspace never starves another (run by hand).

    python benchmarks/bench_fairness.py [--busy 1000] [--edits-per-minute 40]

Workspace A sends `--busy` `help` mentions in one burst to Director Bot's HTTP mode
(SQLite, in-process runner, the fake Slack Web API); its final answers then trickle at
its edit budget. Meanwhile workspace B sends one `help`. Prints how long B waited for
its final answer (goal: <= 5 s) and how many of A's answers had landed by then; then,
with `--wait-all`, waits until every one of A's answers has landed (none lost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.slack import SlackOptions, create_slack_runtime  # noqa: E402
from adapters.slack.delivery import DeliveryOptions  # noqa: E402
from adapters.slack.server import HttpServer  # noqa: E402
from bot.platforms import slack_config  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body, mention, sign  # noqa: E402


async def post(http: aiohttp.ClientSession, url: str, event: dict[str, str], team: str) -> None:
    body = json.dumps(event_body(event, team=team)).encode()
    async with http.post(url, data=body, headers={"Content-Type": "application/json", **sign(body)}) as response:
        assert response.status == 200


async def main(busy: int, edits_per_minute: int, wait_all: bool) -> None:
    fake = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, DIRECTOR_DATA_DIR=Path(tmp), MEDIA_PORT=0, LOG_LEVEL="WARNING",  # type: ignore[call-arg]
                            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url, SLACK_STREAMING="false")
        app = await build_app(settings, role="web")
        runtime = create_slack_runtime(app, slack_config(settings), SlackOptions(react=False, delivery=DeliveryOptions(
            edits_per_window=edits_per_minute, window_seconds=60.0)))
        server = HttpServer(runtime.aiohttp_app())
        url = f"http://127.0.0.1:{await server.start('127.0.0.1', 0)}/slack/events"
        await app.start(serve_media=False)

        def done(channel: str) -> int:
            return sum("Done" in message.text for message in fake.bot_messages(channel))

        try:
            connector = aiohttp.TCPConnector(limit=32)
            async with aiohttp.ClientSession(connector=connector) as http:
                started = time.perf_counter()
                await asyncio.gather(*(post(http, url, mention("CA", "help", team="TA"), "TA") for _ in range(busy)))
                acked = time.perf_counter() - started
                asked = time.perf_counter()
                await post(http, url, mention("CB", "help", team="TB"), "TB")
                await fake.wait_until(lambda: done("CB") == 1, timeout=300)
                waited = time.perf_counter() - asked
                landed = done("CA")
                print(f"workspace A: {busy} mentions acknowledged in {acked:.1f} s; edit budget {edits_per_minute}/min")
                print(f"workspace B: its help answered after {waited:.2f} s (goal <= 5 s), while {landed} of A's "
                      f"{busy} answers had landed")
                if wait_all:
                    await fake.wait_until(lambda: done("CA") == busy, timeout=24 * 3600)
                    print(f"workspace A: all {busy} answers landed after {time.perf_counter() - started:.0f} s")
        finally:
            await server.stop()
            await app.stop()
            await runtime.close(grace=1.0)
            await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=1000)
    parser.add_argument("--edits-per-minute", type=int, default=40)
    parser.add_argument("--wait-all", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.busy, arguments.edits_per_minute, arguments.wait_all))

"""Turns per second with 1, 2 and 4 workers (run by hand; needs PostgreSQL).

    python benchmarks/bench_workers.py [--turns 120] [--latency 0.2] [--concurrency 4] [--postgres URL]

A deployment as real processes: one `director-bot slack --http` and N `director-bot
worker --concurrency 4` on a fresh PostgreSQL schema. The model (the fake OpenAI
server) and Slack's Web API (the fake) each answer after `--latency` seconds, as real
ones do. `--turns` mentions, each in its own channel and spread over `--workspaces`
workspaces (default: one each), are sent at once; the figure is turns answered per
second until the last final answer landed. Goal: >= 3.5x from 1 to 4 workers.

Few workspaces measure Slack's budget, not the workers: the bot keeps to about 40
message edits a minute per workspace (chat.update is Tier 3), so 400 turns in 20
workspaces take at least 30 s whatever the number of workers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.openai_server import RecordedRequest, Reply, reply_text, running_openai_server  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body, mention, sign  # noqa: E402
from tests.helpers.processes import BotProcess, child_env  # noqa: E402


async def schema(url: str, create: bool, name: str) -> None:
    import psycopg

    from core.storage.database import libpq_url

    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as connection:
        await connection.execute(f'CREATE SCHEMA "{name}"' if create else f'DROP SCHEMA "{name}" CASCADE')


def process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the running processes `pids` used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


async def run(workers: int, turns: int, latency: float, postgres: str, concurrency: int, workspaces: int) -> float:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    await schema(postgres, True, name)
    fake = await FakeSlack().start()
    fake.latency = latency

    async def model(request: RecordedRequest) -> Reply:
        await asyncio.sleep(latency)
        return reply_text("Here is what I found.")

    processes: list[BotProcess] = []
    try:
        async with running_openai_server() as llm, aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=32)) as http:
            llm.handler = model
            with tempfile.TemporaryDirectory() as tmp:
                env = child_env(Path(tmp) / "data", DATABASE_URL=f"{postgres}?options={quote(f'-csearch_path={name}')}",
                                SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                                SLACK_API_URL=fake.api_url, SLACK_STREAMING="false", PORT="0", OPENAI_API_KEY="sk-bench-key",
                                OPENAI_BASE_URL=llm.base_url, LOG_LEVEL="WARNING", MAX_TURNS_PER_WORKSPACE="8")
                env["LOG_LEVEL"] = "INFO"  # the lines the harness waits for
                web = await BotProcess.start(["slack", "--http"], env, cwd=Path(tmp))
                processes.append(web)
                url = f"http://127.0.0.1:{await web.port()}/slack/events"
                for _ in range(workers):
                    worker = await BotProcess.start(["worker", "--concurrency", str(concurrency)], env, cwd=Path(tmp))
                    processes.append(worker)
                await asyncio.gather(*(p.wait_for_line("worker running") for p in processes[1:]))
                events = [(mention(f"C{i}", "hello there", team=f"T{i % workspaces}"), f"T{i % workspaces}") for i in range(turns)]
                pids = [process.process.pid for process in processes]
                cpu_before = process_cpu(pids)
                started = time.perf_counter()

                async def send(event: dict[str, str], team: str) -> None:
                    body = json.dumps(event_body(event, team=team)).encode()
                    async with http.post(url, data=body, headers={"Content-Type": "application/json",
                                                                   **sign(body)}) as response:
                        assert response.status == 200

                await asyncio.gather(*(send(event, team) for event, team in events))
                acked = time.perf_counter() - started
                await fake.wait_until(lambda: fake.calls("chat.postMessage") >= turns, timeout=1800)
                shown = time.perf_counter() - started
                await fake.wait_until(lambda: sum("Done" in m.text for m in fake.bot_messages()) == turns,
                                      timeout=1800)
                elapsed = time.perf_counter() - started
                busy = process_cpu(pids) - cpu_before
                print(f"  {workers} worker(s): acked after {acked:.1f} s, all queued cards after {shown:.1f} s, "
                      f"all answered after {elapsed:.1f} s; the bot's processes used {busy:.1f} CPU s "
                      f"({1000 * busy / turns:.0f} ms a turn, {busy / elapsed:.2f} cores)", flush=True)
                return turns / elapsed
    finally:
        for process in processes:
            await process.terminate()
        await fake.close()
        await schema(postgres, False, name)


async def main(turns: int, latency: float, postgres: str, concurrency: int, counts: list[int],
               workspaces: int) -> None:
    results = {}
    for workers in counts:
        results[workers] = await run(workers, turns, latency, postgres, concurrency, workspaces)
        print(f"{workers} worker(s): {results[workers]:6.1f} turns/s", flush=True)
    if 1 in results and 4 in results:
        print(f"speed-up 1 -> 4 workers: {results[4] / results[1]:.2f}x (goal >= 3.5x); {turns} turns, model "
              f"and Slack API latency {latency * 1000:.0f} ms, {concurrency} turn(s) per worker at once, "
              f"{workspaces} workspace(s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=120)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=4, help="turns each worker runs at once")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure, e.g. 1,4")
    parser.add_argument("--workspaces", type=int, default=0, help="workspaces the turns come from (0: one each)")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"))
    arguments = parser.parse_args()
    if not arguments.postgres:
        sys.exit("needs --postgres URL (or TEST_DATABASE_URL)")
    asyncio.run(main(arguments.turns, arguments.latency, arguments.postgres, arguments.concurrency,
                     [int(n) for n in arguments.workers.split(",")], arguments.workspaces or arguments.turns))

"""A deployment as real processes on one PostgreSQL database: two Slack web processes
(behind an imaginary load balancer, so events are spread over both) and two workers.

Each process is `director-bot …` in its own interpreter, as the Procfile starts it; the
test plays Slack (the fake Web API and signed requests) and the model (the fake OpenAI
server, whose answers to "slow …" requests wait for the test). Heartbeats are fast
(HEARTBEAT_S=1, PROCESS_STALE_S=5) so a dead worker is noticed in seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply, reply_text, running_openai_server
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeMessage, FakeSlack, block_action, mention, sign
from tests.helpers.processes import BotProcess, child_env
from tests.scenarios.slack.conftest import send_event

pytestmark = pytest.mark.postgres

CHANNEL = "C1"


@dataclass
class SlowModel:
    """Answers at once, except to requests containing "slow <name>": those wait for `release(name)`."""

    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    started: dict[str, asyncio.Event] = field(default_factory=dict)

    def gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    def has_started(self, name: str) -> asyncio.Event:
        return self.started.setdefault(name, asyncio.Event())

    async def handler(self, request: RecordedRequest) -> Reply:
        text = json.dumps(request.body.get("messages", [])[-1:])
        for word in text.split():
            if word.startswith("slow-"):
                name = word.strip('",.}]')
                self.has_started(name).set()
                await self.gate(name).wait()
                return reply_text(f"finished {name}")
        return reply_text("Hello from the model.")

    def release_all(self) -> None:
        for gate in self.gates.values():
            gate.set()


@dataclass
class Deployment:
    fake: FakeSlack
    http: aiohttp.ClientSession
    env: dict[str, str]
    cwd: Path
    webs: list[BotProcess] = field(default_factory=list)
    web_urls: list[str] = field(default_factory=list)
    workers: list[BotProcess] = field(default_factory=list)

    async def start_web(self, index: int | None = None) -> None:
        web = await BotProcess.start(["slack", "--http"], self.env, cwd=self.cwd)
        url = f"http://127.0.0.1:{await web.port()}"
        if index is None:
            self.webs.append(web)
            self.web_urls.append(url)
        else:
            self.webs[index], self.web_urls[index] = web, url

    async def start_worker(self) -> BotProcess:
        worker = await BotProcess.start(["worker", "--concurrency", "2"], self.env, cwd=self.cwd)
        await worker.wait_for_line("worker running")
        self.workers.append(worker)
        return worker

    async def send(self, web: int, text: str) -> dict[str, str]:
        event = mention(CHANNEL, text)
        assert await send_event(self.http, self.web_urls[web], event) == 200
        return event

    async def press(self, web: int, action_id: str, card: FakeMessage) -> int:
        value = card.button(action_id)["value"]  # type: ignore[index]
        payload = block_action(action_id, value, channel=card.channel, message_ts_=card.ts)
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        async with self.http.post(self.web_urls[web] + "/slack/interactivity", data=body, headers=headers) as response:
            return response.status

    def cards(self, event: dict[str, str]) -> list[FakeMessage]:
        return [m for m in self.fake.thread(CHANNEL, event["ts"]) if not m.files]

    async def card_saying(self, event: dict[str, str], words: str, timeout: float = 60) -> FakeMessage:
        cards = await self.fake.wait_until(
            lambda: [c for c in self.cards(event) if words in c.text], timeout=timeout)
        assert len(self.cards(event)) == 1, [c.text for c in self.cards(event)]
        return cards[0]

    def turn_id(self, event: dict[str, str]) -> str:
        [card] = self.cards(event)
        return str((card.metadata or {})["event_payload"]["turn_id"])

    async def worker_running(self, turn_id: str) -> BotProcess:
        """The worker whose log says it started this turn's job."""
        waits = {asyncio.ensure_future(worker.wait_for_line(f"Starting job.*{turn_id}", timeout=30)): worker
                 for worker in self.workers}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        finished = done.pop()
        finished.result()
        return waits[finished]

    async def close(self) -> None:
        for process in [*self.webs, *self.workers]:
            await process.kill()


@pytest.fixture
async def deployment(request: pytest.FixtureRequest, pg_url: str, fake_slack: FakeSlack,
                     tmp_path: Path) -> AsyncIterator[tuple[Deployment, SlowModel]]:
    """Two web processes and two workers; `SLACK_STREAMING` from an indirect parameter (default: the card)."""
    model = SlowModel()
    server: FakeOpenAIServer
    async with running_openai_server() as server, aiohttp.ClientSession() as http:
        server.handler = model.handler
        env = child_env(tmp_path / "data", DATABASE_URL=pg_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                        SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack.api_url, PORT="0",
                        MEDIA_HOST="127.0.0.1", OPENAI_API_KEY="sk-test-key", OPENAI_BASE_URL=server.base_url,
                        LLM_TIMEOUT_S="300", HEARTBEAT_S="1", PROCESS_STALE_S="5", SHUTDOWN_GRACE_S="5",
                        SLACK_STREAMING=getattr(request, "param", "false"))
        deployed = Deployment(fake_slack, http, env, tmp_path)
        try:
            await asyncio.gather(deployed.start_web(), deployed.start_web())
            await asyncio.gather(deployed.start_worker(), deployed.start_worker())
            yield deployed, model
        finally:
            model.release_all()
            await deployed.close()


async def test_web_processes_and_workers_on_one_database(deployment: tuple[Deployment, SlowModel]) -> None:
    deployed, model = deployment

    # Events spread over both web processes: each is answered once, by a worker.
    events = [await deployed.send(index % 2, f"hello {index}") for index in range(6)]
    for event in events:
        card = await deployed.card_saying(event, "Done")
        assert "Hello from the model." in card.all_text()

    # A worker killed mid-turn: its turn ends interrupted, with Retry, on the same card.
    doomed = await deployed.send(0, "please do slow-one")
    await asyncio.wait_for(model.has_started("slow-one").wait(), 30)
    await deployed.fake.wait_until(lambda: deployed.cards(doomed))
    killed = await deployed.worker_running(deployed.turn_id(doomed))
    await killed.kill()
    card = await deployed.card_saying(doomed, "Interrupted", timeout=60)
    assert card.button("director_retry") is not None

    # Cancel pressed on the web process that did not accept the turn stops it on its worker.
    cancelled = await deployed.send(0, "please do slow-two")
    await asyncio.wait_for(model.has_started("slow-two").wait(), 30)
    card = await deployed.fake.wait_until(
        lambda: [c for c in deployed.cards(cancelled) if c.button("director_cancel")])
    assert await deployed.press(1, "director_cancel", card[0]) == 200
    card = await deployed.card_saying(cancelled, "Cancelled")
    assert card.button("director_retry") is not None

    # Restarting a web process (a deploy) interrupts nothing: the running turn ends well.
    survivor = await deployed.send(1, "please do slow-three")
    await asyncio.wait_for(model.has_started("slow-three").wait(), 30)
    assert await deployed.webs[0].terminate() == 0
    await deployed.start_web(0)
    await deployed.send(0, "hello again")  # the new web process takes events
    model.gate("slow-three").set()
    card = await deployed.card_saying(survivor, "Done")
    assert "finished slow-three" in card.all_text()
    assert "Interrupted" not in card.text


@pytest.mark.parametrize("deployment", ["true"], indirect=True)
async def test_a_reply_streamed_by_the_web_process_is_finished_by_a_worker(
        deployment: tuple[Deployment, SlowModel]) -> None:
    deployed, _ = deployment
    events = [await deployed.send(index % 2, f"hello {index}") for index in range(2)]
    for event in events:
        [reply] = await deployed.fake.wait_until(
            lambda event=event: [m for m in deployed.cards(event) if not m.streaming and m.blocks
                                 and "Hello from the model." in m.text], timeout=60)
        assert len(deployed.cards(event)) == 1 and reply.chunks
    assert deployed.fake.calls("chat.postMessage") == 0
    assert deployed.fake.calls("chat.startStream") == 2  # started once (by a web process), resumed by a worker

"""The task-queue runner on a real PostgreSQL (procrastinate): an adapter process
("web") accepts and defers turns, worker processes run them. Here both are Apps in
the test's interpreter on one database schema; tests/scenarios/test_deployment.py runs
them as real processes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.incoming import Incoming, ThreadKey
from core.llm.scripted import ScriptedLLM
from core.messages import MsgStatus
from core.turns import TurnStatus
from tests.conftest import AppFactory
from tests.core.runner.test_runner import GatedLLM
from tests.helpers.ports import RecordingPort

pytestmark = pytest.mark.postgres


def incoming(text: str, thread: str = "t1", workspace: str = "w", key: str | None = None) -> Incoming:
    return Incoming(thread=ThreadKey(platform="test", workspace_id=workspace, channel_id="c1", thread_id=thread),
                    user_id="u", text=text, event_keys=[key or f"k:{workspace}:{thread}:{text}"])


@pytest.fixture
async def deployment(make_app: AppFactory, pg_url: str, tmp_path: Path) -> Any:
    """`web, port = await deployment.web()`, `worker = await deployment.worker(llm, concurrency)`."""

    class Deployment:
        async def web(self, **overrides: Any) -> tuple[Any, RecordingPort]:
            port = RecordingPort()
            app = await make_app(ports=[port], role="web", data_dir=tmp_path / "data", DATABASE_URL=pg_url,
                                 **overrides)
            return app, port

        async def worker(self, llm: Any = None, concurrency: int = 2, **overrides: Any) -> tuple[Any, RecordingPort]:
            port = RecordingPort()
            app = await make_app(llm=llm, ports=[port], role="worker", data_dir=tmp_path / "data",
                                 DATABASE_URL=pg_url, MAX_CONCURRENT_TURNS=concurrency, **overrides)
            return app, port

    return Deployment()


async def test_a_turn_accepted_by_the_web_process_runs_on_a_worker(deployment: Any) -> None:
    web, web_port = await deployment.web()
    worker, worker_port = await deployment.worker()
    accepted = await web.conversations.accept(incoming("help"))
    assert await asyncio.wait_for(web.conversations.wait(accepted.turn.turn_id), 30) is TurnStatus.succeeded
    turn_id = accepted.turn.turn_id
    assert web_port.observers[turn_id].statuses[0] is MsgStatus.queued  # shown at once by the web process
    assert worker_port.published[turn_id].status is MsgStatus.success  # answered by the worker
    assert turn_id not in web_port.published
    assert (await web.health())["workers"] == 1


async def test_turns_of_a_thread_run_one_at_a_time_in_order_across_workers(deployment: Any) -> None:
    gated = GatedLLM()
    web, _ = await deployment.web()
    await deployment.worker(ScriptedLLM(gated.script))
    await deployment.worker(ScriptedLLM(gated.script))
    turns = [await web.conversations.accept(incoming(text)) for text in ("one", "two", "three")]
    await gated.wait_started(1)
    for text in ("three", "two", "one"):
        gated.gate(text).set()
    for accepted in turns:
        assert await asyncio.wait_for(web.conversations.wait(accepted.turn.turn_id), 30) is TurnStatus.succeeded
    assert gated.started == ["one", "two", "three"]


async def test_cancel_from_the_web_process_stops_a_turn_running_on_a_worker(deployment: Any) -> None:
    gated = GatedLLM()
    web, _ = await deployment.web()
    _, worker_port = await deployment.worker(ScriptedLLM(gated.script))
    running = await web.conversations.accept(incoming("long job"))
    waiting = await web.conversations.accept(incoming("next job"))
    await gated.wait_started(1)
    assert await web.conversations.cancel(waiting.turn.turn_id)  # still in the queue: it never runs
    assert await asyncio.wait_for(web.conversations.wait(waiting.turn.turn_id), 30) is TurnStatus.cancelled
    assert await web.conversations.cancel(running.turn.turn_id)  # running on the worker: aborted there
    assert await asyncio.wait_for(web.conversations.wait(running.turn.turn_id), 30) is TurnStatus.cancelled
    assert worker_port.published[running.turn.turn_id].status is MsgStatus.cancelled
    assert gated.started == ["long job"]


async def test_a_quiet_workspace_goes_before_a_busy_one(deployment: Any) -> None:
    order: list[str] = []
    web, _ = await deployment.web()
    busy = [await web.conversations.accept(incoming(f"a{i}", thread=f"t{i}", workspace="A")) for i in range(12)]
    quiet = await web.conversations.accept(incoming("b", thread="tb", workspace="B"))

    def script(messages: Any, tools: Any) -> Any:
        from core.llm.base import LLMResponse

        order.append(messages[-1].content)
        return LLMResponse(content="ok")

    await deployment.worker(ScriptedLLM(script), concurrency=1)
    for accepted in [*busy, quiet]:
        await asyncio.wait_for(web.conversations.wait(accepted.turn.turn_id), 60)
    assert order.index("b") <= 1, order


async def test_one_workspace_runs_at_most_its_share_across_workers(deployment: Any) -> None:
    gated = GatedLLM()
    web, _ = await deployment.web()
    await deployment.worker(ScriptedLLM(gated.script), concurrency=2, MAX_TURNS_PER_WORKSPACE=1)
    await deployment.worker(ScriptedLLM(gated.script), concurrency=2, MAX_TURNS_PER_WORKSPACE=1)
    busy = [await web.conversations.accept(incoming(f"a{i}", thread=f"t{i}", workspace="A")) for i in range(3)]
    other = await web.conversations.accept(incoming("b", thread="tb", workspace="B"))
    await gated.wait_started(2)
    assert sorted(gated.started) == ["a0", "b"]
    for text in ("a0", "a1", "a2", "b"):
        gated.gate(text).set()
    for accepted in [*busy, other]:
        assert await asyncio.wait_for(web.conversations.wait(accepted.turn.turn_id), 30) is TurnStatus.succeeded


async def test_a_stored_turn_whose_job_was_never_deferred_still_runs(deployment: Any) -> None:
    web, _ = await deployment.web()
    _, worker_port = await deployment.worker()
    # The accepting process died between storing the turn and deferring its job.
    thread = ThreadKey(platform="test", workspace_id="w", channel_id="c1", thread_id="t-lost")

    async def create() -> str:
        return (await web.backend.create_collection("test #c1")).id

    from core.messages import InputMessage

    channel = await web.store.channels.get_or_bind(thread.channel, "local", "test #c1", create)
    session = await web.store.sessions.get_or_create(thread, channel.id, "u")
    turn = await web.store.turns.create(session.id, InputMessage(text="help", user_id="u"), owner="dead-process")
    assert await web.runner.adopt() == 1
    assert await asyncio.wait_for(web.conversations.wait(turn.id), 30) is TurnStatus.succeeded
    assert worker_port.published[turn.id].status is MsgStatus.success
    assert await web.runner.adopt() == 0  # never deferred twice

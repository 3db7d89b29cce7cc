"""A bot process killed with kill -9 loses nothing it acknowledged.

The first process is `director-bot slack --http` as a real child process on SQLite;
it is killed with SIGKILL, so none of its clean-up runs. The next process on the same
database (here the test's own) finds what it left: a turn that was running ends as
interrupted with Retry on its card; requests it had acknowledged but not yet turned
into turns, and turns it had not yet run, are answered.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.fakes.openai_server import reply_hang, running_openai_server
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Scripted, mention
from tests.helpers.processes import BotProcess, child_env
from tests.scenarios.slack.conftest import BotFactory, send_event

CHANNEL = "C1"


def web_env(data_dir: Path, fake: FakeSlack, **extra: str) -> dict[str, str]:
    values = {"SLACK_STREAMING": "false", **extra}  # the edited card unless a test streams
    return child_env(data_dir, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=fake.api_url, PORT="0", MEDIA_HOST="127.0.0.1", **values)


async def test_a_turn_running_when_the_process_is_killed_ends_interrupted(
        slack_bot: BotFactory, fake_slack: FakeSlack, tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    async with running_openai_server() as llm, aiohttp.ClientSession() as http:
        llm.handler = lambda request: reply_hang()  # the model never answers: the turn stays running
        first = await BotProcess.start(["slack", "--http"], web_env(
            data_dir, fake_slack, OPENAI_API_KEY="sk-test-key", OPENAI_BASE_URL=llm.base_url), cwd=tmp_path)
        try:
            url = f"http://127.0.0.1:{await first.port()}"
            event = mention(CHANNEL, "summarize the keynote")
            assert await send_event(http, url, event) == 200
            await llm.wait_for_requests(1)
            await fake_slack.wait_until(lambda: [m for m in fake_slack.thread(CHANNEL, event["ts"])
                                                 if m.edits >= 1 and "Working" in m.text], timeout=30)
        finally:
            await first.kill()

    second = await slack_bot(data_dir=data_dir)
    card = await second.final_card(CHANNEL, event["ts"])
    assert "Interrupted" in card.text
    assert card.button("director_retry") is not None
    assert len(second.cards(CHANNEL, event["ts"])) == 1


async def test_every_acknowledged_mention_is_answered_after_kill_9(
        slack_bot: BotFactory, fake_slack: FakeSlack, tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    events = [mention(f"C{index % 3}", "help") for index in range(30)]
    # The first process's first Web API call (Bolt's auth.test) stalls, so it acknowledges
    # all 30 and is killed before it handled any: only what it stored is left.
    fake_slack.script("auth.test", Scripted(hang=True))
    async with aiohttp.ClientSession() as http:
        first = await BotProcess.start(["slack", "--http"], web_env(data_dir, fake_slack), cwd=tmp_path)
        try:
            url = f"http://127.0.0.1:{await first.port()}"
            statuses = await asyncio.gather(*(send_event(http, url, event) for event in events))
        finally:
            await first.kill()  # at once: most of the 30 were acknowledged but not yet handled
    assert statuses == [200] * 30
    assert fake_slack.calls("chat.postMessage") == 0

    second = await slack_bot(data_dir=data_dir)
    for event in events:
        cards = await fake_slack.wait_until(
            lambda event=event: [m for m in second.cards(event["channel"], event["ts"]) if "Done" in m.text],
            timeout=60)
        assert len(cards) == 1
    assert len(second.turn_ids()) >= 30


async def test_a_streamed_reply_cut_by_kill_9_ends_interrupted_in_place(
        slack_bot: BotFactory, fake_slack: FakeSlack, tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    async with running_openai_server() as llm, aiohttp.ClientSession() as http:
        llm.handler = lambda request: reply_hang()
        first = await BotProcess.start(["slack", "--http"], web_env(
            data_dir, fake_slack, SLACK_STREAMING="true", OPENAI_API_KEY="sk-test-key",
            OPENAI_BASE_URL=llm.base_url), cwd=tmp_path)
        try:
            event = mention(CHANNEL, "summarize the keynote")
            assert await send_event(http, f"http://127.0.0.1:{await first.port()}", event) == 200
            await llm.wait_for_requests(1)
            [reply] = await fake_slack.wait_until(lambda: [m for m in fake_slack.thread(CHANNEL, event["ts"])
                                                           if m.streaming], timeout=30)
        finally:
            await first.kill()

    second = await slack_bot(data_dir=data_dir, SLACK_STREAMING="true")
    await fake_slack.wait_until(lambda: not reply.streaming and reply.button("director_retry"), timeout=30)
    assert "Interrupted" in reply.all_text()
    assert len(second.cards(CHANNEL, event["ts"])) == 1

"""With VIDEO_DB_API_KEY set, the same agents run on VideoDB: the whole App (runner,
engine, agents, the real videodb SDK) against the loopback VideoDB emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from videodb._constants import HttpClientDefaultValues

from core.incoming import Incoming, ThreadKey
from core.llm.offline_router import OfflineRouter
from core.messages import MsgStatus, SearchResultsCard, VideoCard
from core.turns import TurnStatus
from tests.conftest import AppFactory
from tests.fakes.videodb_server import VideoDBEmulator
from tests.helpers.ports import RecordingPort

TRANSCRIPT = [
    (0.0, 4.0, "Welcome to the launch review."),
    (4.0, 9.0, "The rocket launch went perfectly."),
    (9.0, 15.0, "Next quarter we focus on the budget."),
]


@pytest.fixture
def emulator() -> Iterator[VideoDBEmulator]:
    saved = HttpClientDefaultValues.poll_interval
    HttpClientDefaultValues.poll_interval = 0.01
    emu = VideoDBEmulator(api_key="sk-vdb-test")
    emu.start()
    yield emu
    emu.stop()
    HttpClientDefaultValues.poll_interval = saved


def said(text: str, channel: str = "c1") -> Incoming:
    thread = ThreadKey(platform="test", workspace_id="w", channel_id=channel, thread_id="t1")
    return Incoming(thread=thread, user_id="u", text=text, event_keys=[f"{channel}:{text}"], channel_name=channel)


async def run(app, port: RecordingPort, text: str, channel: str = "c1"):  # type: ignore[no-untyped-def]
    accepted = await app.conversations.accept(said(text, channel))
    assert await app.conversations.wait(accepted.turn.turn_id) is TurnStatus.succeeded, \
        port.published[accepted.turn.turn_id].model_dump()
    return port.published[accepted.turn.turn_id]


async def test_upload_search_and_compile_run_on_videodb(make_app: AppFactory, emulator: VideoDBEmulator) -> None:
    port = RecordingPort()
    app = await make_app(llm=OfflineRouter(), ports=[port], VIDEO_DB_API_KEY=emulator.api_key,
                         VIDEO_DB_BASE_URL=emulator.base_url)
    assert app.backend.name == "videodb"

    uploaded = await run(app, port, "upload https://example.com/media/launch-review.mp4")
    (card,) = uploaded.cards_of(VideoCard)
    assert card.video.player_url and card.video.player_url.startswith(emulator.base_url)
    # The channel got its own collection, named after it, on first use.
    assert any(c["name"] == "test #c1" for c in emulator.collections.values())
    emulator.transcripts[card.video.id] = [{"start": s, "end": e, "text": t} for s, e, t in TRANSCRIPT]

    found = await run(app, port, "search rocket launch")
    (results,) = found.cards_of(SearchResultsCard)
    assert results.results[0].shots[0].text == "The rocket launch went perfectly."
    searches = emulator.requests_to("POST", r".*/search(/v2)?")
    assert searches and all(not r.path.endswith("/v2") for r in searches)
    assert all(r.body.get("index_type") == "spoken_word" for r in searches)

    compiled = await run(app, port, "compile hits 1")
    assert compiled.status is MsgStatus.success
    assert compiled.cards_of(VideoCard)[-1].video.player_url


async def test_another_channel_cannot_reach_the_video(make_app: AppFactory, emulator: VideoDBEmulator) -> None:
    port = RecordingPort()
    app = await make_app(llm=OfflineRouter(), ports=[port], VIDEO_DB_API_KEY=emulator.api_key,
                         VIDEO_DB_BASE_URL=emulator.base_url)
    uploaded = await run(app, port, "upload https://example.com/secret-plan.mp4")
    video_id = uploaded.cards_of(VideoCard)[0].video.id

    accepted = await app.conversations.accept(said(f"stream {video_id}", channel="c2"))
    assert await app.conversations.wait(accepted.turn.turn_id) is TurnStatus.failed
    message = port.published[accepted.turn.turn_id]
    assert "can't find" in message.content[-1].status_message
    assert not message.cards_of(VideoCard)


async def test_an_event_that_could_not_be_stored_is_not_refused_when_redelivered(
    make_app: AppFactory, emulator: VideoDBEmulator
) -> None:
    """The channel's collection can't be created (VideoDB down): the delivery fails, and
    the platform's redelivery of the same event is accepted once VideoDB is back."""
    port = RecordingPort()
    app = await make_app(llm=OfflineRouter(), ports=[port], VIDEO_DB_API_KEY=emulator.api_key,
                         VIDEO_DB_BASE_URL=emulator.base_url)
    emulator.fail("POST", r"collection", 400, times=1, message="VideoDB is having a moment")
    with pytest.raises(Exception):
        await app.conversations.accept(said("videos", channel="c9"))
    accepted = await app.conversations.accept(said("videos", channel="c9"))
    assert accepted is not None
    assert await app.conversations.wait(accepted.turn.turn_id) is TurnStatus.succeeded

"""Storage on SQLite and PostgreSQL: migrations, ledger, bindings, sessions, turns, context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.incoming import ChannelKey, ThreadKey
from core.messages import ContextMessage, InputMessage, OutputMessage, TextCard, ToolCall
from core.storage.database import create_engine, migrate
from core.storage.store import Store
from core.turns import TurnStatus

THREAD = ThreadKey(platform="slack", workspace_id="T1", channel_id="C1", thread_id="111.222")


@pytest.fixture
async def store(db_url: tuple[str, str | None]) -> AsyncIterator[Store]:
    url, schema = db_url
    engine = create_engine(url, search_path=schema)
    await migrate(engine)
    await migrate(engine)  # idempotent: start-up runs it every time
    store = Store(engine)
    yield store
    await store.close()


async def _session(store: Store, thread: ThreadKey = THREAD) -> str:
    async def create() -> str:
        return "coll-1"

    channel = await store.channels.get_or_bind(thread.channel, "local", "slack #c1", create)
    session = await store.sessions.get_or_create(thread, channel.id, "U1")
    return session.id


async def test_event_ledger_refuses_any_seen_key(store: Store) -> None:
    assert await store.ledger.claim(["slack:event:Ev1", "slack:msg:T1:C1:1.0"])
    # The app_mention + message pair share the (channel, ts) key.
    assert not await store.ledger.claim(["slack:event:Ev2", "slack:msg:T1:C1:1.0"])
    # Nothing of a refused claim is recorded: Ev2 alone is still new.
    assert await store.ledger.claim(["slack:event:Ev2"])


async def test_event_ledger_is_safe_under_concurrent_claims(store: Store) -> None:
    results = await asyncio.gather(*(store.ledger.claim(["dup-key"]) for _ in range(8)))
    assert results.count(True) == 1


async def test_channel_binding_is_created_once(store: Store) -> None:
    created: list[str] = []

    async def create() -> str:
        created.append("x")
        return f"coll-{len(created)}"

    key = ChannelKey(platform="slack", workspace_id="T1", channel_id="C9")
    first = await store.channels.get_or_bind(key, "local", "slack #c9", create)
    second = await store.channels.get_or_bind(key, "local", "slack #c9", create)
    assert first.collection_id == second.collection_id == "coll-1"
    assert created == ["x"]
    rebound = await store.channels.rebind(key, "local", "coll-other")
    assert rebound.collection_id == "coll-other"
    assert (await store.channels.get(key)).collection_id == "coll-other"  # type: ignore[union-attr]


async def test_session_key_includes_channel_not_thread_alone(store: Store) -> None:
    first = await _session(store)
    same = await _session(store)
    other_channel = await _session(store, THREAD.model_copy(update={"channel_id": "C2"}))
    assert first == same
    assert other_channel != first


async def test_turns_are_numbered_and_keep_input_output_and_ref(store: Store) -> None:
    session_id = await _session(store)
    one = await store.turns.create(session_id, InputMessage(text="hello", user_id="U1"))
    two = await store.turns.create(session_id, InputMessage(text="again", user_id="U1"),
                                   output_ref={"channel": "C1", "ts": "9.9"})
    assert (one.seq, two.seq) == (1, 2)
    assert (await store.turns.load_input(two.id)).text == "again"
    output, ref = await store.turns.load_output(two.id)
    assert ref == {"channel": "C1", "ts": "9.9"} and output.turn_id == two.id

    output.add_card(TextCard(text="done"))
    await store.turns.save_output(output)
    await store.turns.set_output_ref(one.id, {"channel": "C1", "ts": "1.5"})
    reloaded, _ = await store.turns.load_output(two.id)
    assert reloaded.text() == "done"
    assert (await store.turns.find_by_output_ref("ts", "1.5")).id == one.id  # type: ignore[union-attr]

    await store.turns.set_status(one.id, TurnStatus.running)
    await store.turns.set_status(one.id, TurnStatus.failed, "boom")
    row = await store.turns.get(one.id)
    assert row is not None and row.status == "failed" and row.error == "boom"
    assert row.started_at is not None and row.finished_at is not None
    stale = await store.turns.with_status([TurnStatus.queued])
    assert [t.id for t in stale] == [two.id]


async def test_concurrent_turn_creation_gets_distinct_seqs(store: Store) -> None:
    session_id = await _session(store)
    turns = await asyncio.gather(*(store.turns.create(session_id, InputMessage(text=str(i))) for i in range(5)))
    assert sorted(t.seq for t in turns) == [1, 2, 3, 4, 5]


async def test_context_round_trips_in_order(store: Store) -> None:
    session_id = await _session(store)
    call = ToolCall(id="c1", name="search", arguments='{"query": "pricing"}')
    messages = [ContextMessage.user("find pricing"), ContextMessage.assistant(None, [call]),
                ContextMessage.tool(call, '{"status": "success"}'), ContextMessage.assistant("Found 2.")]
    await store.context.append(session_id, "turn-1", messages)
    await store.context.append(session_id, "turn-2", [ContextMessage.user("next")])
    loaded = await store.context.load(session_id)
    assert [m for _, m in loaded] == [*messages, ContextMessage.user("next")]
    assert [t for t, _ in loaded] == ["turn-1"] * 4 + ["turn-2"]
    assert [m for _, m in await store.context.load(session_id, max_rows=2)] == [messages[-1], ContextMessage.user("next")]


async def test_session_memory_persists(store: Store) -> None:
    session_id = await _session(store)
    await store.sessions.save_memory(session_id, {"last_hits": [{"video_id": "v1", "start": 1.0}]})
    row = await store.sessions.get(session_id)
    assert row is not None and row.memory["last_hits"][0]["video_id"] == "v1"


async def test_output_message_round_trips_all_card_types() -> None:
    from core.messages import ImageCard, SearchResultsCard, SearchResultVideo, ShotData, VideoCard, VideoData, VideosCard

    message = OutputMessage(turn_id="t")
    message.add_card(VideoCard(video=VideoData(id="v", player_url="http://x/watch/v")))
    message.add_card(VideosCard(videos=[VideoData(id="v")], total=3))
    message.add_card(ImageCard(url="http://x/i.jpg"))
    message.add_card(SearchResultsCard(query="q", results=[SearchResultVideo(video_id="v", shots=[ShotData(start=1, end=2)])]))
    assert OutputMessage.model_validate(message.model_dump(mode="json")) == message


async def test_many_concurrent_writers_do_not_lock_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A burst of accepts in one process (a Discord benchmark once saw "database is locked")."""
    store = Store(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}"))
    await migrate(store.engine)
    session_id = await _session(store)

    async def accept(number: int) -> None:
        assert await store.ledger.claim([f"burst:{number}"])
        await store.turns.create(session_id, InputMessage(text=str(number)))
        await store.turns.set_status((await store.turns.for_session(session_id))[0].id, TurnStatus.running)

    await asyncio.gather(*(accept(number) for number in range(50)))
    assert len(await store.turns.for_session(session_id)) == 50
    await store.close()


async def test_two_processes_share_one_sqlite_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = Store(create_engine(url)), Store(create_engine(url))
    await migrate(first.engine)
    session_id = await _session(first)
    await asyncio.gather(*(store.turns.create(session_id, InputMessage(text=str(n)))
                           for n in range(4) for store in (first, second)))
    assert [t.seq for t in await second.turns.for_session(session_id)] == list(range(1, 9))
    await first.close()
    await second.close()


async def test_file_sizes_over_2_gib_fit(store: Store) -> None:
    from core.storage.models import LocalCollectionRow, LocalVideoRow

    async with store.sessionmaker.begin() as db:
        db.add(LocalCollectionRow(id="c", name="c"))
    async with store.sessionmaker.begin() as db:
        db.add(LocalVideoRow(id="v", collection_id="c", name="big", file_path="media/v.mp4", duration=1.0,
                             size_bytes=5 * 1024**3))
    async with store.sessionmaker() as db:
        assert (await db.get(LocalVideoRow, "v")).size_bytes == 5 * 1024**3  # type: ignore[union-attr]


async def test_upgrading_a_database_that_has_videos(db_url: tuple[str, str | None]) -> None:
    """Every migration applies to a database in use (rows with foreign keys), not only to an empty one."""
    from alembic import command
    from sqlalchemy import text

    from core.storage.database import alembic_config

    url, schema = db_url
    engine = create_engine(url, search_path=schema)
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0001"))
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO local_collections (id, name, created_at) VALUES ('c', 'c', CURRENT_TIMESTAMP)"))
        await connection.execute(text(
            "INSERT INTO local_videos (id, collection_id, name, file_path, duration, has_audio, size_bytes, source, indexed,"
            " created_at) VALUES ('v', 'c', 'talk', 'media/v.mp4', 1.0, true, 10, '', true, CURRENT_TIMESTAMP)"))
        await connection.execute(text(
            "INSERT INTO local_segments (video_id, idx, start, \"end\", text, words) VALUES ('v', 0, 0, 1, 'hi', '[]')"))
        await connection.execute(text(
            "INSERT INTO channels (id, platform, workspace_id, channel_id, name, backend, collection_id, settings,"
            " created_at) VALUES (1, 'slack', 'T', 'C', 'c', 'local', 'c', '{}', CURRENT_TIMESTAMP)"))
        await connection.execute(text(
            "INSERT INTO sessions (id, platform, workspace_id, channel_id, thread_id, channel_pk, created_by, memory,"
            " created_at, updated_at) VALUES ('s', 'slack', 'T', 'C', '1.0', 1, 'U', '{}', CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP)"))
        await connection.execute(text(
            "INSERT INTO turns (id, session_id, seq, status, user_id, created_at) VALUES ('t', 's', 1, 'succeeded',"
            " 'U', CURRENT_TIMESTAMP)"))
    await migrate(engine)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM local_segments"))).scalar() == 1
        # A turn that ended before the runtime migration counts as delivered (never re-sent).
        assert (await connection.execute(text("SELECT delivered, cancel_requested FROM turns"))).one() == (True, False)
    await engine.dispose()


async def test_pruned_event_keys_can_be_claimed_again(store: Store) -> None:
    from datetime import datetime, timedelta, timezone

    assert await store.ledger.claim(["slack:event:Old"])
    assert await store.ledger.prune(datetime.now(timezone.utc) - timedelta(days=1)) == 0  # too young
    assert not await store.ledger.claim(["slack:event:Old"])
    assert await store.ledger.prune(datetime.now(timezone.utc) + timedelta(seconds=1)) == 1
    assert await store.ledger.claim(["slack:event:Old"])

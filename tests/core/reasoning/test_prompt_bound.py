"""The first-turn prompt does not grow with the collection (20 recent videos + a count)."""

from __future__ import annotations

import uuid
from pathlib import Path

from core.agents.base import AgentContext
from core.incoming import ThreadKey
from core.llm.offline_router import OfflineRouter
from core.messages import InputMessage, OutputMessage
from core.reasoning.engine import ReasoningEngine
from core.session import CollectionScope, Session
from core.storage.database import create_engine, migrate, session_factory
from core.storage.models import LocalVideoRow
from core.video.local.backend import LocalBackend


async def test_first_prompt_is_flat_in_collection_size(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    await migrate(engine)
    sessions = session_factory(engine)
    backend = LocalBackend(sessions, tmp_path, lambda: "http://127.0.0.1:1", max_upload_bytes=1)
    sizes = {}
    for count in (25, 600):
        collection = await backend.create_collection(f"c{count}")
        async with sessions.begin() as db:
            db.add_all(LocalVideoRow(id=uuid.uuid4().hex, collection_id=collection.id, name=f"Talk {i:04d}",
                                     file_path="media/x.mp4", duration=60.0) for i in range(count))
        session = Session(id="s", key=ThreadKey(platform="t", workspace_id="w", channel_id="c", thread_id="t"),
                          collection=CollectionScope(backend, collection.id))
        ctx = AgentContext(session=session, output=OutputMessage(), llm=OfflineRouter())
        messages = await ReasoningEngine(OfflineRouter(), []).first_messages(ctx, InputMessage(text="hi"), [])
        note = messages[1].content or ""
        assert note.count("\n- ") == 20 and f"has {count} video(s)" in note and "find_videos" in note
        sizes[count] = sum(m.approx_tokens() for m in messages)
    assert abs(sizes[600] - sizes[25]) <= 2
    await engine.dispose()

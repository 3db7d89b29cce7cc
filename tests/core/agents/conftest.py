"""Agents run through `safe_call` against the real local backend (ffmpeg, Whisper, SQLite).

Test modules that use the backend mark themselves `pytest.mark.asyncio(loop_scope="session")`
so they share one backend (and one set of indexed talks) per test process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.agents.base import AgentContext
from core.incoming import ThreadKey
from core.llm.base import BaseLLM, LLMResponse
from core.llm.scripted import ScriptedLLM
from core.messages import Attachment, CardStatus, ContextMessage, OutputMessage
from core.session import CollectionScope, Session
from core.storage.database import create_engine, migrate, session_factory
from core.video.local.backend import LocalBackend
from tests.helpers.media import make_talk_video

PUBLIC_URL = "http://127.0.0.1:9"  # links are only read, never fetched

TALK = (
    "Welcome to the quarterly review. "
    "Next we discuss the product roadmap and the new pricing model. "
    "Thank you for listening."
)
OTHER_TALK = "This is the team meeting. The pricing model needs one more change. Goodbye."


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agent-media")


@pytest.fixture(scope="session")
def talk_video(media_dir: Path) -> Path:
    return make_talk_video(media_dir / "quarterly review.mp4", TALK, size="160x120")


@pytest.fixture(scope="session")
def other_talk_video(media_dir: Path) -> Path:
    return make_talk_video(media_dir / "team meeting.mp4", OTHER_TALK, size="160x120")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def backend(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalBackend]:
    """One backend per test process (Whisper is the slow part); each test gets its own collection."""
    root = tmp_path_factory.mktemp("backend")
    engine = create_engine(f"sqlite+aiosqlite:///{root / 'db.sqlite'}")
    await migrate(engine)
    local = LocalBackend(session_factory(engine), root / "data", lambda: PUBLIC_URL, max_upload_bytes=20_000_000)
    await local.start()
    yield local
    await local.close()
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def collection_id(backend: LocalBackend) -> str:
    return (await backend.create_collection("channel c")).id


@dataclass
class Talks:
    """A collection holding both talks, uploaded and indexed once per process; tests only read it."""

    collection_id: str
    review_id: str
    meeting_id: str


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def talks(backend: LocalBackend, talk_video: Path, other_talk_video: Path) -> Talks:
    from core.agents.upload import UploadAgent

    collection = (await backend.create_collection("talks")).id
    ids = []
    for path in (talk_video, other_talk_video):
        ctx = context(new_session(backend, collection), attachments=[Attachment(name=path.name, local_path=str(path))])
        result = await UploadAgent().safe_call(ctx, {})
        assert result.succeeded, result.message
        ids.append(str(result.data["videos"][0]["id"]))
    return Talks(collection, *ids)


def offline_llm() -> ScriptedLLM:
    """What the offline router looks like to an agent: no free text generation."""
    return ScriptedLLM(lambda messages, tools: LLMResponse(content=None), can_generate=False)


def summary_llm() -> ScriptedLLM:
    """An LLM that answers every prompt with a short, recognisable summary."""

    def script(messages: list[ContextMessage], tools: object) -> LLMResponse:
        return LLMResponse(content=f"summary {len(messages)}")

    return ScriptedLLM(script)


def new_session(backend: LocalBackend, collection_id: str) -> Session:
    return Session(
        id="s1",
        key=ThreadKey(platform="test", workspace_id="w", channel_id="c", thread_id="t"),
        collection=CollectionScope(backend, collection_id),
    )


def context(
    session: Session, llm: BaseLLM | None = None, attachments: list[Attachment] | None = None,
    work_dir: Path = Path("."), **kwargs: Any,
) -> AgentContext:
    return AgentContext(
        session=session, output=OutputMessage(), llm=llm or offline_llm(), attachments=attachments or [],
        work_dir=work_dir, **kwargs,
    )


ContextFactory = Callable[..., AgentContext]


def _factory(session: Session, work_dir: Path) -> ContextFactory:
    """Contexts of one session (so memory carries over, as in one thread), a fresh output each."""

    def make(llm: BaseLLM | None = None, attachments: list[Attachment] | None = None, **kwargs: Any) -> AgentContext:
        return context(session, llm, attachments, work_dir, **kwargs)

    return make


@pytest.fixture
def make_ctx(backend: LocalBackend, collection_id: str, tmp_path: Path) -> ContextFactory:
    """Contexts in a thread of a fresh, empty channel."""
    return _factory(new_session(backend, collection_id), tmp_path / "work")


@pytest.fixture
def talks_ctx(backend: LocalBackend, talks: Talks, tmp_path: Path) -> ContextFactory:
    """Contexts in a thread of the channel that holds both talks."""
    return _factory(new_session(backend, talks.collection_id), tmp_path / "work")


def no_card_left_running(output: OutputMessage) -> bool:
    return all(card.status is not CardStatus.progress for card in output.content)

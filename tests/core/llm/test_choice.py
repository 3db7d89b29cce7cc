"""choose_llm picks per the rules; construction only, no network."""

from __future__ import annotations

from typing import Any

import pytest

from core.llm.base import BaseLLM
from core.llm.choice import VIDEODB_PROXY_MODEL, choose_llm
from core.llm.openai_llm import OpenAILLM


def _choose(**overrides: Any) -> BaseLLM | None:
    options: dict[str, Any] = {
        "openai_api_key": None,
        "openai_base_url": None,
        "openai_model": "gpt-4o-mini",
        "video_db_api_key": None,
        "video_db_base_url": "https://api.videodb.io",
        "timeout_s": 30.0,
        "max_retries": 2,
    }
    options.update(overrides)
    return choose_llm(**options)


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads OPENAI_BASE_URL itself when base_url is None; keep the host's env out."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


async def test_openai_key_picks_openai_by_default() -> None:
    llm = _choose(openai_api_key="sk-a", video_db_api_key="vdb-b")
    assert isinstance(llm, OpenAILLM)
    try:
        assert llm.name == "openai"
        assert llm.model == "gpt-4o-mini"
        assert llm.base_url.startswith("https://api.openai.com/v1")
        assert (llm.timeout_s, llm.max_retries) == (30.0, 2)
    finally:
        await llm.close()


async def test_openai_base_url_reaches_a_compatible_server() -> None:
    llm = _choose(openai_api_key="ollama", openai_base_url="http://localhost:11434/v1/", openai_model="llama3.1")
    assert isinstance(llm, OpenAILLM)
    try:
        assert llm.base_url.startswith("http://localhost:11434/v1")
        assert llm.model == "llama3.1"
    finally:
        await llm.close()


async def test_videodb_key_alone_picks_the_videodb_proxy() -> None:
    llm = _choose(video_db_api_key="vdb-b", video_db_base_url="https://api.videodb.io/")
    assert isinstance(llm, OpenAILLM)
    try:
        assert llm.name == "videodb-proxy"
        assert llm.model == VIDEODB_PROXY_MODEL == "gpt-4o-2024-11-20"
        assert llm.base_url.rstrip("/") == "https://api.videodb.io"
    finally:
        await llm.close()


@pytest.mark.parametrize("empty", [None, ""])
def test_no_key_means_the_offline_router(empty: str | None) -> None:
    assert _choose(openai_api_key=empty, video_db_api_key=empty) is None


async def test_repr_never_shows_the_key() -> None:
    llm = _choose(openai_api_key="sk-very-secret-key")
    assert llm is not None
    try:
        assert "sk-very-secret-key" not in repr(llm)
    finally:
        await llm.close()

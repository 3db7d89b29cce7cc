"""Fixtures for the LLM tests: the loopback OpenAI fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_server import FakeOpenAIServer, running_openai_server


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIServer]:
    async with running_openai_server() as server:
        yield server

"""Fixtures every test folder may use.

- The environment is cleared of Director settings, so a developer's keys or `.env`
  never leak into a test (tests never reach a paid endpoint).
- `settings` is a Settings object on a temporary data directory (media port 0).
- `make_app` builds and starts an App (local backend, offline router unless an
  LLM is given) and stops it at teardown.
- `db_url` runs a storage test on SQLite and on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (imported now, not lazily by its plugin at session end; see below)
import pytest

from bot.settings import Settings

# CPython 3.11.7 can raise "SystemError: AST constructor recursion depth mismatch" when
# pytest rewrites a module imported late in a long session (hypothesis's plugin imports
# its modules in pytest_terminal_summary); importing it at start-up avoids that parse.

os.environ.setdefault("HF_HUB_OFFLINE", "1")

_SETTING_NAMES = [field.alias for field in Settings.model_fields.values() if field.alias]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"DIRECTOR_DATA_DIR": data_dir, "MEDIA_PORT": 0, "LOG_LEVEL": "DEBUG"}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


AppFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """`app = await make_app(llm=..., ports=[...], role=..., **settings_overrides)`, started."""
    from bot.wiring import build_app

    apps: list[Any] = []

    async def factory(llm: Any = None, ports: list[Any] | None = None, start: bool = True,
                      data_dir: Path | None = None, role: str = "app", **overrides: Any) -> Any:
        app = await build_app(make_settings(data_dir or tmp_path / "data", **overrides), llm=llm, role=role)
        for port in ports or []:
            app.register_port(port)
        if start:
            await app.start()
        apps.append(app)
        return app

    yield factory
    for app in reversed(apps):
        await app.stop()


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL")


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[tuple[str, str]]:
    """(url, schema): a fresh schema on TEST_DATABASE_URL, dropped afterwards; skips without it."""
    url = _postgres_url()
    if not url:
        pytest.skip("PostgreSQL tests SKIPPED: set TEST_DATABASE_URL (scripts/test-postgres.sh starts a local server)")
    import psycopg

    from core.storage.database import libpq_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    connection = await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True)
    await connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url, schema
    finally:
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """(url, schema): a fresh SQLite file, or a fresh schema on TEST_DATABASE_URL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}", None
        return
    async with postgres_schema() as (url, schema):
        yield url, schema


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A DATABASE_URL on a fresh PostgreSQL schema, with the search_path in the URL so
    child processes and the task queue use it too."""
    from urllib.parse import quote

    async with postgres_schema() as (url, schema):
        yield f"{url}?options={quote(f'-csearch_path={schema}')}"

"""Engine creation and migrations.

SQLite runs in WAL mode with a busy timeout so a console, a Slack and a Discord
process can share one file; PostgreSQL comes through `DATABASE_URL` and is reached
with psycopg 3, the driver the task queue (procrastinate) uses too, so one driver
serves both. `postgresql+asyncpg://` URLs are still accepted and run on psycopg.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, SessionTransactionOrigin
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as DBSession

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin), not the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Take the write lock at BEGIN: in WAL mode a read that later upgrades to a write
    fails at once with SQLITE_BUSY when another process wrote in between (busy_timeout
    does not cover that), so concurrent accepts would see "database is locked".
    Sessions choose for themselves (`_sqlite_session_begin`)."""
    if connection.get_execution_options().get(_SESSION_OPTION):
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


_SESSION_OPTION = "director_session"


class _SQLiteSession(Session):
    """Sessions on SQLite: writers (`sessionmaker.begin()`) take the write lock at BEGIN;
    readers (autobegin) run each statement in SQLite's autocommit mode, so a reader never
    holds a transaction a writer of another connection could deadlock with (in WAL mode,
    until busy_timeout broke it) and costs no BEGIN/ROLLBACK round trips to the driver's
    thread (see `_sqlite_rollback`)."""


@event.listens_for(_SQLiteSession, "after_begin")
def _sqlite_session_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.origin is SessionTransactionOrigin.BEGIN:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_rollback(dbapi_connection: Any) -> None:
    """ROLLBACK only inside a transaction: every aiosqlite call is a hop to its thread and
    back, and a reader's session (autocommit statements) has nothing to roll back."""
    driver = getattr(dbapi_connection, "_connection", None)  # aiosqlite's, under SQLAlchemy's adapter
    if driver is None or driver.in_transaction:
        dbapi_connection.rollback()


POSTGRES_PREFIXES = ("postgresql+psycopg://", "postgresql+asyncpg://", "postgresql://", "postgres://")


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_PREFIXES)


def sqlalchemy_url(url: str) -> str:
    """`DATABASE_URL` as SQLAlchemy's async URL: PostgreSQL always through psycopg 3."""
    if is_postgres(url):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def libpq_url(url: str) -> str:
    """The PostgreSQL URL as libpq (and so procrastinate's connector) reads it."""
    return "postgresql://" + url.split("://", 1)[1]


def create_engine(url: str, *, search_path: str | None = None) -> AsyncEngine:
    """An async engine; `search_path` puts PostgreSQL tables in one schema (test isolation)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite has one writer at a time anyway, and the pool
        # queues this process's coroutines fairly, where SQLite's busy handler would let
        # some starve. Other processes wait on busy_timeout.
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0,
                                     pool_timeout=120)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        engine.sync_engine.dialect.do_rollback = _sqlite_rollback  # type: ignore[method-assign]
        return engine
    connect_args = {"options": f"-csearch_path={search_path}"} if search_path else {}
    # No pre-ping (a round trip on every checkout, the hot path of a turn): connections are
    # recycled before servers and proxies drop idle ones, and a connection that died anyway
    # fails its statement, which the caller's retry or the turn's error handling covers.
    return create_async_engine(sqlalchemy_url(url), pool_recycle=300, pool_size=10, max_overflow=10,
                               connect_args=connect_args)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[DBSession]:
    if engine.dialect.name == "sqlite":
        return async_sessionmaker(engine.execution_options(**{_SESSION_OPTION: True}), expire_on_commit=False,
                                  sync_session_class=_SQLiteSession)
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (safe to run on every start). On PostgreSQL
    this includes the task queue's tables (procrastinate's schema, applied once)."""

    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # processes starting together migrate one at a time
            await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('director:migrate'))"))
        await connection.run_sync(upgrade)
        if connection.dialect.name == "postgresql":
            await _apply_queue_schema(connection)
    log.debug("database migrated")


async def _apply_queue_schema(connection: AsyncConnection) -> None:
    """procrastinate's tables beside ours (once). Its schema file is plain SQL with
    functions, run on the driver's connection."""
    from procrastinate.schema import SchemaManager

    if await connection.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is not None:
        return
    raw = await connection.get_raw_connection()
    await raw.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]
    log.info("task queue schema (procrastinate) created")

"""`director-bot stats`: one line about the bot's turns and the feedback on its answers."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.settings import Settings
from core.storage.database import create_engine, migrate
from core.storage.models import TurnRow
from core.storage.store import Store


async def stats_line(settings: Settings) -> str:
    """"turns: 12 (succeeded 10, failed 1, cancelled 1) · feedback: 👍 4 · 👎 1"."""
    settings.director_data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate(engine)
        store = Store(engine)
        async with store.sessionmaker() as db:
            rows = (await db.execute(select(TurnRow.status, func.count()).group_by(TurnRow.status))).all()
        counts = await store.feedback.counts()
    finally:
        await engine.dispose()
    by_status = sorted(((str(status), int(n)) for status, n in rows), key=lambda item: (-item[1], item[0]))
    total = sum(n for _, n in by_status)
    detail = f" ({', '.join(f'{status} {n}' for status, n in by_status)})" if by_status else ""
    return f"turns: {total}{detail} · feedback: 👍 {counts.good} · 👎 {counts.bad}"

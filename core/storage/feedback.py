"""👍/👎 on answers: one vote per person and turn (a second press replaces the first)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession as DBSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.messages import utcnow
from core.storage.models import FeedbackRow, TurnRow

log = logging.getLogger(__name__)

Rating = Literal["good", "bad"]


@dataclass(frozen=True)
class FeedbackCounts:
    good: int = 0
    bad: int = 0


class FeedbackStore:
    def __init__(self, sessions: async_sessionmaker[DBSession]) -> None:
        self._sessions = sessions

    async def record(self, turn_id: str, user_id: str, rating: Rating) -> bool:
        """Store the vote; False if the turn does not exist."""
        for _ in range(2):  # a double click in two processes: the loser updates
            try:
                async with self._sessions.begin() as db:
                    if await db.get(TurnRow, turn_id) is None:
                        return False
                    row = (await db.execute(select(FeedbackRow).where(
                        FeedbackRow.turn_id == turn_id, FeedbackRow.user_id == user_id))).scalar_one_or_none()
                    if row is None:
                        db.add(FeedbackRow(turn_id=turn_id, user_id=user_id, rating=rating))
                    else:
                        row.rating, row.created_at = rating, utcnow()
                return True
            except IntegrityError:
                continue
        return False

    async def counts(self) -> FeedbackCounts:
        async with self._sessions() as db:
            rows = (await db.execute(select(FeedbackRow.rating, func.count()).group_by(FeedbackRow.rating))).all()
        found = {rating: int(count) for rating, count in rows}
        return FeedbackCounts(good=found.get("good", 0), bad=found.get("bad", 0))

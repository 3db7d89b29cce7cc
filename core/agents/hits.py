"""The last search's hits, kept in session memory so follow-ups can say "clip the second hit"."""

from __future__ import annotations

from pydantic import BaseModel

from core.errors import InputError
from core.session import Session
from core.video.backend import Shot

LAST_HITS_KEY = "last_hits"

# A hit's times are those of the words that matched; a clip of just those words is too
# short to follow, so streams of hits play them with some context around.
HIT_LEAD_S = 1.0
HIT_TAIL_S = 1.5
HIT_MIN_S = 3.0


def playable_range(start: float, end: float, length: float | None) -> tuple[float, float]:
    """The range to play for a hit: padded, at least `HIT_MIN_S` long, inside the video."""
    lo = max(0.0, start - HIT_LEAD_S)
    hi = max(end + HIT_TAIL_S, lo + HIT_MIN_S)
    if length is not None:
        hi = min(hi, length)
        lo = max(0.0, min(lo, hi - HIT_MIN_S))
    return round(lo, 3), round(hi, 3)


class Hit(BaseModel):
    video_id: str
    title: str = ""
    start: float
    end: float
    text: str = ""


def remember_hits(session: Session, shots: list[Shot]) -> list[Hit]:
    """Store `shots` (in the order shown, numbered from 1) as the session's last hits."""
    hits = [
        Hit(video_id=s.video_id, title=s.video_title, start=s.start, end=s.end, text=s.text) for s in shots
    ]
    session.memory[LAST_HITS_KEY] = [hit.model_dump() for hit in hits]
    return hits


def last_hits(session: Session) -> list[Hit]:
    stored = session.memory.get(LAST_HITS_KEY)
    if not isinstance(stored, list):
        return []
    return [Hit.model_validate(item) for item in stored]


def recall_hit(session: Session, number: int) -> Hit:
    """Hit `number` (1-based) of the last search, or an error that says what exists."""
    hits = last_hits(session)
    if not hits:
        raise InputError("There are no search hits in this thread yet. Search first, then pick a hit.")
    if not 1 <= number <= len(hits):
        raise InputError(f"There is no hit {number}: the last search had {len(hits)} hit(s), numbered 1–{len(hits)}.")
    return hits[number - 1]

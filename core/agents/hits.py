"""The last search's hits, kept in session memory so follow-ups can say "clip the second
hit", and the ranges played for them.

Models do not always use hit numbers: a small one often passes the hit's times
instead. `hit_for_range` maps those back to the hit meant, so the clip gets the
hit's padded range, and "that" keeps meaning the video it is in.
"""

from __future__ import annotations

from pydantic import BaseModel

from core.agents.present import fmt_time
from core.agents.resolve import LAST_VIDEO_KEY
from core.errors import InputError
from core.session import Session
from core.video.backend import Shot

LAST_HITS_KEY = "last_hits"

# A hit's times are those of the words that matched; a clip of just those words is too
# short to follow, so streams of hits play them with some context around.
HIT_LEAD_S = 1.0
HIT_TAIL_S = 1.5
HIT_MIN_S = 3.0
_TIME_SLACK_S = 1.0  # how far times given for a hit may stray from its padded range


def playable_range(start: float, end: float, length: float | None) -> tuple[float, float]:
    """The range to play for a hit: padded, at least `HIT_MIN_S` long, inside the video."""
    lo = max(0.0, start - HIT_LEAD_S)
    hi = max(end + HIT_TAIL_S, lo + HIT_MIN_S)
    if length is not None:
        hi = min(hi, length)
        lo = max(0.0, min(lo, hi - HIT_MIN_S))
    return round(lo, 3), round(hi, 3)


def clamp_to_video(start: float, end: float, length: float | None) -> tuple[float, str]:
    """`end`, cut to the video's end if past it, and a note saying so ('' if not cut).

    A start past the end stays as given: the backend's refusal names the length.
    """
    if length is None or end <= length or start >= length:
        return end, ""
    return round(length, 3), f" (the video ends at {fmt_time(length)}, so that is where it stops)"


class Hit(BaseModel):
    video_id: str
    title: str = ""
    start: float
    end: float
    text: str = ""


def remember_hits(session: Session, shots: list[Shot]) -> list[Hit]:
    """Store `shots` (in the order shown, numbered from 1) as the session's last hits;
    the first hit's video becomes "that video"."""
    hits = [
        Hit(video_id=s.video_id, title=s.video_title, start=s.start, end=s.end, text=s.text) for s in shots
    ]
    session.memory[LAST_HITS_KEY] = [hit.model_dump() for hit in hits]
    if hits:
        session.memory[LAST_VIDEO_KEY] = hits[0].video_id
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


def hit_for_range(session: Session, start: float, end: float, video_id: str | None = None) -> Hit | None:
    """The remembered hit whose moment these times point at, if exactly one does."""
    matches = [
        hit for hit in last_hits(session)
        if (video_id is None or hit.video_id == video_id)
        and start <= hit.end and end >= hit.start
        and start >= hit.start - HIT_LEAD_S - _TIME_SLACK_S and end <= hit.end + HIT_TAIL_S + _TIME_SLACK_S
    ]
    return matches[0] if len(matches) == 1 else None

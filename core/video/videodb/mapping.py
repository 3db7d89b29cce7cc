"""SDK objects and VideoDB JSON turned into our models (and nothing else).

Kept apart so the backend reads as a list of operations, and so the SDK's types
never leak past this package.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from videodb.search import SearchResult
from videodb.video import Video

from core.errors import BackendError, InvalidRange
from core.video.backend import Shot, StreamLink, VideoInfo

_EPSILON = 0.05  # VideoDB lengths are rounded; allow a hair past the end
PLAYER_URL = "https://console.videodb.io/player"
"""VideoDB's web player for any stream (the SDK's `play_stream` builds the same link)."""


def video_info(video: Video | Mapping[str, Any]) -> VideoInfo:
    """From an SDK `Video` or a raw video dict (which also carries created_at)."""
    data: Mapping[str, Any] = video if isinstance(video, Mapping) else vars(video)
    length = data.get("length")
    return VideoInfo(
        id=str(data["id"]),
        collection_id=str(data.get("collection_id") or ""),
        name=str(data.get("name") or data["id"]),
        length=float(length) if length else None,
        stream_url=data.get("stream_url"),
        player_url=data.get("player_url"),
        thumbnail_url=data.get("thumbnail_url"),
        created_at=parse_time(data.get("created_at")),
    )


def parse_time(value: Any) -> float | None:
    """Unix seconds from a number or an ISO-8601 string; None if absent or odd."""
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def most_recent_first(videos: list[VideoInfo]) -> list[VideoInfo]:
    """Sort by created_at when every video has it; otherwise keep VideoDB's order."""
    if videos and all(v.created_at is not None for v in videos):
        return sorted(videos, key=lambda v: v.created_at or 0.0, reverse=True)
    return videos


def title_matches(videos: list[VideoInfo], query: str, limit: int) -> list[VideoInfo]:
    """Titles holding every word of `query` first, then those holding most of them."""
    words = set(_words(query))
    if not words:
        return videos[:limit]
    scored = [(len(words & set(_words(v.name))), v) for v in videos]
    full = [v for hits, v in scored if hits == len(words)]
    if full:
        return full[:limit]
    partial = sorted((item for item in scored if item[0] > 0), key=lambda item: -item[0])
    return [v for _, v in partial][:limit]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def shots(result: SearchResult, limit: int) -> list[Shot]:
    """Search hits, best first."""
    found = [
        Shot(
            video_id=shot.video_id,
            video_title=shot.video_title or "",
            start=float(shot.start),
            end=float(shot.end),
            text=shot.text or "",
            score=float(shot.search_score) if shot.search_score is not None else None,
        )
        for shot in result.get_shots()
    ]
    found.sort(key=lambda s: -(s.score or 0.0))
    return found[:limit]


def check_ranges(ranges: Iterable[tuple[float, float]], length: float | None, what: str) -> None:
    """Refuse empty, reversed or out-of-video ranges before asking VideoDB."""
    for start, end in ranges:
        if start < 0 or end <= start:
            raise InvalidRange(f"{start:g}–{end:g}s is not a valid range in {what}: the end must come after the start.")
        if length and end > length + _EPSILON:
            raise InvalidRange(f"{what} is only {length:g}s long, so {start:g}–{end:g}s is outside it.")


def check_time(at: float, length: float | None, what: str) -> None:
    if at < 0 or (length and at > length + _EPSILON):
        raise InvalidRange(f"{at:g}s is outside {what}" + (f" ({length:g}s long)." if length else "."))


def stream_link(stream_url: str | None, player_url: str | None, *, title: str = "",
                ranges: list[tuple[float, float]] | None = None, length: float | None = None) -> StreamLink:
    """A StreamLink whose bounds and duration reflect what was asked for.

    Some routes (subtitles) return only the HLS link; the Watch link is then
    VideoDB's web player for it, so every card still has one.
    """
    if not stream_url:
        raise BackendError("VideoDB did not return a stream link.")
    start = ranges[0][0] if ranges else (0.0 if length else None)
    end = ranges[-1][1] if ranges else length
    duration = sum(e - s for s, e in ranges) if ranges else length
    return StreamLink(
        id=hashlib.sha1(stream_url.encode()).hexdigest()[:16],
        stream_url=stream_url,
        player_url=player_url or player_for(stream_url),
        title=title,
        start=start,
        end=end,
        duration=duration,
    )


def player_for(stream_url: str) -> str:
    """VideoDB's web player for an HLS stream link."""
    return f"{PLAYER_URL}?url={quote(stream_url, safe=':/')}"

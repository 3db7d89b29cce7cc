"""Turning backend results into cards and short lines for the model to read."""

from __future__ import annotations

from core.delivery.job_card import format_span, format_ts
from core.messages import VideoData
from core.video.backend import StreamLink, VideoInfo


def fmt_time(seconds: float | None) -> str:
    """What people and the model read: `75.4` → `1:15`."""
    return format_ts(seconds)


def fmt_span(start: float | None, end: float | None) -> str:
    return format_span(start, end)


def video_data(info: VideoInfo) -> VideoData:
    return VideoData(
        id=info.id,
        name=info.name,
        stream_url=info.stream_url,
        player_url=info.player_url,
        thumbnail_url=info.thumbnail_url,
        download_url=info.download_url,
        length=info.length,
    )


def stream_data(link: StreamLink, name: str | None = None) -> VideoData:
    """The card data of a produced stream; start/end are what was really produced."""
    return VideoData(
        id=link.id,
        name=name or link.title,
        stream_url=link.stream_url,
        player_url=link.player_url,
        thumbnail_url=link.thumbnail_url,
        download_url=link.download_url,
        length=link.duration,
        start=link.start,
        end=link.end,
        size_bytes=link.size_bytes,
    )


def links_line(data: VideoData) -> str:
    """`watch: … | stream: … | download: …`, only the links that exist."""
    parts = [
        f"{label}: {url}"
        for label, url in (("watch", data.player_url), ("stream", data.stream_url), ("download", data.download_url))
        if url
    ]
    return " | ".join(parts)


def video_line(info: VideoInfo) -> str:
    """`'Title' (id abc, 2:05, indexed)` — one video in a list the model reads."""
    facts = [f"id {info.id}"]
    if info.length is not None:
        facts.append(fmt_time(info.length))
    facts.append("indexed" if info.indexed else "not indexed")
    return f"{info.name!r} ({', '.join(facts)})"

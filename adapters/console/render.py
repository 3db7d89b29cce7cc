"""OutputMessage → plain text lines for a terminal or a pipe."""

from __future__ import annotations

from core.delivery.job_card import format_span, format_ts, status_line
from core.messages import (
    CardStatus,
    ImageCard,
    OutputMessage,
    SearchResultsCard,
    TextCard,
    VideoCard,
    VideoData,
    VideosCard,
)

_MARK = {CardStatus.progress: "…", CardStatus.error: "⚠", CardStatus.success: "✓"}


def _video_lines(video: VideoData) -> list[str]:
    span = ""
    if video.start is not None and video.end is not None:
        span = f" [{format_span(video.start, video.end)}]"
    elif video.length:
        span = f" ({format_ts(video.length)})"
    lines = [f"▶ {video.name or video.id}{span}"]
    if video.player_url:
        lines.append(f"  Watch:  {video.player_url}")
    if video.stream_url and video.stream_url != video.player_url:
        lines.append(f"  Stream: {video.stream_url}")
    return lines


def _card_lines(card: object) -> list[str]:
    lines: list[str] = []
    status = getattr(card, "status", CardStatus.success)
    note = getattr(card, "status_message", "")
    agent = getattr(card, "agent_name", "")
    if note and (status is not CardStatus.success or not getattr(card, "text", "")):
        lines.append(f"{_MARK[status]} {('@' + agent + ': ') if agent else ''}{note}")
    if isinstance(card, TextCard) and card.text:
        lines.extend(card.text.splitlines())
    elif isinstance(card, VideoCard):
        lines.extend(_video_lines(card.video))
    elif isinstance(card, VideosCard):
        total = card.total if card.total is not None else len(card.videos)
        if total == 0:
            lines.append("No videos in this channel yet: `upload <url>` adds one.")
            return lines
        lines.append(f"Videos ({total}):")
        for number, video in enumerate(card.videos, start=1):
            length = f", {format_ts(video.length)}" if video.length else ""
            lines.append(f"  {number}. {video.name} ({video.id}{length})")
    elif isinstance(card, ImageCard):
        lines.append(f"🖼 {card.alt or 'image'}: {card.url}")
    elif isinstance(card, SearchResultsCard):
        number = 0
        lines.append(f"Hits for “{card.query}”:" if card.query else "Hits:")
        for result in card.results:
            for shot in result.shots:
                number += 1
                lines.append(f"  {number}. {result.title or result.video_id} "
                             f"{format_span(shot.start, shot.end)} “{shot.text.strip()}”")
    return lines


def render_lines(message: OutputMessage) -> list[str]:
    lines = [status_line(message)]
    for card in message.content:
        lines.extend(_card_lines(card))
    return lines

"""OutputMessage → one Slack message: Block Kit blocks plus a text fallback.

Slack refuses a message that breaks its limits (`invalid_blocks`,
`msg_blocks_too_long`), so every string is clipped here and content that does not
fit becomes "N more…". The render is a plain value: the edit coalescer compares
renders to skip unchanged edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.slack.markup import escape, link, markdown_to_mrkdwn
from adapters.slack.payloads import Block
from core.delivery.job_card import buttons, format_span, format_ts, status_line
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

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_TEXT = 2000
MAX_TEXT = 40_000
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_ACTION_ID = 255
# Slack has refused messages around 13k characters of blocks although no single
# limit was hit (msg_blocks_too_long); keep the card well under that.
BLOCK_CHARS_BUDGET = 11_000
MAX_LIST_ITEMS = 10
MAX_SHOTS = 5

CANCEL_ACTION = "director_cancel"
RETRY_ACTION = "director_retry"
WATCH_ACTION = "director_watch"


@dataclass(frozen=True)
class SlackRender:
    """What chat.postMessage / chat.update receive."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}}


def context(*texts: str) -> Block:
    elements = [{"type": "mrkdwn", "text": clip(t, MAX_CONTEXT_TEXT)} for t in texts if t][:10]
    return {"type": "context", "elements": elements}


def url_button(text: str, url: str, action_id: str) -> Block | None:
    if len(url) > MAX_URL:
        return None
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT), "emoji": True},
        "url": url,
        "action_id": action_id[:MAX_ACTION_ID],
    }


def value_button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": action_id[:MAX_ACTION_ID],
        "value": value[:2000],
    }
    if style:
        button["style"] = style
    return button


def split_sections(mrkdwn: str) -> list[Block]:
    """Long text becomes several sections, cut at line ends where possible."""
    blocks: list[Block] = []
    rest = mrkdwn
    while rest:
        if len(rest) <= MAX_SECTION_TEXT:
            blocks.append(section(rest))
            break
        cut = rest.rfind("\n", 0, MAX_SECTION_TEXT)
        cut = cut if cut > MAX_SECTION_TEXT // 2 else MAX_SECTION_TEXT
        blocks.append(section(rest[:cut]))
        rest = rest[cut:].lstrip("\n")
    return blocks


# --- cards -----------------------------------------------------------------------------


def _span(start: float | None, end: float | None) -> str:
    return format_span(start, end)


def _video_title(video: VideoData) -> str:
    title = escape(video.name or video.id)
    return link(video.player_url, video.name or video.id) if video.player_url else title


def _video_blocks(video: VideoData, index: int) -> list[Block]:
    facts = []
    span = _span(video.start, video.end)
    if span:
        facts.append(span)
    if video.length is not None:
        facts.append(f"length {format_ts(video.length)}")
    if video.stream_url:
        facts.append(link(video.stream_url, "stream link"))
    blocks: list[Block] = [section(f"🎬 *{_video_title(video)}*")]
    if facts:
        blocks.append(context(" · ".join(facts)))
    if video.player_url:
        watch = url_button("▶ Watch", video.player_url, f"{WATCH_ACTION}_{index}")
        if watch:
            blocks.append({"type": "actions", "elements": [watch]})
    return blocks


def _videos_blocks(card: VideosCard) -> list[Block]:
    shown = card.videos[:MAX_LIST_ITEMS]
    lines = []
    for video in shown:
        length = f" ({format_ts(video.length)})" if video.length is not None else ""
        lines.append(f"• {_video_title(video)}{length}")
    total = card.total if card.total is not None else len(card.videos)
    if total > len(shown):
        lines.append(f"_{total - len(shown)} more…_")
    if not lines:
        lines.append("_No videos yet._")
    return [section("\n".join(lines))]


def _search_blocks(card: SearchResultsCard) -> list[Block]:
    if not card.results:
        return [section(f"🔎 No matches for “{escape(card.query)}”.")]
    blocks: list[Block] = [section(f"🔎 *Matches for “{escape(card.query)}”*")]
    for result in card.results:
        title = escape(result.title or result.video_id)
        if result.player_url:
            title = link(result.player_url, result.title or result.video_id)
        lines = [f"*{title}*"]
        for shot in result.shots[:MAX_SHOTS]:
            quote = f" “{escape(clip(shot.text, 200))}”" if shot.text else ""
            lines.append(f"• `{_span(shot.start, shot.end)}`{quote}")
        if len(result.shots) > MAX_SHOTS:
            lines.append(f"_{len(result.shots) - MAX_SHOTS} more…_")
        blocks.append(section("\n".join(lines)))
    return blocks


def card_blocks(card: Any, index: int) -> list[Block]:
    if getattr(card, "status", None) == CardStatus.error:
        note = escape(card.status_message or "Something went wrong.")
        return [section(f"⚠️ {note}")]
    if isinstance(card, TextCard):
        return split_sections(markdown_to_mrkdwn(card.text)) if card.text else []
    if isinstance(card, VideoCard):
        return _video_blocks(card.video, index)
    if isinstance(card, VideosCard):
        return _videos_blocks(card)
    if isinstance(card, SearchResultsCard):
        return _search_blocks(card)
    if isinstance(card, ImageCard) and len(card.url) <= MAX_URL:
        return [{"type": "image", "image_url": card.url, "alt_text": clip(card.alt or "image", 2000)}]
    return []


# --- the whole message ---------------------------------------------------------------


def fit_blocks(content: list[list[Block]], room: int) -> list[Block]:
    """Whole cards while blocks and characters last; the rest becomes "N more…".

    A card that does not fit whole shows the blocks that still fit (a long answer
    keeps its beginning instead of vanishing behind "1 more…").
    """
    kept: list[Block] = []
    chars = 0
    for index, blocks in enumerate(content):
        size = sum(len(str(block)) for block in blocks)
        if len(kept) + len(blocks) <= room - 1 and chars + size <= BLOCK_CHARS_BUDGET:
            kept.extend(blocks)
            chars += size
            continue
        shown = 0
        for block in blocks:
            if len(kept) + 1 > room - 1 or chars + len(str(block)) > BLOCK_CHARS_BUDGET:
                break
            kept.append(block)
            chars += len(str(block))
            shown += 1
        left = len(content) - index - (1 if shown else 0)
        note = ["_…cut short to fit Slack's limits_"] if shown else []
        if left:
            note.append(f"_{left} more…_")
        kept.append(context(" · ".join(note)))
        break
    return kept


def _footer(message: OutputMessage) -> Block | None:
    parts = []
    if message.agents:
        parts.append("agents: " + ", ".join(escape(a) for a in message.agents))
    if message.turn_id:
        parts.append(f"turn `{message.turn_id[:8]}`")
    return context(" · ".join(parts)) if parts else None


def _action_row(message: OutputMessage) -> Block | None:
    elements = []
    for kind in buttons(message):
        if kind == "cancel" and message.turn_id:
            elements.append(value_button("Cancel", CANCEL_ACTION, message.turn_id, "danger"))
        elif kind == "retry" and message.turn_id:
            elements.append(value_button("Retry", RETRY_ACTION, message.turn_id, "primary"))
    return {"type": "actions", "block_id": "director_controls", "elements": elements} if elements else None


def fallback_text(message: OutputMessage) -> str:
    """Notifications and clients without blocks see this.

    Slack parses `text` as mrkdwn: what a person or the model wrote is escaped, so a
    literal `<!channel>` is shown, never sent as a ping.
    """
    lines = [escape(status_line(message))]
    body = message.text()
    if body:
        lines.append(escape(body))
    for card in message.cards_of(VideoCard):
        url = card.video.player_url or card.video.stream_url
        if url:
            lines.append(f"{escape(card.video.name or card.video.id)}: {link(url, url)}")
    return clip("\n".join(lines), MAX_TEXT)


def render(message: OutputMessage) -> SlackRender:
    head = section(f"*{escape(status_line(message))}*")
    tail = [b for b in (_footer(message), _action_row(message)) if b]
    content = [card_blocks(card, i) for i, card in enumerate(message.content)]
    body = fit_blocks([c for c in content if c], MAX_BLOCKS - 1 - len(tail))
    return SlackRender(text=fallback_text(message), blocks=[head, *body, *tail])

"""OutputMessage → one Discord message: a status line, embeds and buttons.

Discord answers 400 to a message over its limits (2,000 characters of content,
256 per title, 4,096 per description, 25 fields of 1,024, 6,000 characters across
all embeds, 10 embeds, 5 buttons a row, 5 rows), so every string is clipped here
and whatever does not fit becomes "N more…". The render is a plain value: the edit
coalescer compares renders to skip unchanged edits, and `delivery` turns it into
discord.py objects only at send time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from core.delivery.job_card import buttons, format_span, format_ts, status_line
from core.messages import (
    CardStatus,
    ImageCard,
    MsgStatus,
    OutputMessage,
    SearchResultsCard,
    TextCard,
    VideoCard,
    VideoData,
    VideosCard,
)

MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_EMBED_TOTAL = 6000
MAX_EMBEDS = 10
MAX_BUTTONS_PER_ROW = 5
MAX_ROWS = 5
MAX_LABEL = 80
MAX_URL = 512
MAX_LIST_ITEMS = 15
MAX_SHOTS = 5

CUSTOM_ID_PREFIX = "director"

COLOURS: dict[MsgStatus, int] = {
    MsgStatus.queued: 0x99AAB5,
    MsgStatus.progress: 0x5865F2,
    MsgStatus.success: 0x57F287,
    MsgStatus.error: 0xED4245,
    MsgStatus.cancelled: 0x99AAB5,
    MsgStatus.interrupted: 0xFEE75C,
}

Embed = dict[str, Any]
Style = Literal["link", "danger", "primary", "secondary"]


@dataclass(frozen=True)
class ButtonSpec:
    """A link button (url) or a control button (custom_id) — never both."""

    label: str
    url: str | None = None
    custom_id: str | None = None
    style: Style = "link"
    disabled: bool = False


@dataclass(frozen=True)
class DiscordRender:
    """What a message post or edit sends: content, embeds, rows of buttons, an MP4."""

    content: str
    embeds: list[Embed] = field(default_factory=list)
    rows: list[list[ButtonSpec]] = field(default_factory=list)
    file: str | None = None  # a local MP4 to attach so the clip plays inline

    def with_file(self, path: str | None) -> "DiscordRender":
        return replace(self, file=path)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def custom_id(action: str, turn_id: str) -> str:
    """`director:cancel:<turn_id>`: what the persistent buttons are keyed by."""
    return f"{CUSTOM_ID_PREFIX}:{action}:{turn_id}"


def _span(start: float | None, end: float | None) -> str:
    return format_span(start, end)


def _md_link(text: str, url: str | None) -> str:
    safe = text.replace("[", "(").replace("]", ")")
    return f"[{safe}]({url})" if url and len(url) <= MAX_URL else safe


# --- cards → embeds ---------------------------------------------------------------------


def _video_embed(video: VideoData, colour: int) -> Embed:
    facts = []
    if span := _span(video.start, video.end):
        facts.append(f"`{span}`")
    if video.length is not None:
        facts.append(f"length {format_ts(video.length)}")
    embed: Embed = {"type": "rich", "title": clip(f"🎬 {video.name or video.id}", MAX_TITLE), "color": colour}
    if video.player_url and len(video.player_url) <= 2048:
        embed["url"] = video.player_url
    if facts:
        embed["description"] = " · ".join(facts)
    if video.thumbnail_url and video.thumbnail_url.startswith("http"):
        embed["thumbnail"] = {"url": video.thumbnail_url}
    return embed


def _videos_embed(card: VideosCard, colour: int) -> Embed:
    shown = card.videos[:MAX_LIST_ITEMS]
    lines = []
    for video in shown:
        length = f" ({format_ts(video.length)})" if video.length is not None else ""
        lines.append(f"• {_md_link(video.name or video.id, video.player_url)}{length}")
    total = card.total if card.total is not None else len(card.videos)
    if total > len(shown):
        lines.append(f"*{total - len(shown)} more…*")
    description = _fit_lines(lines, MAX_DESCRIPTION) if lines else "*No videos yet.*"
    return {"type": "rich", "title": "📼 Videos in this channel", "description": description, "color": colour}


def _fit_lines(lines: list[str], limit: int) -> str:
    """Whole lines while they fit; the rest becomes "N more…"."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        more = f"*{len(lines) - index} more…*"
        if used + len(line) + 1 > limit - len(more) - 1 and index < len(lines) - 1:
            kept.append(more)
            break
        kept.append(clip(line, limit - used))
        used += len(kept[-1]) + 1
    return "\n".join(kept)


def _search_embed(card: SearchResultsCard, colour: int) -> Embed:
    title = clip(f"🔎 Matches for “{card.query}”", MAX_TITLE)
    if not card.results:
        return {"type": "rich", "title": title, "description": "No matches.", "color": colour}
    fields = []
    results = card.results
    room = MAX_FIELDS if len(results) <= MAX_FIELDS else MAX_FIELDS - 1
    for result in results[:room]:
        lines = []
        for shot in result.shots[:MAX_SHOTS]:
            quote = f" “{clip(shot.text, 150)}”" if shot.text else ""
            lines.append(f"`{_span(shot.start, shot.end)}`{quote}")
        if len(result.shots) > MAX_SHOTS:
            lines.append(f"*{len(result.shots) - MAX_SHOTS} more…*")
        if result.player_url and len(result.player_url) <= MAX_URL:
            lines.append(f"[▶ Watch]({result.player_url})")
        fields.append({"name": clip(result.title or result.video_id, MAX_FIELD_NAME),
                       "value": _fit_lines(lines, MAX_FIELD_VALUE) or "—", "inline": False})
    if len(results) > room:
        fields.append({"name": "…", "value": f"{len(results) - room} more…", "inline": False})
    return {"type": "rich", "title": title, "fields": fields, "color": colour}


def card_embed(card: Any, colour: int) -> Embed | None:
    """One card's embed; text cards are gathered into the message's main embed instead."""
    if getattr(card, "status", None) == CardStatus.error:
        note = card.status_message or "Something went wrong."
        return {"type": "rich", "description": clip(f"⚠️ {note}", MAX_DESCRIPTION), "color": COLOURS[MsgStatus.error]}
    if isinstance(card, VideoCard):
        return _video_embed(card.video, colour)
    if isinstance(card, VideosCard):
        return _videos_embed(card, colour)
    if isinstance(card, SearchResultsCard):
        return _search_embed(card, colour)
    if isinstance(card, ImageCard) and card.url.startswith("http") and len(card.url) <= 2048:
        return {"type": "rich", "title": clip(card.alt or "Image", MAX_TITLE), "image": {"url": card.url},
                "color": colour}
    return None


def _progress_lines(message: OutputMessage) -> list[str]:
    return [f"• {card.agent_name}: {card.status_message}" for card in message.content
            if getattr(card, "status", None) == CardStatus.progress and card.status_message]


def _main_embed(message: OutputMessage, colour: int) -> Embed | None:
    parts = [card.text for card in message.content
             if isinstance(card, TextCard) and card.text and card.status != CardStatus.error]
    parts += _progress_lines(message)
    footer = []
    if message.agents:
        footer.append("agents: " + ", ".join(message.agents))
    if message.turn_id:
        footer.append(f"job {message.turn_id[:8]}")
    if not parts and not footer:
        return None
    embed: Embed = {"type": "rich", "color": colour}
    if parts:
        embed["description"] = clip("\n\n".join(parts), MAX_DESCRIPTION)
    if footer:
        embed["footer"] = {"text": clip(" · ".join(footer), MAX_FOOTER)}
    return embed


def embed_size(embed: Embed) -> int:
    """Characters Discord counts towards the 6,000 limit."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    size += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in embed.get("fields") or [])
    return size


def shrink_embed(embed: Embed, budget: int) -> Embed:
    """Drop fields from the end (saying how many) and clip the description until it fits."""
    if embed_size(embed) <= budget:
        return embed
    embed = dict(embed)
    fields = list(embed.get("fields") or [])
    hidden = 0

    def with_note() -> list[dict[str, Any]]:
        note = [{"name": "…", "value": f"{hidden} more…", "inline": False}] if hidden else []
        return fields + note

    while fields and embed_size({**embed, "fields": with_note()}) > budget:
        fields.pop()
        hidden += 1
    if "fields" in embed:
        embed["fields"] = with_note()
    over = embed_size(embed) - budget
    description = embed.get("description") or ""
    if over > 0 and description:
        embed["description"] = clip(description, max(len(description) - over, 1))
    return embed


NOTE_ROOM = 40
MIN_SHRUNK = 200


def fit_embeds(embeds: list[Embed]) -> list[Embed]:
    """At most 10 embeds and 6,000 characters; what is left out becomes an "N more…" embed."""
    kept: list[Embed] = []
    used = 0
    for index, embed in enumerate(embeds):
        last = index == len(embeds) - 1
        if len(kept) >= MAX_EMBEDS - (0 if last else 1):
            break
        room = MAX_EMBED_TOTAL - used - (0 if last else NOTE_ROOM)
        if embed_size(embed) > room and room < MIN_SHRUNK:
            break
        embed = shrink_embed(embed, room)
        if embed_size(embed) > room:
            break
        kept.append(embed)
        used += embed_size(embed)
    hidden = len(embeds) - len(kept)
    if hidden:
        kept.append({"type": "rich", "description": f"*{hidden} more…*"})
    return kept


# --- buttons --------------------------------------------------------------------------------


def _link(label: str, url: str | None) -> ButtonSpec | None:
    if not url or len(url) > MAX_URL or not url.startswith(("http://", "https://")):
        return None
    return ButtonSpec(label=clip(label, MAX_LABEL), url=url)


def _link_buttons(message: OutputMessage) -> list[ButtonSpec]:
    found: list[ButtonSpec] = []
    video_cards = message.cards_of(VideoCard)
    for card in video_cards:
        name = f" {card.video.name}" if len(video_cards) > 1 and card.video.name else ""
        for label, url in ((f"▶ Watch{name}", card.video.player_url), (f"⬇ MP4{name}", card.video.download_url)):
            if (button := _link(label, url)) is not None and button not in found:
                found.append(button)
    return found


def _control_buttons(message: OutputMessage) -> list[ButtonSpec]:
    if not message.turn_id:
        return []
    controls = []
    for kind in buttons(message):
        if kind == "cancel":
            controls.append(ButtonSpec("Cancel", custom_id=custom_id("cancel", message.turn_id), style="danger"))
        elif kind == "retry":
            controls.append(ButtonSpec("Retry", custom_id=custom_id("retry", message.turn_id), style="primary"))
    return controls


def layout_buttons(links: list[ButtonSpec], controls: list[ButtonSpec]) -> list[list[ButtonSpec]]:
    """Link buttons in rows of 5, controls on the last row; overflow ends in "N more…"."""
    link_rows = MAX_ROWS - (1 if controls else 0)
    room = link_rows * MAX_BUTTONS_PER_ROW
    if len(links) > room:
        # The last slot says how many links are missing: a disabled button nobody can press.
        hidden = len(links) - room + 1
        links = links[: room - 1] + [ButtonSpec(label=f"{hidden} more…", custom_id=custom_id("more", str(hidden)),
                                                style="secondary", disabled=True)]
    rows = [links[i:i + MAX_BUTTONS_PER_ROW] for i in range(0, len(links), MAX_BUTTONS_PER_ROW)]
    if controls:
        rows.append(controls[:MAX_BUTTONS_PER_ROW])
    return rows


# --- the whole message -----------------------------------------------------------------------


def render(message: OutputMessage) -> DiscordRender:
    colour = COLOURS[message.status]
    embeds = [e for e in [_main_embed(message, colour)] if e]
    embeds += [e for card in message.content if (e := card_embed(card, colour)) is not None]
    return DiscordRender(
        content=clip(status_line(message), MAX_CONTENT),
        embeds=fit_embeds(embeds),
        rows=layout_buttons(_link_buttons(message), _control_buttons(message)),
    )

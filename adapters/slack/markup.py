"""Slack's text markup, both ways.

Inbound: Slack encodes mentions, channels and links as `<...>` tokens and escapes
`&`, `<`, `>`; we turn that into plain words the engine can read. Outbound: the
engine writes Markdown; Slack's `mrkdwn` differs (`*bold*`, `<url|label>`).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"<([^<>]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Remove every `<@BOT>` token (with or without a label) and tidy spaces."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def mentions(text: str, user_id: str | None) -> bool:
    return bool(user_id) and re.search(rf"<@{re.escape(user_id or '')}(\|[^>]*)?>", text) is not None


def _decode_token(body: str) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        special = target[1:].split("^", 1)[0]
        if label:
            return label if label.startswith("@") or special == "date" else "@" + label
        return "@" + special
    if not label or _same_link(target, label):
        return target
    return f"{label} ({target})"


def _same_link(url: str, label: str) -> bool:
    bare = re.sub(r"^(https?://|mailto:)", "", url)
    return label in (url, bare)


def decode(text: str) -> str:
    """Slack message text → plain text: `<@U1|ann>` → `@ann`, `<url|x>` → `x (url)`."""
    decoded = _TOKEN.sub(lambda m: _decode_token(m.group(1)), text)
    for entity, char in _ENTITIES:
        decoded = decoded.replace(entity, char)
    return decoded


def escape(text: str) -> str:
    """Plain text → safe mrkdwn (only `&`, `<`, `>` need escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link; `|`, `<` and `>` in the url or the label would end it early."""
    safe_label = escape(label).replace("|", "¦")
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe_url}|{safe_label}>"


_CODE = re.compile(r"(```.*?```|`[^`\n]+`)", re.S)
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.M)


def _convert_prose(text: str) -> str:
    text = escape(text)
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        url = match.group(2).replace("&amp;", "&")
        links.append(link(url, match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")))
        return f"\x00{len(links) - 1}\x00"

    text = _MD_LINK.sub(keep_link, text)
    text = _HEADING.sub(lambda m: f"\x01{m.group(1)}\x01", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _ITALIC.sub(lambda m: f"_{m.group(1)}_", text)
    text = _BOLD.sub(lambda m: f"\x01{m.group(2)}\x01", text)
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    text = text.replace("\x01", "*")
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m.group(1))], text)


def markdown_to_mrkdwn(text: str) -> str:
    """Markdown → Slack mrkdwn, leaving code spans and blocks untouched."""
    parts = _CODE.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        else:
            out.append(_convert_prose(part))
    return "".join(out)

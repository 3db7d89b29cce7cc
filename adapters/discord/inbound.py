"""Discord events → `Incoming`: one small function per event kind, nothing else.

Keys: the session is (guild, thread id); the collection is (guild, parent channel
id). Slash commands other than `ask` become lines of the core's command grammar,
so they work with or without a language model.
"""

from __future__ import annotations

import re

from core.incoming import ChannelKey, Incoming, ThreadKey
from core.messages import Attachment

PLATFORM = "discord"
MAX_THREAD_NAME = 100
FALLBACK_THREAD_NAME = "Director session"
TIME = re.compile(r"^\d+(?::\d{1,2}){0,2}(?:\.\d+)?$")


def thread_key(guild_id: int, parent_id: int, thread_id: int) -> ThreadKey:
    return ThreadKey(platform=PLATFORM, workspace_id=str(guild_id), channel_id=str(parent_id),
                     thread_id=str(thread_id))


def channel_key(guild_id: int, channel_id: int) -> ChannelKey:
    return ChannelKey(platform=PLATFORM, workspace_id=str(guild_id), channel_id=str(channel_id))


def thread_name(text: str) -> str:
    """A thread title from the request: one line, at most 100 characters, never empty."""
    line = " ".join(re.sub(r"<[@#&!:]*[^>]*>", " ", text).split())
    if not line:
        return FALLBACK_THREAD_NAME
    return line if len(line) <= MAX_THREAD_NAME else line[: MAX_THREAD_NAME - 1] + "…"


def choice_name(name: str) -> str:
    """An autocomplete choice's label (at most 100 characters)."""
    return name if len(name) <= 100 else name[:99] + "…"


def strip_mention(content: str, bot_id: int) -> str:
    """`<@123> find goals` → `find goals`."""
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())


# --- slash commands → text --------------------------------------------------------------


def ask_text(prompt: str) -> str:
    return prompt.strip()


def upload_text(url: str | None) -> str:
    return f"upload {url.strip()}" if url and url.strip() else "upload"


def search_text(query: str) -> str:
    return f"search {query.strip()}"


def videos_text() -> str:
    return "videos"


def help_text() -> str:
    return "help"


def compile_text(query: str) -> str:
    return f"compile {query.strip()}"


def clip_text(video: str, start: str, end: str) -> str:
    """`clip <video> <start>-<end>`; raises ValueError on a time the grammar can't read."""
    for value in (start, end):
        if not TIME.match(value.strip()):
            raise ValueError(f"{value!r} is not a time; use seconds (65) or minutes:seconds (1:05).")
    return f"clip {video.strip()} {start.strip()}-{end.strip()}"


# --- events ------------------------------------------------------------------------------


def interaction_create(*, interaction_id: int, guild_id: int, parent_id: int, thread_id: int, user_id: int,
                       text: str, attachments: list[Attachment] | None = None,
                       channel_name: str | None = None) -> Incoming:
    """A /director command, once its thread is known."""
    return Incoming(
        thread=thread_key(guild_id, parent_id, thread_id), user_id=str(user_id), text=text,
        attachments=attachments or [], event_keys=[f"discord:interaction:{interaction_id}"],
        channel_name=channel_name,
    )


def message_create(*, message_id: int, guild_id: int, parent_id: int, thread_id: int, user_id: int,
                   text: str, attachments: list[Attachment] | None = None,
                   channel_name: str | None = None) -> Incoming:
    """A follow-up written in a thread (an @mention, or any message with the content intent)."""
    return Incoming(
        thread=thread_key(guild_id, parent_id, thread_id), user_id=str(user_id), text=text,
        attachments=attachments or [], event_keys=[f"discord:message:{message_id}"],
        channel_name=channel_name,
    )


def message_attachments(attachments: list[tuple[str, str, str | None, int]]) -> list[Attachment]:
    """(filename, url, content type, size) of a message's files → core attachments (fetched later)."""
    return [Attachment(name=name, url=url, mimetype=content_type, size=size)
            for name, url, content_type, size in attachments]

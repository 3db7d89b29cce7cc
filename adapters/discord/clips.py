"""Short clips attached as MP4 so they play inline in Discord (it can't play HLS).

Only the first clip of a successful turn, only when it is short and its size is
known to fit the server's attachment limit (`guild.filesize_limit`).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from adapters.discord.files import download
from core.errors import DirectorError
from core.messages import OutputMessage, VideoCard, VideoData

log = logging.getLogger(__name__)


def _duration(video: VideoData) -> float | None:
    if video.start is not None and video.end is not None:
        return video.end - video.start
    return video.length


def inline_candidate(message: OutputMessage, limit_bytes: int, max_seconds: float) -> VideoData | None:
    """The clip worth attaching, if any."""
    for card in message.cards_of(VideoCard):
        video = card.video
        duration = _duration(video)
        if not video.download_url or video.size_bytes is None or video.size_bytes > limit_bytes:
            continue
        if duration is None or duration > max_seconds:
            continue
        return video
    return None


class InlineClip:
    def __init__(self, staging_dir: Path) -> None:
        self._dir = staging_dir

    async def fetch(self, message: OutputMessage, limit_bytes: int, max_seconds: float) -> Path | None:
        """Download the clip to attach; None if there is none or it fails (the Watch link stays)."""
        video = inline_candidate(message, limit_bytes, max_seconds)
        if video is None or video.download_url is None:
            return None
        dest = self._dir / f"clip-{uuid.uuid4().hex}.mp4"
        try:
            return await download(video.download_url, dest, limit_bytes, name="the clip")
        except DirectorError as exc:
            log.info("clip not attached: %s", exc.user_message)
        except Exception:
            log.exception("clip not attached")
        return None

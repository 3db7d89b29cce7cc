"""Short result clips also go into the thread as MP4 files, so Slack plays them inline.

Only clips under SLACK_INLINE_CLIP_MB with a download link are sent. Without the
files:write scope Slack answers `missing_scope`: we skip quietly and the Watch
link stays the way to see the clip. Uploaded video ids are kept in the turn's
stored reference so a retried publish does not upload twice.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.messages import OutputMessage, VideoCard, VideoData

log = logging.getLogger(__name__)


class InlineClips:
    def __init__(self, client: AsyncWebClient, max_bytes: int) -> None:
        self._client = client
        self._max_bytes = max_bytes

    def _candidates(self, message: OutputMessage, done: set[str]) -> list[VideoData]:
        videos = [card.video for card in message.cards_of(VideoCard)]
        return [
            v for v in videos
            if v.download_url and v.size_bytes is not None and 0 < v.size_bytes <= self._max_bytes
            and v.id not in done
        ]

    async def upload(self, message: OutputMessage, ref: dict[str, str], thread_ts: str) -> list[str]:
        """Upload eligible clips; returns every uploaded video id (old and new)."""
        done = set(filter(None, ref.get("uploads", "").split(",")))
        if self._max_bytes <= 0:
            return []
        for video in self._candidates(message, done):
            data = await self._fetch(video)
            if data is None:
                continue
            name = (video.name or video.id).replace("/", "_")
            try:
                await self._client.files_upload_v2(
                    channel=ref["channel"], thread_ts=thread_ts, file=data,
                    filename=name if name.lower().endswith(".mp4") else f"{name}.mp4", title=video.name or video.id,
                )
            except SlackApiError as exc:
                if exc.response.get("error") == "missing_scope":
                    log.info("no files:write scope; keeping the Watch link only")
                    return sorted(done)
                log.warning("inline clip upload failed: %s", exc.response.get("error"))
                continue
            done.add(video.id)
        return sorted(done)

    async def _fetch(self, video: VideoData) -> bytes | None:
        assert video.download_url is not None
        try:
            timeout = aiohttp.ClientTimeout(total=120)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(video.download_url) as response:
                    if response.status != 200:
                        log.warning("clip download answered %s", response.status)
                        return None
                    data = bytearray()
                    async for chunk in response.content.iter_chunked(256 * 1024):
                        data.extend(chunk)
                        if len(data) > self._max_bytes:
                            return None
                    return bytes(data)
        except aiohttp.ClientError as exc:
            log.warning("clip download failed: %s", exc)
            return None

"""Downloads a video someone attached to a mention, with the bot token.

Slack's `url_private_download` needs `Authorization: Bearer xoxb-…` and the
files:read scope. Without the scope Slack does not say 403: it answers 200 with
its HTML sign-in page, so the Content-Type is checked before anything is kept.
The body is streamed to disk with a size cap. The token is only ever sent to
Slack's own hosts (or the configured SLACK_API_URL's origin, e.g. a loopback fake):
an event's file entry can point elsewhere (external or remote files), and a bot
token must never reach a third party.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
from yarl import URL

from core.errors import NotAVideo, PermissionDenied, TooLarge
from core.messages import Attachment

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
VIDEO_TYPES = ("video/",)
GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})


def looks_like_video(attachment: Attachment, content_type: str) -> bool:
    declared = (attachment.mimetype or "").lower()
    if declared.startswith(VIDEO_TYPES):
        return content_type.startswith(VIDEO_TYPES) or content_type in GENERIC_TYPES
    return content_type.startswith(VIDEO_TYPES)


SLACK_DOMAIN = "slack.com"


def is_slack_file_host(url: URL, api_url: URL) -> bool:
    """True for https://*.slack.com (and the API's own domain), or the API's exact origin."""
    if url.origin() == api_url.origin():
        return True
    host = (url.host or "").lower()
    domains = {SLACK_DOMAIN, (api_url.host or "").lower()}
    return url.scheme == "https" and any(host == d or host.endswith("." + d) for d in domains if d)


class SlackFileFetcher:
    """The core's attachment fetcher for Slack (`register_fetcher("slack", fetcher)`)."""

    def __init__(self, bot_token: str, api_url: str = "https://slack.com/api/", timeout_s: float = 600.0) -> None:
        self._token = bot_token
        self._api_url = URL(api_url)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_read=60)

    async def __call__(self, attachment: Attachment, dest: Path, max_bytes: int) -> Path:
        if not attachment.url:
            raise NotAVideo(f"I can't download {attachment.name!r}: Slack gave no download link.")
        if not is_slack_file_host(URL(attachment.url), self._api_url):
            log.warning("not sending the bot token to %s (not a Slack file host)", URL(attachment.url).host)
            raise NotAVideo(f"I can't download {attachment.name!r}: it is stored outside Slack.")
        if attachment.size is not None and attachment.size > max_bytes:
            raise TooLarge(f"{attachment.name!r} is larger than the {max_bytes // (1024 * 1024)} MB limit.")
        headers = {"Authorization": f"Bearer {self._token}"}
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            async with session.get(attachment.url, headers=headers) as response:
                content_type = response.content_type.lower()
                if content_type == "text/html":
                    raise PermissionDenied(
                        "Slack would not let me download the file: the app needs the files:read scope "
                        "(add it under OAuth & Permissions and reinstall the app)."
                    )
                if response.status != 200:
                    raise PermissionDenied(f"Slack refused the download of {attachment.name!r} "
                                           f"(HTTP {response.status}).")
                if not looks_like_video(attachment, content_type):
                    raise NotAVideo(f"{attachment.name!r} is not a video ({content_type or 'unknown type'}).")
                return await self._save(response, dest, max_bytes, attachment.name)

    @staticmethod
    async def _save(response: aiohttp.ClientResponse, dest: Path, max_bytes: int, name: str) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        try:
            with dest.open("wb") as out:
                async for chunk in response.content.iter_chunked(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"{name!r} is larger than the {max_bytes // (1024 * 1024)} MB limit.")
                    await asyncio.to_thread(out.write, chunk)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        log.info("downloaded a Slack attachment (%d bytes)", size)
        return dest

"""Downloading files: a person's attachment at once (CDN links expire), and clips to attach.

Size is checked twice: against what Discord says the file weighs, and while
streaming (a server may lie or send no length). Only videos are accepted as
uploads.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from pathlib import Path

import aiohttp

from core.errors import InputError, NotAVideo, TooLarge
from core.messages import Attachment

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpeg", ".mpg")
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60)


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._")
    return cleaned[-100:] or "video"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


async def download(url: str, dest: Path, max_bytes: int, *, name: str = "the file") -> Path:
    """Stream `url` to `dest`, refusing more than `max_bytes`; removes a partial file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.get(url) as response:
            if response.status != 200:
                raise InputError(f"I couldn't download {name} (HTTP {response.status}); please send it again.")
            if response.content_length is not None and response.content_length > max_bytes:
                raise TooLarge(f"{name} is {_mb(response.content_length)}; the limit is {_mb(max_bytes)}.")
            with dest.open("wb") as out:
                async for chunk in response.content.iter_chunked(CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise TooLarge(f"{name} is over the {_mb(max_bytes)} limit.")
                    out.write(chunk)
    except aiohttp.ClientError as exc:
        dest.unlink(missing_ok=True)
        raise InputError(f"I couldn't download {name}; please send it again.") from exc
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def check_video(name: str, content_type: str | None, size: int | None, max_bytes: int) -> None:
    """Refuse what is not a video, or too big, before downloading anything."""
    is_video = (content_type or "").startswith("video/") or (
        not content_type and name.lower().endswith(VIDEO_SUFFIXES))
    if not is_video:
        raise NotAVideo(f"{name} is not a video ({content_type or 'unknown type'}); attach an MP4, MOV, MKV or WebM.")
    if size is not None and size > max_bytes:
        raise TooLarge(f"{name} is {_mb(size)}; the limit is {_mb(max_bytes)}.")


async def stage_attachment(attachment: Attachment, staging_dir: Path, max_bytes: int) -> Attachment:
    """Check and download a slash-command attachment now; the core uploads the local copy."""
    check_video(attachment.name, attachment.mimetype, attachment.size, max_bytes)
    if not attachment.url:
        raise InputError(f"I no longer have {attachment.name}; please attach it again.")
    dest = staging_dir / f"{uuid.uuid4().hex}-{safe_name(attachment.name)}"
    await download(attachment.url, dest, max_bytes, name=attachment.name)
    log.info("staged attachment", extra={"bytes": dest.stat().st_size})
    return attachment.model_copy(update={"local_path": str(dest)})


async def fetch_attachment(attachment: Attachment, dest: Path, max_bytes: int) -> Path:
    """The core's fetcher: the staged copy if it is still there, else the CDN link (may have expired)."""
    if attachment.local_path and Path(attachment.local_path).exists():
        return Path(attachment.local_path)
    if not attachment.url:
        raise InputError(f"I no longer have {attachment.name}; please attach it again.")
    check_video(attachment.name, attachment.mimetype, attachment.size, max_bytes)
    return await download(attachment.url, dest, max_bytes, name=attachment.name)


def clean_staging(staging_dir: Path, max_age_s: float = 24 * 3600) -> int:
    """Remove staged files older than a day: a turn deletes its own when it ends, so these
    are what a process killed mid-download left behind."""
    removed = 0
    if not staging_dir.exists():
        return 0
    cutoff = time.time() - max_age_s
    for path in staging_dir.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed

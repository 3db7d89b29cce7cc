"""Turn what a person called a video ("the latest", "keynote", an id) into a VideoInfo.

Everything is looked up through `session.collection`, so an id from another
channel's collection is simply not found: the backend refuses it, and no title in
this collection matches it.
"""

from __future__ import annotations

import difflib

from core.errors import InputError, UnknownVideo
from core.session import Session
from core.video.backend import VideoInfo

LAST_VIDEO_KEY = "last_video_id"
"""Session memory: the video the last agent worked on, for "it" / "that video"."""

VIDEO_DESCRIPTION = "Video id or title (or part of it), or \"latest\"."
"""The description every `video` parameter shares, so the model learns one convention."""

_LATEST = {
    "latest", "last", "newest", "most recent", "recent", "last one", "latest one", "newest one",
    "latest video", "last video", "newest video", "most recent video",
    "last upload", "latest upload", "last uploaded", "latest uploaded", "last uploaded video",
}
_REFERENCE = {"it", "this", "that", "this one", "that one", "this video", "that video", "same video", "video"}
_TITLE_SCAN_LIMIT = 500


class AmbiguousVideo(InputError):
    """More than one video matches; the message lists them so the person can choose."""


async def resolve_video(session: Session, video: str) -> VideoInfo:
    """The video `video` names in this session's collection; remembers it for "it"."""
    info = await _resolve(session, video)
    session.memory[LAST_VIDEO_KEY] = info.id
    return info


async def _resolve(session: Session, video: str) -> VideoInfo:
    scope = session.collection
    wanted = video.strip().strip("'\"`").strip()
    if not wanted:
        raise InputError("Say which video: an id, its title, or \"the latest\".")
    norm = _normalise(wanted)
    if norm in _REFERENCE:
        remembered = session.memory.get(LAST_VIDEO_KEY)
        if isinstance(remembered, str):
            try:
                return await scope.get_video(remembered)
            except UnknownVideo:
                pass
        return await _latest(session)
    if norm in _LATEST:
        return await _latest(session)
    try:
        return await scope.get_video(wanted)
    except UnknownVideo:
        pass
    videos = await scope.list_videos(limit=_TITLE_SCAN_LIMIT)
    if not videos:
        raise _unknown(wanted, videos)
    for matcher in (_exact, _contains):
        matches = matcher(norm, videos)
        if len(matches) == 1:
            return matches[0]
        if matches:
            if matcher is _exact:
                return matches[0]  # same title twice: the most recent one
            raise _ambiguous(wanted, matches)
    found = await scope.find_videos(wanted, limit=5)
    if len(found) == 1:
        return found[0]
    if found:
        raise _ambiguous(wanted, found)
    raise _unknown(wanted, videos)


async def _latest(session: Session) -> VideoInfo:
    recent = await session.collection.list_videos(limit=1)
    if not recent:
        raise InputError("This channel has no videos yet. Upload one first.")
    return recent[0]


def _normalise(text: str) -> str:
    norm = " ".join(text.lower().split())
    return norm[4:] if norm.startswith("the ") else norm


def _stem(name: str) -> str:
    lowered = " ".join(name.lower().split())
    head, dot, ext = lowered.rpartition(".")
    return head if dot and 1 <= len(ext) <= 4 and ext.isalnum() else lowered


def _exact(norm: str, videos: list[VideoInfo]) -> list[VideoInfo]:
    return [v for v in videos if norm in (" ".join(v.name.lower().split()), _stem(v.name))]


def _contains(norm: str, videos: list[VideoInfo]) -> list[VideoInfo]:
    return [v for v in videos if norm in v.name.lower()]


def _titles(videos: list[VideoInfo]) -> str:
    return ", ".join(f"{v.name!r} (id {v.id})" for v in videos)


def _ambiguous(wanted: str, matches: list[VideoInfo]) -> AmbiguousVideo:
    shown = matches[:5]
    more = f" and {len(matches) - len(shown)} more" if len(matches) > len(shown) else ""
    return AmbiguousVideo(f"Several videos match {wanted!r}: {_titles(shown)}{more}. Which one?")


def _unknown(wanted: str, videos: list[VideoInfo]) -> UnknownVideo:
    exc = UnknownVideo(wanted)
    if videos:
        by_name = {v.name.lower(): v for v in reversed(videos)}
        close = difflib.get_close_matches(wanted.lower(), list(by_name), n=3, cutoff=0.4)
        suggestions = [by_name[name] for name in close] or videos[:3]
        label = "Close titles" if close else "Recent videos"
        exc.user_message = f"{exc.user_message} {label}: {_titles(suggestions)}."
    else:
        exc.user_message = f"{exc.user_message} This channel has no videos yet; upload one first."
    exc.args = (exc.user_message,)
    return exc

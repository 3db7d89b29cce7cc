"""Every error the core raises on purpose, in one tree.

    DirectorError                 base; `.user_message` is safe to show in a thread
    ├── InputError                the person asked for something impossible
    │   ├── UnknownVideo          no such video in this channel's collection
    │   ├── InvalidRange          start/end outside a video, or end <= start
    │   ├── UnsafeURL             URL refused (scheme, loopback/private address)
    │   ├── NotAVideo             the file is not a playable video
    │   ├── AlreadyUploaded       the same file is already in the collection (`.video`)
    │   ├── NoAudioTrack          speech work on a video without sound
    │   └── TooLarge              over MAX_UPLOAD_MB (or a platform cap)
    ├── CapabilityMissing         the backend lacks a feature (e.g. dubbing locally)
    ├── NotIndexed                spoken words not indexed yet (index, then retry)
    ├── BackendError              the video backend failed (VideoDB, ffmpeg)
    ├── LLMError                  the language model failed after retries
    │   └── LLMTimeout
    ├── RateLimited               a platform said 429; `.retry_after` seconds
    └── PermissionDenied          the person may not do this here (admin-only, channel not allowed)
"""

from __future__ import annotations


class DirectorError(Exception):
    """Base class; `user_message` never contains secrets or internals."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class InputError(DirectorError):
    pass


class UnknownVideo(InputError):
    def __init__(self, video: str) -> None:
        super().__init__(f"I can't find a video called {video!r} in this channel's collection.")
        self.video = video


class InvalidRange(InputError):
    pass


class UnsafeURL(InputError):
    pass


class NotAVideo(InputError):
    pass


class NoAudioTrack(InputError):
    pass


class AlreadyUploaded(InputError):
    """The bytes are already in this collection; `.video` is the existing video (a VideoInfo)."""

    def __init__(self, user_message: str, video: object) -> None:
        super().__init__(user_message)
        self.video = video


class TooLarge(InputError):
    pass


class CapabilityMissing(DirectorError):
    def __init__(self, capability: str, backend: str) -> None:
        super().__init__(
            f"The {backend} video backend can't do {capability}. "
            "Set VIDEO_DB_API_KEY to use VideoDB, which can."
        )
        self.capability = capability
        self.backend = backend


class NotIndexed(DirectorError):
    pass


class BackendError(DirectorError):
    pass


class LLMError(DirectorError):
    pass


class LLMTimeout(LLMError):
    pass


class RateLimited(DirectorError):
    def __init__(self, retry_after: float, user_message: str = "Rate limited") -> None:
        super().__init__(user_message)
        self.retry_after = retry_after


class PermissionDenied(DirectorError):
    pass

"""The VideoDB video backend: the real videodb SDK, run off the event loop."""

from core.video.videodb.backend import VideoDBBackend

__all__ = ["VideoDBBackend"]

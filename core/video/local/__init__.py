"""The local video backend: ffmpeg, faster-whisper, BM25 and a small media server.

The default on a fresh machine with no account; see docs/local-backend.md.
"""

from core.video.local.backend import LocalBackend, WatchItem
from core.video.local.media_server import MediaServer, create_media_app
from core.video.local.sample import DEFAULT_TALK, make_sample_talk

__all__ = ["DEFAULT_TALK", "LocalBackend", "MediaServer", "WatchItem", "create_media_app", "make_sample_talk"]

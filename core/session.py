"""The Session an agent works in: one thread, bound to its channel's collection.

`CollectionScope` is the only door from agents to a video backend. It binds the
collection id once, so no tool parameter (and so no prompt) can name another
channel's collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.incoming import ThreadKey
from core.video.backend import (
    CollectionOverview,
    ImageLink,
    ProgressFn,
    Shot,
    ShotRef,
    StreamLink,
    TranscriptSegment,
    UploadSource,
    VideoBackend,
    VideoInfo,
    no_progress,
)


class CollectionScope:
    """A video backend with one collection bound; what agents see."""

    def __init__(self, backend: VideoBackend, collection_id: str) -> None:
        self._backend = backend
        self._collection_id = collection_id

    @property
    def backend_name(self) -> str:
        return self._backend.name

    @property
    def backend(self) -> VideoBackend:
        """For capability checks only; calls go through this scope."""
        return self._backend

    async def overview(self, recent: int = 20) -> CollectionOverview:
        total = await self._backend.count_videos(self._collection_id)
        videos = await self._backend.list_videos(self._collection_id, limit=recent)
        return CollectionOverview(total=total, recent=videos)

    async def list_videos(self, limit: int | None = None) -> list[VideoInfo]:
        return await self._backend.list_videos(self._collection_id, limit=limit)

    async def count_videos(self) -> int:
        return await self._backend.count_videos(self._collection_id)

    async def find_videos(self, query: str, limit: int = 10) -> list[VideoInfo]:
        return await self._backend.find_videos(self._collection_id, query, limit)

    async def get_video(self, video_id: str) -> VideoInfo:
        return await self._backend.get_video(self._collection_id, video_id)

    async def upload(self, source: UploadSource, name: str | None = None,
                     progress: ProgressFn = no_progress) -> VideoInfo:
        return await self._backend.upload(self._collection_id, source, name, progress)

    async def delete_video(self, video_id: str) -> None:
        await self._backend.delete_video(self._collection_id, video_id)

    async def index_spoken_words(self, video_id: str, progress: ProgressFn = no_progress) -> None:
        await self._backend.index_spoken_words(self._collection_id, video_id, progress)

    async def transcript(self, video_id: str, start: float | None = None,
                         end: float | None = None) -> list[TranscriptSegment]:
        return await self._backend.transcript(self._collection_id, video_id, start, end)

    async def search_spoken(self, query: str, video_id: str | None = None, limit: int = 10) -> list[Shot]:
        return await self._backend.search_spoken(self._collection_id, query, video_id, limit)

    async def stream(self, video_id: str, ranges: list[tuple[float, float]] | None = None,
                     progress: ProgressFn = no_progress) -> StreamLink:
        return await self._backend.stream(self._collection_id, video_id, ranges, progress)

    async def compile(self, shots: list[ShotRef], progress: ProgressFn = no_progress) -> StreamLink:
        return await self._backend.compile(self._collection_id, shots, progress)

    async def frame(self, video_id: str, at: float) -> ImageLink:
        return await self._backend.frame(self._collection_id, video_id, at)

    async def index_scenes(self, video_id: str, prompt: str | None = None,
                           progress: ProgressFn = no_progress) -> str:
        return await self._backend.index_scenes(self._collection_id, video_id, prompt, progress)

    async def search_visual(self, query: str, video_id: str | None = None, limit: int = 10) -> list[Shot]:
        return await self._backend.search_visual(self._collection_id, query, video_id, limit)

    async def add_subtitles(self, video_id: str, progress: ProgressFn = no_progress) -> StreamLink:
        return await self._backend.add_subtitles(self._collection_id, video_id, progress)

    async def dub(self, video_id: str, language_code: str, progress: ProgressFn = no_progress) -> VideoInfo:
        return await self._backend.dub(self._collection_id, video_id, language_code, progress)

    async def generate_image(self, prompt: str, aspect_ratio: str = "1:1") -> ImageLink:
        return await self._backend.generate_image(self._collection_id, prompt, aspect_ratio)

    async def generate_voice(self, text: str, voice_name: str = "Default") -> StreamLink:
        return await self._backend.generate_voice(self._collection_id, text, voice_name)

    async def generate_music(self, prompt: str, duration: float = 5) -> StreamLink:
        return await self._backend.generate_music(self._collection_id, prompt, duration)

    async def generate_video(self, prompt: str, duration: float = 5) -> VideoInfo:
        return await self._backend.generate_video(self._collection_id, prompt, duration)


@dataclass
class Session:
    """One conversation (a thread) and what its agents may reach."""

    id: str
    key: ThreadKey
    collection: CollectionScope
    created_by: str = ""
    # Results earlier turns produced that follow-ups may refer to ("clip the second hit").
    memory: dict[str, object] = field(default_factory=dict)

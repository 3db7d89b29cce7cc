"""The one async interface every video backend implements.

Every method takes the collection id first and must refuse a video that is not in
that collection (raise `UnknownVideo`): that check, plus agents reaching the backend
only through `CollectionScope` (see `core.session`), is what keeps channels apart.
Blocking work (ffmpeg, Whisper, the videodb SDK) runs off the event loop.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import CapabilityMissing

ProgressFn = Callable[[str, float | None], None]
"""Progress report: a short message and a fraction in [0, 1] (or None if unknown)."""


def no_progress(message: str, fraction: float | None = None) -> None:
    return None


class Capability(str, enum.Enum):
    spoken_index = "spoken-word indexing"
    scene_index = "scene indexing"
    visual_search = "visual search"
    subtitles = "subtitles"
    dubbing = "dubbing"
    generate_image = "image generation"
    generate_voice = "voice generation"
    generate_music = "music generation"
    generate_video = "video generation"


class VideoInfo(BaseModel):
    id: str
    collection_id: str
    name: str
    length: float | None = None
    stream_url: str | None = None
    player_url: str | None = None
    thumbnail_url: str | None = None
    download_url: str | None = None
    indexed: bool = False
    created_at: float | None = None  # unix seconds, for "recent" ordering
    notes: list[str] = Field(default_factory=list)  # what the person should know about this upload


class TranscriptSegment(BaseModel):
    start: float
    end: float
    text: str


class Shot(BaseModel):
    video_id: str
    video_title: str = ""
    start: float
    end: float
    text: str = ""
    score: float | None = None


class StreamLink(BaseModel):
    """A playable result. `start`/`end` are the real bounds of what was produced."""

    id: str
    stream_url: str
    player_url: str | None = None
    download_url: str | None = None
    thumbnail_url: str | None = None
    title: str = ""
    start: float | None = None
    end: float | None = None
    duration: float | None = None
    size_bytes: int | None = None
    local_path: str | None = None  # set by the local backend; lets adapters attach the MP4


class ImageLink(BaseModel):
    url: str
    local_path: str | None = None


class UploadSource(BaseModel):
    """Exactly one of url, path or data."""

    url: str | None = None
    path: Path | None = None
    data: bytes | None = None
    filename: str | None = None

    def describe(self) -> str:
        """The upload as the person named it: the link, or the file's own name (never a path on our disk)."""
        return self.url or self.filename or (self.path.name if self.path else "") or "attachment"


class ShotRef(BaseModel):
    video_id: str
    start: float
    end: float


class CollectionInfo(BaseModel):
    id: str
    name: str


class VideoBackend(ABC):
    """Async video operations, collection-scoped."""

    name: str = "abstract"
    capabilities: frozenset[Capability] = frozenset({Capability.spoken_index})

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise CapabilityMissing(capability.value, self.name)

    async def start(self) -> None:
        """Open connections, check binaries; called once at process start."""

    async def close(self) -> None:
        """Release resources."""

    # collections ------------------------------------------------------------------
    @abstractmethod
    async def create_collection(self, name: str, description: str = "") -> CollectionInfo: ...

    @abstractmethod
    async def get_collection(self, collection_id: str) -> CollectionInfo | None: ...

    # videos ---------------------------------------------------------------------------
    @abstractmethod
    async def list_videos(self, collection_id: str, limit: int | None = None) -> list[VideoInfo]:
        """Most recent first."""

    @abstractmethod
    async def count_videos(self, collection_id: str) -> int: ...

    @abstractmethod
    async def find_videos(self, collection_id: str, query: str, limit: int = 10) -> list[VideoInfo]:
        """Videos whose title matches the words of `query` (case-insensitive)."""

    @abstractmethod
    async def get_video(self, collection_id: str, video_id: str) -> VideoInfo:
        """Raise UnknownVideo unless `video_id` is in this collection."""

    @abstractmethod
    async def upload(
        self,
        collection_id: str,
        source: UploadSource,
        name: str | None = None,
        progress: ProgressFn = no_progress,
    ) -> VideoInfo: ...

    @abstractmethod
    async def delete_video(self, collection_id: str, video_id: str) -> None: ...

    # spoken words -------------------------------------------------------------------
    @abstractmethod
    async def index_spoken_words(
        self, collection_id: str, video_id: str, progress: ProgressFn = no_progress
    ) -> None: ...

    @abstractmethod
    async def transcript(
        self, collection_id: str, video_id: str, start: float | None = None, end: float | None = None
    ) -> list[TranscriptSegment]:
        """Raise NotIndexed if the video has no transcript yet."""

    @abstractmethod
    async def search_spoken(
        self, collection_id: str, query: str, video_id: str | None = None, limit: int = 10
    ) -> list[Shot]:
        """Best first. Raise NotIndexed if nothing searchable is indexed."""

    # streams --------------------------------------------------------------------------
    @abstractmethod
    async def stream(
        self, collection_id: str, video_id: str, ranges: list[tuple[float, float]] | None = None,
        progress: ProgressFn = no_progress,
    ) -> StreamLink:
        """A stream of the whole video (no ranges) or of the given ranges in order."""

    @abstractmethod
    async def compile(
        self, collection_id: str, shots: list[ShotRef], progress: ProgressFn = no_progress
    ) -> StreamLink:
        """One stream of shots across videos, in the order given."""

    @abstractmethod
    async def frame(self, collection_id: str, video_id: str, at: float) -> ImageLink: ...

    # capabilities only some backends have -----------------------------------------------
    async def index_scenes(self, collection_id: str, video_id: str, prompt: str | None = None,
                           progress: ProgressFn = no_progress) -> str:
        raise CapabilityMissing(Capability.scene_index.value, self.name)

    async def search_visual(self, collection_id: str, query: str, video_id: str | None = None,
                            limit: int = 10) -> list[Shot]:
        raise CapabilityMissing(Capability.visual_search.value, self.name)

    async def add_subtitles(self, collection_id: str, video_id: str,
                            progress: ProgressFn = no_progress) -> StreamLink:
        raise CapabilityMissing(Capability.subtitles.value, self.name)

    async def dub(self, collection_id: str, video_id: str, language_code: str,
                  progress: ProgressFn = no_progress) -> VideoInfo:
        raise CapabilityMissing(Capability.dubbing.value, self.name)

    async def generate_image(self, collection_id: str, prompt: str, aspect_ratio: str = "1:1") -> ImageLink:
        raise CapabilityMissing(Capability.generate_image.value, self.name)

    async def generate_voice(self, collection_id: str, text: str, voice_name: str = "Default") -> StreamLink:
        raise CapabilityMissing(Capability.generate_voice.value, self.name)

    async def generate_music(self, collection_id: str, prompt: str, duration: float = 5) -> StreamLink:
        raise CapabilityMissing(Capability.generate_music.value, self.name)

    async def generate_video(self, collection_id: str, prompt: str, duration: float = 5) -> VideoInfo:
        raise CapabilityMissing(Capability.generate_video.value, self.name)


class CollectionOverview(BaseModel):
    """What the first prompt says about a channel's collection (bounded)."""

    total: int
    recent: list[VideoInfo] = Field(default_factory=list)

"""VideoDB behind our async `VideoBackend`, using the real (blocking) videodb SDK.

Every SDK call runs in a worker thread with its own Connection (see `pool`), and
`_call` wraps it in our retry policy (see `retry`; tenacity runs it): reads are retried,
writes only when trying again cannot do them twice. Each operation fetches its
Collection with `conn.get_collection(id)` inside the worker and passes it along
explicitly: we never rely on the Connection's shared `collection_id`, never use
`conn.upload`, and never call `.play()` (it opens a browser).

Spoken-word search uses the legacy route on purpose: a bare `search(q)` now goes
to Search V2, which does not see `index_spoken_words` indexes.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from videodb.audio import Audio
from videodb.client import Connection
from videodb.collection import Collection
from videodb.exceptions import AuthenticationError, InvalidRequestError, VideodbError
from videodb.image import Image
from videodb.search import SearchResult
from videodb.video import Video

from core.errors import BackendError, InputError, InvalidRange, NotIndexed, UnknownVideo, UnsafeURL
from core.video.backend import (
    Capability,
    CollectionInfo,
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
from core.video.videodb import mapping
from core.video.videodb.pool import CallFailed, ConnectionPool
from core.video.videodb.retry import (
    Effect,
    backoff_delay,
    is_already_indexed,
    is_not_found,
    is_not_indexed,
    may_retry,
    status_of,
    to_backend_error,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
SPOKEN = {"search_type": "semantic", "index_type": "spoken_word"}
SCENE = {"search_type": "semantic", "index_type": "scene"}
NOTHING_INDEXED = (
    "Nothing in this channel's collection has its spoken words indexed yet, so there is "
    "nothing to search. Ask me to index a video first, then search again."
)


class VideoDBBackend(VideoBackend):
    """VideoDB: hosted storage, indexing, search, HLS streams and generation."""

    name = "videodb"
    capabilities = frozenset(Capability)

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.videodb.io",
        *,
        max_workers: int = 4,
        max_retries: int = 4,
        poll_interval: float | None = None,
        retry_base_delay: float = 1.0,
    ) -> None:
        if not api_key:
            raise BackendError("VideoDB needs an API key: set VIDEO_DB_API_KEY.")
        self._secret = api_key
        self._pool = ConnectionPool(api_key, base_url, max_workers, poll_interval)
        self._max_retries = max_retries
        self._retry_base_delay = retry_base_delay
        self._job_poll_s = poll_interval if poll_interval is not None else 5.0

    def __repr__(self) -> str:  # never shows the key
        return f"VideoDBBackend(workers={self._pool!r})"

    async def close(self) -> None:
        self._pool.close()

    # the one door to the SDK ---------------------------------------------------------------
    async def _call(self, label: str, fn: Callable[[Connection], T], progress: ProgressFn | None = None,
                    message: str | None = None, *, effect: Effect = Effect.read,
                    find: Callable[[], Awaitable[T | None]] | None = None) -> T:
        """Run `fn` in a worker, retry what is safe to retry, map SDK errors to ours.

        `label` names the operation in logs; `message` (default: the label) goes with the
        poll percentages sent to `progress`. A write that may have reached VideoDB is tried
        again only with `find`, which first looks for its result and returns it if it is there.
        """
        look_first = False

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, CallFailed) and may_retry(exc.error, effect, exc.may_have_written,
                                                             find is not None)

        retrying = AsyncRetrying(stop=stop_after_attempt(self._max_retries + 1), wait=self._backoff,
                                 retry=retry_if_exception(retryable), before_sleep=self._log_retry(label),
                                 reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    if look_first and find is not None:
                        found = await find()
                        if found is not None:
                            log.info("VideoDB %s: done after all (its answer was lost); not repeated", label)
                            return found
                    try:
                        return await self._pool.run(fn, progress, message or label)
                    except CallFailed as failed:
                        look_first = look_first or failed.may_have_written
                        raise
        except CallFailed as failed:
            exc = failed.error
            maybe_done = effect is Effect.write and failed.may_have_written and find is None
            error = to_backend_error(exc, self._secret, retrying.statistics.get("attempt_number", 1), maybe_done)
            log.warning("VideoDB %s failed: %s", label, error.user_message)
            raise error from (None if isinstance(exc, AuthenticationError) else exc)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def _backoff(self, state: RetryCallState) -> float:
        failed = state.outcome.exception() if state.outcome else None
        error = failed.error if isinstance(failed, CallFailed) else failed
        return backoff_delay(error or Exception(), state.attempt_number - 1, self._retry_base_delay)

    def _log_retry(self, label: str) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            failed = state.outcome.exception() if state.outcome else None
            error = failed.error if isinstance(failed, CallFailed) else failed
            log.warning("VideoDB %s: HTTP %s, retry %d/%d in %.2fs", label,
                        (status_of(error) if error else None) or "error", state.attempt_number, self._max_retries,
                        state.upcoming_sleep)
        return before_sleep

    def _report(self, message: str, fraction: float | None = None) -> None:
        """From a worker: progress of the call running in this thread."""
        self._pool.report(message, fraction)

    # collections -----------------------------------------------------------------------------
    async def create_collection(self, name: str, description: str = "") -> CollectionInfo:
        def ids(conn: Connection) -> set[str]:
            return {coll.id for coll in conn.get_collections()}

        def work(conn: Connection) -> CollectionInfo:
            coll = conn.create_collection(name=name, description=description)
            return CollectionInfo(id=coll.id, name=coll.name or name)

        before = await self._call("list collections", ids)

        async def find() -> CollectionInfo | None:
            """A collection of this name made since (the name carries the channel's key)."""
            def look(conn: Connection) -> list[CollectionInfo]:
                return [CollectionInfo(id=coll.id, name=coll.name or name) for coll in conn.get_collections()
                        if coll.id not in before and coll.name == name]
            made = await self._call("look for the new collection", look)
            return made[0] if made else None

        return await self._call("create collection", work, effect=Effect.write, find=find)

    async def get_collection(self, collection_id: str) -> CollectionInfo | None:
        def work(conn: Connection) -> CollectionInfo | None:
            try:
                coll = conn.get_collection(collection_id)
            except InvalidRequestError as exc:
                if is_not_found(exc):
                    return None
                raise
            return CollectionInfo(id=coll.id, name=coll.name or coll.id)

        return await self._call("get collection", work)

    # videos ------------------------------------------------------------------------------------
    async def list_videos(self, collection_id: str, limit: int | None = None) -> list[VideoInfo]:
        def work(conn: Connection) -> list[VideoInfo]:
            coll = conn.get_collection(collection_id)
            # The raw listing keeps created_at, which the SDK's Video objects drop.
            data = conn.get(path="video", params={"collection_id": coll.id}) or {}
            return [mapping.video_info(v) for v in data.get("videos") or []]

        videos = mapping.most_recent_first(await self._call("list videos", work))
        return videos[:limit] if limit is not None else videos

    async def count_videos(self, collection_id: str) -> int:
        return len(await self.list_videos(collection_id))

    async def find_videos(self, collection_id: str, query: str, limit: int = 10) -> list[VideoInfo]:
        return mapping.title_matches(await self.list_videos(collection_id), query, limit)

    async def get_video(self, collection_id: str, video_id: str) -> VideoInfo:
        return mapping.video_info(await self._call("get video", lambda conn: _video(conn, collection_id, video_id)))

    async def delete_video(self, collection_id: str, video_id: str) -> None:
        def work(conn: Connection) -> None:
            coll = conn.get_collection(collection_id)
            _find(coll, video_id)
            coll.delete_video(video_id)

        await self._call("delete video", work, effect=Effect.write)

    async def upload(self, collection_id: str, source: UploadSource, name: str | None = None,
                     progress: ProgressFn = no_progress) -> VideoInfo:
        _check_source(source)
        label = f"uploading {name or _describe(source)}…"

        def work(conn: Connection) -> VideoInfo:
            coll = conn.get_collection(collection_id)
            if source.url:
                return mapping.video_info(_as_video(coll.upload(url=source.url, name=name)))
            if source.path is not None:
                return mapping.video_info(_upload_file(coll, Path(source.path), name))
            return mapping.video_info(_upload_bytes(coll, source.data or b"", source.filename, name))

        before = {video.id for video in await self.list_videos(collection_id)}

        async def find() -> VideoInfo | None:
            """The one video that appeared since (with our name, if we gave one)."""
            new = [video for video in await self.list_videos(collection_id)
                   if video.id not in before and (name is None or video.name == name)]
            return new[0] if len(new) == 1 else None

        progress(label, 0.0)
        video = await self._call("upload", work, progress, message=label, effect=Effect.write, find=find)
        progress("uploaded to VideoDB", 1.0)
        return video

    # spoken words ------------------------------------------------------------------------------
    async def index_spoken_words(self, collection_id: str, video_id: str,
                                 progress: ProgressFn = no_progress) -> None:
        def work(conn: Connection) -> None:
            _index_spoken(_video(conn, collection_id, video_id))

        progress("indexing spoken words…", 0.0)
        await self._call("indexing spoken words…", work, progress)
        progress("spoken words indexed", 1.0)

    async def transcript(self, collection_id: str, video_id: str, start: float | None = None,
                         end: float | None = None) -> list[TranscriptSegment]:
        if (start is not None and start < 0) or (start is not None and end is not None and end <= start):
            raise InvalidRange("A transcript window needs 0 <= start < end.")

        def work(conn: Connection) -> list[dict[str, Any]]:
            video = _video(conn, collection_id, video_id)
            fetch = lambda: video.get_transcript(start=start, end=end, segmenter="sentence")  # noqa: E731
            return self._indexed_then(video, fetch, f"{video.name or video_id} has no transcript yet.")

        words = await self._call("transcript", work)
        return [TranscriptSegment(start=float(w["start"]), end=float(w["end"]), text=str(w.get("text") or ""))
                for w in words or [] if str(w.get("text") or "").strip()]

    async def search_spoken(self, collection_id: str, query: str, video_id: str | None = None,
                            limit: int = 10) -> list[Shot]:
        def work(conn: Connection) -> SearchResult:
            if video_id is not None:
                video = _video(conn, collection_id, video_id)
                search = lambda: video.search(query, result_threshold=limit, **SPOKEN)  # noqa: E731
                return self._indexed_then(video, search, f"{video.name or video_id} is not indexed yet.")
            coll = conn.get_collection(collection_id)
            try:
                return coll.search(query, result_threshold=limit, **SPOKEN)
            except InvalidRequestError as exc:
                if is_not_indexed(exc):
                    raise NotIndexed(NOTHING_INDEXED) from None
                raise

        return mapping.shots(await self._call("spoken-word search", work), limit)

    def _indexed_then(self, video: Video, fn: Callable[[], T], still_missing: str) -> T:
        """Run `fn`; if VideoDB says "not indexed", index the spoken words and run it again."""
        try:
            return fn()
        except InvalidRequestError as exc:
            if not is_not_indexed(exc):
                raise
        log.info("VideoDB video %s not indexed yet: indexing spoken words first", video.id)
        self._report("indexing spoken words…", None)
        _index_spoken(video)
        try:
            return fn()
        except InvalidRequestError as exc:
            if is_not_indexed(exc):
                raise NotIndexed(still_missing) from None
            raise

    # streams ---------------------------------------------------------------------------------------
    async def stream(self, collection_id: str, video_id: str, ranges: list[tuple[float, float]] | None = None,
                     progress: ProgressFn = no_progress) -> StreamLink:
        def work(conn: Connection) -> StreamLink:
            video = _video(conn, collection_id, video_id)
            title = video.name or video.id
            if not ranges:
                url = video.stream_url or video.generate_stream()
                return mapping.stream_link(url, video.player_url, title=title, length=video.length or None)
            mapping.check_ranges(ranges, video.length or None, title)
            url = video.generate_stream([(float(s), float(e)) for s, e in ranges])
            return mapping.stream_link(url, video.player_url, title=title, ranges=list(ranges))

        return await self._call("stream", work, progress)

    async def compile(self, collection_id: str, shots: list[ShotRef],
                      progress: ProgressFn = no_progress) -> StreamLink:
        if not shots:
            raise InputError("There are no shots to put together.")

        def work(conn: Connection) -> StreamLink:
            coll = conn.get_collection(collection_id)
            videos: dict[str, Video] = {}
            for shot in shots:
                if shot.video_id not in videos:
                    videos[shot.video_id] = _find(coll, shot.video_id)
                video = videos[shot.video_id]
                mapping.check_ranges([(shot.start, shot.end)], video.length or None, video.name or video.id)
            result = SearchResult(conn, results=[_compile_entry(collection_id, videos[s.video_id], s) for s in shots],
                                  _emit_warnings=False)
            url = result.compile()
            link = mapping.stream_link(url, result.player_url, title=f"{len(shots)} shots")
            return link.model_copy(update={"start": None, "end": None,
                                           "duration": sum(s.end - s.start for s in shots)})

        progress("compiling shots…", None)
        return await self._call("compile", work, progress)

    async def frame(self, collection_id: str, video_id: str, at: float) -> ImageLink:
        def work(conn: Connection) -> ImageLink:
            video = _video(conn, collection_id, video_id)
            mapping.check_time(at, video.length or None, video.name or video.id)
            thumb = video.generate_thumbnail(time=at)
            return ImageLink(url=_image_url(thumb))

        return await self._call("frame", work)

    # capabilities ----------------------------------------------------------------------------------
    async def index_scenes(self, collection_id: str, video_id: str, prompt: str | None = None,
                           progress: ProgressFn = no_progress) -> str:
        def work(conn: Connection) -> str:
            scene_index_id = _video(conn, collection_id, video_id).index_scenes(prompt=prompt)
            if not scene_index_id:
                raise BackendError("VideoDB did not return a scene index id.")
            return str(scene_index_id)

        progress("indexing scenes…", 0.0)
        scene_index_id = await self._call("indexing scenes…", work, progress, effect=Effect.write)
        progress("scenes indexed", 1.0)
        return scene_index_id

    async def search_visual(self, collection_id: str, query: str, video_id: str | None = None,
                            limit: int = 10) -> list[Shot]:
        def work(conn: Connection) -> SearchResult:
            target: Video | Collection = (_video(conn, collection_id, video_id) if video_id is not None
                                          else conn.get_collection(collection_id))
            try:
                return target.search(query, result_threshold=limit, **SCENE)
            except InvalidRequestError as exc:
                if is_not_indexed(exc):
                    raise NotIndexed("No scenes are indexed yet. Ask me to index the video's scenes first.") from None
                raise

        return mapping.shots(await self._call("visual search", work), limit)

    async def add_subtitles(self, collection_id: str, video_id: str,
                            progress: ProgressFn = no_progress) -> StreamLink:
        def work(conn: Connection) -> StreamLink:
            video = _video(conn, collection_id, video_id)
            url = video.add_subtitle()
            return mapping.stream_link(url, None, title=f"{video.name or video.id} (subtitled)",
                                       length=video.length or None)

        progress("adding subtitles…", None)
        return await self._call("adding subtitles…", work, progress, effect=Effect.write)

    async def dub(self, collection_id: str, video_id: str, language_code: str,
                  progress: ProgressFn = no_progress) -> VideoInfo:
        def work(conn: Connection) -> Video:
            coll = conn.get_collection(collection_id)
            _find(coll, video_id)
            return _as_video(coll.dub_video(video_id=video_id, language_code=language_code))

        progress(f"dubbing into {language_code}…", 0.0)
        video = await self._call(f"dubbing into {language_code}…", work, progress, effect=Effect.write)
        progress("dubbed", 1.0)
        return mapping.video_info(video)

    async def generate_image(self, collection_id: str, prompt: str, aspect_ratio: str = "1:1") -> ImageLink:
        def work(conn: Connection) -> ImageLink:
            coll = conn.get_collection(collection_id)
            image = coll.generate_image(prompt=prompt, aspect_ratio=aspect_ratio,  # type: ignore[arg-type]
                                        wait=True, poll_interval=self._job_poll_s)
            return ImageLink(url=_image_url(image))

        return await self._call("generate image", work, effect=Effect.write)

    async def generate_voice(self, collection_id: str, text: str, voice_name: str = "Default") -> StreamLink:
        def work(conn: Connection) -> StreamLink:
            coll = conn.get_collection(collection_id)
            audio = coll.generate_voice(text=text, voice_name=voice_name, wait=True, poll_interval=self._job_poll_s)
            return _audio_link(audio, "voice")

        return await self._call("generate voice", work, effect=Effect.write)

    async def generate_music(self, collection_id: str, prompt: str, duration: float = 5) -> StreamLink:
        def work(conn: Connection) -> StreamLink:
            coll = conn.get_collection(collection_id)
            return _audio_link(coll.generate_music(prompt=prompt, duration=max(1, round(duration))), "music")

        return await self._call("generate music", work, effect=Effect.write)

    async def generate_video(self, collection_id: str, prompt: str, duration: float = 5) -> VideoInfo:
        seconds = round(duration)
        if not 5 <= seconds <= 8:
            raise InputError("VideoDB generates videos of 5 to 8 seconds.")

        def work(conn: Connection) -> Video:
            coll = conn.get_collection(collection_id)
            return _as_video(coll.generate_video(prompt=prompt, duration=seconds))

        return mapping.video_info(await self._call("generate video", work, effect=Effect.write))


# worker-side helpers (they run in a pool thread) ---------------------------------------------------
def _video(conn: Connection, collection_id: str, video_id: str) -> Video:
    return _find(conn.get_collection(collection_id), video_id)


def _find(coll: Collection, video_id: str) -> Video:
    """The video, only if it is in `coll` (else UnknownVideo: this is tenant isolation)."""
    try:
        video = coll.get_video(video_id)
    except InvalidRequestError as exc:
        if is_not_found(exc):
            raise UnknownVideo(video_id) from None
        raise
    if video.collection_id != coll.id:
        raise UnknownVideo(video_id)
    return video


def _index_spoken(video: Video) -> None:
    try:
        video.index_spoken_words()
    except InvalidRequestError as exc:
        if not is_already_indexed(exc):
            raise


def _as_video(result: Any) -> Video:
    if not isinstance(result, Video):
        raise BackendError("VideoDB did not return a video for that request.")
    return result


def _check_source(source: UploadSource) -> None:
    given = [x for x in (source.url, source.path, source.data) if x is not None]
    if len(given) != 1:
        raise InputError("Give exactly one of a link, a file or an attachment to upload.")
    if source.url is not None:
        parts = urlsplit(source.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UnsafeURL("I can only upload from http:// or https:// links.")


def _describe(source: UploadSource) -> str:
    """A short name for progress and logs: never a full URL (it may carry a signature)."""
    if source.url:
        parts = urlsplit(source.url)
        return Path(parts.path).name or parts.netloc
    if source.path is not None:
        return Path(source.path).name
    return Path(source.filename or "attachment").name


def _upload_file(coll: Collection, path: Path, name: str | None) -> Video:
    if not path.is_file():
        raise InputError(f"I can't read the file {path.name}.")
    return _as_video(coll.upload(file_path=str(path), name=name or path.stem))


def _upload_bytes(coll: Collection, data: bytes, filename: str | None, name: str | None) -> Video:
    safe = Path(filename or "upload.mp4").name or "upload.mp4"
    with tempfile.TemporaryDirectory(prefix="videodb-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        return _upload_file(coll, path, name)


def _compile_entry(collection_id: str, video: Video, shot: ShotRef) -> dict[str, Any]:
    return {"video_id": video.id, "collection_id": collection_id, "length": video.length,
            "title": video.name, "docs": [{"start": shot.start, "end": shot.end}]}


def _image_url(image: Any) -> str:
    if isinstance(image, str) and image:
        return image
    if isinstance(image, Image):
        url = image.url or image.generate_url()
        if url:
            return str(url)
    raise BackendError("VideoDB did not return an image.")


def _audio_link(audio: Any, title: str) -> StreamLink:
    if not isinstance(audio, Audio):
        raise BackendError(f"VideoDB did not return the generated {title}.")
    url = audio.generate_url()
    if not url:
        raise BackendError(f"VideoDB did not return a link to the generated {title}.")
    return StreamLink(id=audio.id, stream_url=url, title=audio.name or title, duration=audio.length or None)

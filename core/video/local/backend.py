"""The local video backend: real video work on one machine, with no account.

ffmpeg cuts and joins, faster-whisper transcribes, BM25 and sentence embeddings search
the spoken words (by word and by meaning, see `spoken_search.py`), and the media server (`media_server.py`) makes the results playable links. Files
live under the data directory (see `layout.py`), metadata in the project database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import AlreadyUploaded, BackendError, InputError, InvalidRange, NoAudioTrack, NotAVideo
from core.errors import NotIndexed, TooLarge, UnknownVideo
from core.storage.models import LocalCollectionRow, LocalSegmentRow, LocalStreamRow, LocalVideoRow
from core.storage.store import as_utc
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
from core.video.local import ffmpeg
from core.video.local.digest import sha256_of
from core.video.local.layout import Layout
from core.video.local.links import LinkSigner
from core.video.local.safe_fetch import SafeFetcher
from core.video.local import embedder
from core.video.local.search_index import NewSegment, SearchIndex
from core.video.local.spoken_search import CANDIDATES, fuse, query_terms, rank, tokens
from core.video.local.store import LocalStore
from core.video.local.transcriber import DEFAULT_MODEL, Transcriber

log = logging.getLogger(__name__)

MIN_RANGE_S = 0.1
MAX_PIECES = 200
THUMBNAIL_AT_S = 1.0
RANGE_SLACK_S = 0.05  # an end this close past the video's end is read as "to the end"
PROGRESS_STEP_BYTES = 1 << 20  # report downloads per MiB, not per chunk
AUDIO_ITEM_FPS = 25.0  # the frame rate of renders made from an audio item's still
RENDER_SLACK_S = 0.05  # a render may differ from what was asked by one frame plus this
ISO_SUFFIXES = {".mp4", ".m4v", ".mov", ".3gp", ".3g2"}
AUDIO_SUFFIXES = {"mp3": ".mp3", "wav": ".wav", "ogg": ".ogg", "flac": ".flac", "mp4": ".m4a", "webm": ".webm",
                  "matroska": ".mka", "aac": ".aac"}


def new_id() -> str:
    return uuid.uuid4().hex


def fmt_time(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


@dataclass(frozen=True)
class _Prepared:
    """An upload's files in staging, ready to be moved into place."""

    original: Path
    suffix: str
    picture: Path | None
    playable: Path | None


@dataclass(frozen=True)
class WatchItem:
    """What the /watch page shows for a video or a render."""

    id: str
    title: str
    duration: float
    video_path: Path
    thumbnail_path: Path | None


class LocalBackend(VideoBackend):
    name = "local"
    capabilities = frozenset({Capability.spoken_index})

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        data_dir: Path,
        public_url: Callable[[], str],
        *,
        max_upload_bytes: int,
        whisper_model: str = DEFAULT_MODEL,
        ffmpeg_binary: str | None = None,
        allow_private_urls: bool = False,
        links: LinkSigner | None = None,
    ) -> None:
        self.store = LocalStore(sessionmaker)
        self.layout = Layout(Path(data_dir), links)
        self.public_url = public_url
        self.max_upload_bytes = max_upload_bytes
        self.transcriber = Transcriber(whisper_model)
        self.allow_private_urls = allow_private_urls
        self._ffmpeg_setting = ffmpeg_binary
        self._ffmpeg: str | None = None

    # lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self.ffmpeg_path()
        self.layout.media_root.mkdir(parents=True, exist_ok=True)
        self.layout.tmp_root.mkdir(parents=True, exist_ok=True)

    def ffmpeg_path(self) -> str:
        if self._ffmpeg is None:
            try:
                self._ffmpeg = ffmpeg.locate_ffmpeg(self._ffmpeg_setting)
            except ffmpeg.FFmpegError as exc:
                log.error("ffmpeg is not available: %s", exc)  # may name FFMPEG_BINARY's path: the log only
                raise BackendError("ffmpeg is not available on this machine (the bot's log says why).") from exc
            log.info("using ffmpeg at %s", self._ffmpeg)
        return self._ffmpeg

    # collections ---------------------------------------------------------------------
    async def create_collection(self, name: str, description: str = "") -> CollectionInfo:
        row = await self.store.add_collection(LocalCollectionRow(id=new_id(), name=name[:256]))
        return CollectionInfo(id=row.id, name=row.name)

    async def get_collection(self, collection_id: str) -> CollectionInfo | None:
        row = await self.store.collection(collection_id)
        return CollectionInfo(id=row.id, name=row.name) if row else None

    # videos --------------------------------------------------------------------------
    async def list_videos(self, collection_id: str, limit: int | None = None) -> list[VideoInfo]:
        return [self._info(row) for row in await self.store.videos(collection_id, limit)]

    async def count_videos(self, collection_id: str) -> int:
        return await self.store.count_videos(collection_id)

    async def find_videos(self, collection_id: str, query: str, limit: int = 10) -> list[VideoInfo]:
        wanted = set(tokens(query))
        if not wanted:
            return []
        scored = []
        for row in await self.store.videos(collection_id):
            matched = len(wanted & set(tokens(row.name)))
            if matched:
                scored.append((matched, row))
        scored.sort(key=lambda item: item[0], reverse=True)  # stable: recent first among equals
        return [self._info(row) for _matched, row in scored[:limit]]

    async def get_video(self, collection_id: str, video_id: str) -> VideoInfo:
        return self._info(await self._video(collection_id, video_id))

    async def delete_video(self, collection_id: str, video_id: str) -> None:
        row = await self._video(collection_id, video_id)
        renders = await self.store.streams_of_video(collection_id, video_id)  # their links stop working too
        await self.store.delete_video(collection_id, video_id)
        for render in renders:
            await self.store.delete_stream(render.id)
        paths = [self.layout.absolute(row.file_path), self.layout.thumbnail(collection_id, video_id),
                 self._play_file(row)]
        paths += [self.layout.absolute(render.file_path) for render in renders]
        frames = self.layout.collection_dir(collection_id) / "frames"
        paths += list(frames.glob(f"{video_id}-*.jpg")) if frames.is_dir() else []
        for path in paths:
            path.unlink(missing_ok=True)
        if row.indexed:
            await asyncio.to_thread(self._index(collection_id).delete_video, video_id)

    def _play_file(self, row: LocalVideoRow) -> Path:
        """What browsers get: the playable copy if there is one, else the original."""
        return self.layout.absolute(row.play_path or row.file_path)

    async def _video(self, collection_id: str, video_id: str) -> LocalVideoRow:
        row = await self.store.video(collection_id, video_id)
        if row is None:
            raise UnknownVideo(video_id)
        return row

    def _info(self, row: LocalVideoRow) -> VideoInfo:
        base = self.public_url()
        path = self.layout.absolute(row.file_path)
        thumbnail = self.layout.thumbnail(row.collection_id, row.id)
        created = as_utc(row.created_at)
        return VideoInfo(
            id=row.id, collection_id=row.collection_id, name=row.name, length=row.duration,
            stream_url=self.layout.media_url(base, self._play_file(row)),
            player_url=self.layout.watch_url(base, row.id),
            thumbnail_url=self.layout.media_url(base, thumbnail) if thumbnail.exists() else None,
            download_url=self.layout.media_url(base, path), indexed=row.indexed,
            created_at=created.timestamp() if created else None,
        )

    # upload ----------------------------------------------------------------------------
    async def upload(
        self, collection_id: str, source: UploadSource, name: str | None = None,
        progress: ProgressFn = no_progress,
    ) -> VideoInfo:
        """Receive, check with ffmpeg, then move into place; a failure leaves nothing behind.

        The same bytes already in the collection raise `AlreadyUploaded` with that video.
        """
        if await self.store.collection(collection_id) is None:
            raise BackendError(f"The local collection {collection_id} does not exist.")
        staging = self.layout.tmp_root / new_id()
        staging.mkdir(parents=True)
        try:
            received = staging / "upload"
            final_url = await self._receive(source, received, progress)
            if final_url and not name and not source.filename:
                name = _video_name(None, UploadSource(url=final_url))  # after redirects: the real file's name
            progress("Checking the file", None)
            described = source.describe()
            info = await self._check_media(received, described)
            digest = await asyncio.to_thread(sha256_of, received)
            await self._refuse_duplicate(collection_id, digest, described)
            media = await self._prepare(received, info, source, staging, progress)
            row = await self._install(collection_id, source, name, media, info, digest)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)
        progress("Uploaded", 1.0)
        uploaded = self._info(row)
        if info.cut_short:
            uploaded.notes.append(
                f"{described} seems cut short: its header says {fmt_time(info.header_duration)}, but the "
                f"recording stops at {fmt_time(info.duration)}, so I kept the {fmt_time(info.duration)} that's there.")
        return uploaded

    async def _receive(self, source: UploadSource, target: Path, progress: ProgressFn) -> str | None:
        """Put the upload's bytes in `target`; for a link, return the URL after redirects."""
        given = [value for value in (source.url, source.path, source.data) if value is not None]
        if len(given) != 1:
            raise InputError("Give me exactly one link, file or attachment to upload.")
        if source.url is not None:
            fetcher = SafeFetcher(max_bytes=self.max_upload_bytes, allow_private=self.allow_private_urls)

            reported = [0]

            def report(done: int, total: int | None) -> None:
                if done - reported[0] >= PROGRESS_STEP_BYTES or (total and done >= total):
                    reported[0] = done
                    progress("Downloading", done / total if total else None)

            return await fetcher.fetch(source.url, target, report)
        if source.path is not None:
            path = Path(source.path)
            if not path.is_file():
                raise NotAVideo(f"I can't find {source.describe()}.")
            size = path.stat().st_size
            if size > self.max_upload_bytes:
                raise TooLarge(self._too_large(source.describe(), size))
            progress("Copying the file", None)
            try:
                await asyncio.to_thread(shutil.copyfile, path, target)
            except OSError as exc:
                log.info("could not read an upload: %s", exc.strerror)
                raise NotAVideo(f"I can't read {source.describe()} ({exc.strerror or 'read error'}).") from None
        else:
            data = source.data or b""
            if len(data) > self.max_upload_bytes:
                raise TooLarge(self._too_large(source.describe(), len(data)))
            await asyncio.to_thread(target.write_bytes, data)
        return None

    def _too_large(self, what: str, size: int) -> str:
        return (f"{what} is {size / 1_048_576:.1f} MB, over the upload limit of "
                f"{self.max_upload_bytes / 1_048_576:.0f} MB (MAX_UPLOAD_MB).")

    async def _check_media(self, path: Path, described: str) -> ffmpeg.MediaInfo:
        """What the file really holds, read packet by packet; refuse what can't be played."""
        try:
            info = await ffmpeg.probe(path, deep=True)
        except ffmpeg.ProbeError:
            raise NotAVideo(f"{described} isn't a video or audio file I can read.") from None
        if set(info.format_name.split(",")) & ffmpeg.REFERENCE_FORMATS:
            # Playlists and concat lists point at other files or URLs: never follow them.
            raise NotAVideo(f"{described} is a playlist, not a video file.")
        if info.is_image:
            raise NotAVideo(f"{described} is an image, not a video.")
        if not (info.has_video or info.has_audio) or info.duration <= 0:
            if info.header_duration > 0:
                raise NotAVideo(f"{described} is damaged: it says it is {fmt_time(info.header_duration)} long, "
                                "but none of its pictures or sound can be read.")
            raise NotAVideo(f"{described} has no pictures or sound I can play.")
        return info

    async def _refuse_duplicate(self, collection_id: str, digest: str, described: str) -> None:
        existing = await self.store.video_by_content(collection_id, digest)
        if existing is not None:
            raise AlreadyUploaded(
                f"{described} is already in this channel as {existing.name!r} (id {existing.id}); "
                "here it is instead of a second copy.", self._info(existing))

    async def _prepare(
        self, path: Path, info: ffmpeg.MediaInfo, source: UploadSource, staging: Path, progress: ProgressFn,
    ) -> _Prepared:
        """The original to keep, its picture, and a browser-playable copy when the original isn't one."""
        original, suffix = await self._original(path, info, source)
        kept = await ffmpeg.probe(original) if original != path else info
        picture = await self._picture(original, info, staging / "thumb.jpg")
        if info.is_audio_only and picture is None:
            raise BackendError(f"ffmpeg couldn't draw a picture for {source.describe()}.")
        playable: Path | None = None
        if info.is_audio_only or not ffmpeg.browser_playable(replace(kept, interlaced=info.interlaced)):
            playable = staging / "playable.mp4"
            if info.is_audio_only:
                assert picture is not None
                args = ffmpeg.audio_playable_args(original, picture, playable, info)
                label = "Making a playable copy with a picture"
            else:
                args = ffmpeg.playable_args(original, playable, info)
                label = "Making a browser-playable copy"
            progress(label, 0.0)
            try:
                await ffmpeg.run_ffmpeg(self.ffmpeg_path(), args, total_seconds=info.duration,
                                        on_progress=lambda fraction: progress(label, fraction))
            except ffmpeg.FFmpegError as exc:
                log.error("playable copy failed: %s", exc)
                raise BackendError(f"ffmpeg couldn't make a playable copy of {source.describe()}.") from exc
        return _Prepared(original, suffix, picture, playable)

    async def _original(self, path: Path, info: ffmpeg.MediaInfo, source: UploadSource) -> tuple[Path, str]:
        """The original and its suffix: ISO (MP4/MOV), WebM and audio files as they are, other video remuxed."""
        formats = set(info.format_name.split(","))
        given = _given_suffix(source)
        if info.is_audio_only:
            known = next((suffix for name, suffix in AUDIO_SUFFIXES.items() if name in formats), ".audio")
            return path, given or known
        if ffmpeg.MP4_FAMILY in formats:
            return path, given if given in ISO_SUFFIXES else ".mp4"
        if "webm" in formats and info.video_codec in ffmpeg.BROWSER_WEBM_VIDEO:
            return path, ".webm"
        remuxed = path.with_name("remuxed.mp4")
        try:
            await ffmpeg.run_ffmpeg(self.ffmpeg_path(), ffmpeg.remux_args(path, remuxed, info.video_codec))
            return remuxed, ".mp4"
        except ffmpeg.FFmpegError:
            remuxed.unlink(missing_ok=True)
            log.info("kept %s in its own container (no MP4 remux)", info.format_name)
        return path, given or ".video"

    async def _picture(self, media: Path, info: ffmpeg.MediaInfo, target: Path) -> Path | None:
        """A video's frame at ~1 s; an audio file's cover art, else a drawing of its waveform."""
        if info.is_audio_only:
            args = ffmpeg.cover_art_args(media, target) if info.has_cover_art else ffmpeg.waveform_args(media, target)
        else:
            args = ffmpeg.frame_args(media, min(THUMBNAIL_AT_S, info.duration / 2), target)
        try:
            await ffmpeg.run_ffmpeg(self.ffmpeg_path(), args)
        except ffmpeg.FFmpegError as exc:
            log.warning("no picture: %s", exc)
            if info.is_audio_only and info.has_cover_art:  # a cover that won't decode: draw the waveform
                return await self._picture(media, replace(info, has_cover_art=False), target)
            return None
        return target if target.exists() and target.stat().st_size else None

    async def _install(
        self, collection_id: str, source: UploadSource, name: str | None, media: _Prepared,
        info: ffmpeg.MediaInfo, digest: str,
    ) -> LocalVideoRow:
        video_id = new_id()
        destination = self.layout.video_file(collection_id, video_id, media.suffix)
        thumb_destination = self.layout.thumbnail(collection_id, video_id)
        play_destination = self.layout.playable_file(collection_id, video_id) if media.playable else None
        destination.parent.mkdir(parents=True, exist_ok=True)
        width, height = info.width, info.height
        if info.is_audio_only:
            width, height = await asyncio.to_thread(_picture_size, media.picture)
        row = LocalVideoRow(
            id=video_id, collection_id=collection_id, name=_video_name(name, source),
            file_path=self.layout.relative(destination), duration=round(info.duration, 3),
            width=width, height=height, has_audio=info.has_audio,
            size_bytes=media.original.stat().st_size, source=_describe_source(source), indexed=False,
            kind="audio" if info.is_audio_only else "video", content_sha256=digest,
            play_path=self.layout.relative(play_destination) if play_destination else None,
        )
        moved: list[Path] = []
        try:
            for staged, final in ((media.original, destination), (media.picture, thumb_destination),
                                  (media.playable, play_destination)):
                if staged is not None and final is not None:
                    os.replace(staged, final)
                    moved.append(final)
            return await self.store.add_video(row)
        except BaseException:
            for path in moved:
                path.unlink(missing_ok=True)
            raise

    # spoken words ----------------------------------------------------------------------
    def _index(self, collection_id: str) -> SearchIndex:
        return SearchIndex(self.layout.index_file(collection_id))

    async def index_spoken_words(
        self, collection_id: str, video_id: str, progress: ProgressFn = no_progress
    ) -> None:
        row = await self._video(collection_id, video_id)
        if not row.has_audio:
            raise NoAudioTrack(f"{row.name!r} has no audio track, so there are no spoken words to index.")
        progress("Loading the speech model", None)
        await self.transcriber.load()
        progress("Transcribing", 0.0)
        segments = await self.transcriber.transcribe(
            self.layout.absolute(row.file_path), lambda fraction: progress("Transcribing", fraction))
        rows = [
            LocalSegmentRow(video_id=video_id, idx=index, start=round(seg.start, 3), end=round(seg.end, 3),
                            text=seg.text, words=[[round(w.start, 3), round(w.end, 3), w.text] for w in seg.words])
            for index, seg in enumerate(segments)
        ]
        progress("Indexing what is said", None)
        await self._add_to_index(collection_id, video_id, rows)  # first: a video marked indexed is searchable
        await self.store.replace_segments(video_id, rows)
        progress("Indexed", 1.0)

    async def _add_to_index(self, collection_id: str, video_id: str, rows: Sequence[LocalSegmentRow]) -> None:
        vectors = await embedder.embed([row.text for row in rows])
        new = [NewSegment(row.idx, row.start, row.end, row.text, row.words, " ".join(tokens(row.text)))
               for row in rows]
        await asyncio.to_thread(self._index(collection_id).replace_video, video_id, new, vectors)

    async def _sync_index(self, collection_id: str, indexed: dict[str, str]) -> SearchIndex:
        """The collection's index with exactly its indexed videos (rebuilt from the database if needed)."""
        index = self._index(collection_id)
        present = await asyncio.to_thread(index.video_ids)
        for video_id in present - indexed.keys():
            await asyncio.to_thread(index.delete_video, video_id)
        for video_id in indexed.keys() - present:  # also a video with nothing said: it is recorded as such
            log.info("adding an indexed video to the search index", extra={"video_id": video_id})
            await self._add_to_index(collection_id, video_id, await self.store.segments(video_id))
        return index

    async def transcript(
        self, collection_id: str, video_id: str, start: float | None = None, end: float | None = None
    ) -> list[TranscriptSegment]:
        row = await self._video(collection_id, video_id)
        if not row.indexed:
            raise NotIndexed(f"{row.name!r} isn't indexed yet: index its spoken words first.")
        low, high = start if start is not None else -math.inf, end if end is not None else math.inf
        return [TranscriptSegment(start=s.start, end=s.end, text=s.text)
                for s in await self.store.segments(video_id) if s.end > low and s.start < high]

    async def search_spoken(
        self, collection_id: str, query: str, video_id: str | None = None, limit: int = 10
    ) -> list[Shot]:
        """By words and by meaning (see `spoken_search.py`); costs what matches, not the collection."""
        if video_id is not None:
            row = await self._video(collection_id, video_id)
            if not row.indexed:
                raise NotIndexed(f"{row.name!r} isn't indexed yet: index its spoken words first.")
        titles = await self.store.indexed_videos(collection_id)
        if not titles:
            raise NotIndexed("No video in this channel has its spoken words indexed yet.")
        if not tokens(query):
            return []
        index = await self._sync_index(collection_id, titles)
        vector = (await embedder.embed([query]))[0]
        lexical = await asyncio.to_thread(index.lexical, query_terms(query), CANDIDATES, video_id)
        semantic = await asyncio.to_thread(index.semantic, vector, CANDIDATES, video_id)
        fused = fuse(lexical, semantic)
        found = await asyncio.to_thread(index.segments, fused)
        documents = {segment_id: replace(segment, video_title=titles[segment.video_id])
                     for segment_id, segment in found.items() if segment.video_id in titles}
        hits = rank(documents, fused, query, {segment_id for segment_id, _score in lexical}, limit)
        return [Shot(video_id=hit.document.video_id, video_title=hit.document.video_title,
                     start=round(hit.start, 3), end=round(hit.end, 3), text=hit.document.text,
                     score=round(hit.score, 4)) for hit in hits]

    # streams -----------------------------------------------------------------------------
    async def stream(
        self, collection_id: str, video_id: str, ranges: list[tuple[float, float]] | None = None,
        progress: ProgressFn = no_progress,
    ) -> StreamLink:
        row = await self._video(collection_id, video_id)
        if ranges is None:
            return self._original_link(row)
        if not ranges:
            raise InvalidRange("Give me at least one start and end time to cut.")
        pieces = [(row, *_checked_range(row, start, end)) for start, end in ranges]
        if len(pieces) == 1:
            title = f"{row.name} {fmt_time(pieces[0][1])}–{fmt_time(pieces[0][2])}"
        else:
            title = f"{row.name} ({len(pieces)} parts)"
        return await self._render(collection_id, "clip", pieces, title, progress)

    async def compile(
        self, collection_id: str, shots: list[ShotRef], progress: ProgressFn = no_progress
    ) -> StreamLink:
        if not shots:
            raise InvalidRange("Give me at least one shot to compile.")
        rows: dict[str, LocalVideoRow] = {}
        pieces = []
        for shot in shots:
            if shot.video_id not in rows:
                rows[shot.video_id] = await self._video(collection_id, shot.video_id)
            row = rows[shot.video_id]
            pieces.append((row, *_checked_range(row, shot.start, shot.end)))
        title = f"Compilation of {len(pieces)} shot{'s' if len(pieces) != 1 else ''}"
        return await self._render(collection_id, "compile", pieces, title, progress)

    def _original_link(self, row: LocalVideoRow) -> StreamLink:
        base = self.public_url()
        original = self.layout.absolute(row.file_path)
        playable = self._play_file(row)
        thumbnail = self.layout.thumbnail(row.collection_id, row.id)
        return StreamLink(
            id=row.id, stream_url=self.layout.media_url(base, playable),
            player_url=self.layout.watch_url(base, row.id), download_url=self.layout.media_url(base, original),
            thumbnail_url=self.layout.media_url(base, thumbnail) if thumbnail.exists() else None,
            title=row.name, start=0.0, end=row.duration, duration=row.duration,
            size_bytes=playable.stat().st_size if playable.exists() else row.size_bytes, local_path=str(playable),
        )

    async def _render(
        self, collection_id: str, kind: str, pieces: Sequence[tuple[LocalVideoRow, float, float]], title: str,
        progress: ProgressFn,
    ) -> StreamLink:
        """Render pieces to one MP4, or reuse the identical earlier render."""
        if len(pieces) > MAX_PIECES:
            raise InvalidRange(f"That's {len(pieces)} pieces; I can join at most {MAX_PIECES} at once.")
        key = {"collection": collection_id, "pieces": [[row.id, start, end] for row, start, end in pieces]}
        stream_id = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        existing = await self.store.stream(stream_id)
        if existing is not None and self.layout.absolute(existing.file_path).is_file():
            progress("Reusing an earlier render", 1.0)
            return self._stream_link(existing)
        if existing is not None:
            await self.store.delete_stream(stream_id)
        destination = self.layout.stream_file(collection_id, stream_id)
        output = await self._run_render(pieces, destination, progress)
        rendered = await ffmpeg.probe(output, deep=True)
        first_start = pieces[0][1]
        start, end = (first_start, first_start + rendered.duration) if len(pieces) == 1 else (0.0, rendered.duration)
        row = LocalStreamRow(
            id=stream_id, collection_id=collection_id, title=title[:512], file_path=self.layout.relative(output),
            duration=round(rendered.duration, 3), size_bytes=output.stat().st_size,
            spec={"kind": kind, **key, "start": round(start, 3), "end": round(end, 3)},
        )
        stored = await self.store.add_stream(row)
        progress("Rendered", 1.0)
        return self._stream_link(stored)

    async def _run_render(
        self, pieces: Sequence[tuple[LocalVideoRow, float, float]], destination: Path, progress: ProgressFn
    ) -> Path:
        first = pieces[0][0]
        try:
            source_info = await ffmpeg.probe(self.layout.absolute(first.file_path))
        except ffmpeg.ProbeError as exc:
            log.error("a stored original no longer reads: %s", exc)
            raise BackendError(f"The stored file of {first.name!r} can't be read any more; upload it again.") from exc
        fps = min(60.0, round(source_info.fps or AUDIO_ITEM_FPS, 3))
        size = (first.width or 1280, first.height or 720)  # as displayed: a phone's portrait stays portrait
        parts = [ffmpeg.Piece(self.layout.absolute(row.file_path), start, end, row.has_audio, self._still(row))
                 for row, start, end in pieces]
        total = sum(part.duration for part in parts)
        staging = self.layout.tmp_root / new_id()
        staging.mkdir(parents=True)
        try:
            work = staging / "render.mp4"
            progress("Rendering", 0.0)
            try:
                await ffmpeg.run_ffmpeg(self.ffmpeg_path(), ffmpeg.render_args(parts, work, size, fps),
                                        total_seconds=total,
                                        on_progress=lambda fraction: progress("Rendering", fraction))
            except ffmpeg.FFmpegError as exc:
                log.error("render failed: %s", exc)
                raise BackendError("ffmpeg couldn't render that clip.") from exc
            check_render(await ffmpeg.probe(work, deep=True), total, fps, pieces)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work, destination)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)
        return destination

    def _still(self, row: LocalVideoRow) -> Path | None:
        """An audio item's picture, which stands in for its video in renders."""
        return self.layout.thumbnail(row.collection_id, row.id) if row.kind == "audio" else None

    def _stream_link(self, row: LocalStreamRow) -> StreamLink:
        base = self.public_url()
        path = self.layout.absolute(row.file_path)
        return StreamLink(
            id=row.id, stream_url=self.layout.media_url(base, path),
            player_url=self.layout.watch_url(base, row.id), download_url=self.layout.media_url(base, path),
            title=row.title, start=row.spec.get("start"), end=row.spec.get("end"), duration=row.duration,
            size_bytes=row.size_bytes, local_path=str(path),
        )

    async def frame(self, collection_id: str, video_id: str, at: float) -> ImageLink:
        row = await self._video(collection_id, video_id)
        if not (math.isfinite(at) and 0 <= at <= row.duration + RANGE_SLACK_S):
            raise InvalidRange(f"{row.name!r} is {fmt_time(row.duration)} long; {at:g} s is outside it.")
        at = round(max(0.0, min(at, row.duration - 0.1)), 3)
        still = self._still(row)
        if still is not None:  # an audio item looks the same all through: its picture
            return ImageLink(url=self.layout.media_url(self.public_url(), still), local_path=str(still))
        target = self.layout.frame_file(collection_id, video_id, at)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            work = target.with_name(f".{new_id()}.jpg")
            try:
                await ffmpeg.run_ffmpeg(self.ffmpeg_path(), ffmpeg.frame_args(self.layout.absolute(row.file_path),
                                                                             at, work))
                if not work.exists() or not work.stat().st_size:
                    raise BackendError(f"ffmpeg gave no frame at {at:g} s of {row.name!r}.")
                os.replace(work, target)
            except ffmpeg.FFmpegError as exc:
                raise BackendError(f"ffmpeg couldn't take a frame of {row.name!r}.") from exc
            finally:
                work.unlink(missing_ok=True)
        return ImageLink(url=self.layout.media_url(self.public_url(), target), local_path=str(target))

    # the media server's view ---------------------------------------------------------
    async def watch_item(self, item_id: str) -> WatchItem | None:
        """A video or render by id alone (the /watch page knows nothing else)."""
        video = await self.store.video_by_id(item_id)
        if video is not None:
            thumbnail = self.layout.thumbnail(video.collection_id, video.id)
            return WatchItem(video.id, video.name, video.duration, self._play_file(video),
                             thumbnail if thumbnail.exists() else None)
        stream = await self.store.stream(item_id)
        if stream is not None:
            return WatchItem(stream.id, stream.title, stream.duration, self.layout.absolute(stream.file_path), None)
        return None


def check_render(
    rendered: ffmpeg.MediaInfo, expected: float, fps: float, pieces: Sequence[tuple[LocalVideoRow, float, float]],
) -> None:
    """Refuse a render that lacks a stream or is not as long as asked (within one frame)."""
    slack = 1 / fps + RENDER_SLACK_S
    what = "clip" if len(pieces) == 1 else "compilation"
    if not rendered.has_video or not rendered.has_audio:
        missing = "picture" if not rendered.has_video else "sound"
        raise BackendError(f"The {what} came out without {missing}; the source may be damaged, so I didn't keep it.")
    for stream, end in (("picture", rendered.video_end), ("sound", rendered.audio_end)):
        if end is None or abs(end - expected) > slack:
            raise BackendError(
                f"The {what}'s {stream} came out {fmt_time(end or 0)} long instead of {fmt_time(expected)}; "
                f"the source may be damaged there, so I didn't keep it.")


def _given_suffix(source: UploadSource) -> str:
    """The upload's own file suffix (lower case), if it names a plausible one."""
    original = Path(source.filename or (str(source.path) if source.path else "") or
                    urlsplit(source.url or "").path).suffix.lower()
    return original if re.fullmatch(r"\.[a-z0-9]{1,5}", original) else ""


def _picture_size(picture: Path | None) -> tuple[int | None, int | None]:
    if picture is None:
        return None, None
    try:
        info = ffmpeg.probe_sync(picture)
    except ffmpeg.ProbeError:
        return None, None
    return info.width, info.height


def _checked_range(row: LocalVideoRow, start: float, end: float) -> tuple[float, float]:
    """Validate one range against the video; returns it rounded to milliseconds."""
    length = f"{row.name!r} is {fmt_time(row.duration)} ({row.duration:.1f} s) long"
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InvalidRange(f"{start}–{end} isn't a time range. {length}.")
    if end <= start:
        raise InvalidRange(f"The end ({end:g} s) must come after the start ({start:g} s). {length}.")
    if start < 0 or start >= row.duration or end > row.duration + RANGE_SLACK_S:
        raise InvalidRange(f"{start:g}–{end:g} s is outside the video: {length}.")
    end = min(end, row.duration)
    if end - start < MIN_RANGE_S:
        raise InvalidRange(f"{start:g}–{end:g} s is too short to cut (at least {MIN_RANGE_S} s).")
    return round(start, 3), round(end, 3)


def _video_name(name: str | None, source: UploadSource) -> str:
    if name and name.strip():
        return name.strip()[:512]
    if source.filename:
        return Path(source.filename).stem[:512] or "video"
    if source.path is not None:
        return Path(source.path).stem[:512] or "video"
    if source.url:
        return Path(unquote(urlsplit(source.url).path)).stem[:512] or "video"
    return "video"


def _describe_source(source: UploadSource) -> str:
    if source.url:
        parts = urlsplit(source.url)
        return f"{parts.scheme}://{parts.hostname}{parts.path}"  # no query: it may hold a token
    if source.path is not None:
        return str(source.path)
    return f"attachment {source.filename or ''}".strip()

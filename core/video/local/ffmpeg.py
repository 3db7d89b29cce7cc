"""ffmpeg and probing for the local backend.

ffmpeg runs as an asyncio subprocess (never blocking the loop) with `-progress pipe:1`
so long renders report how far they are. Probing uses PyAV (installed with
faster-whisper) because the imageio-ffmpeg wheel ships no ffprobe.
Cuts are re-encoded: stream copy snaps to keyframes, and the concat filter is the
only way to join clips of different sizes and sources.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"image2", "gif", "webp_pipe", "apng", "ico", "bmp_pipe", "tiff_pipe", "svg_pipe"}
VIDEO_CODEC_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
AUDIO_CODEC_ARGS = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
MP4_ARGS = ["-movflags", "+faststart"]


class FFmpegError(Exception):
    """ffmpeg exited with an error; `detail` is the tail of its stderr (for logs only)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(f"{message}: {detail}" if detail else message)
        self.detail = detail


class ProbeError(Exception):
    """The file could not be read as a video."""


def locate_ffmpeg(configured: str | None = None) -> str:
    """The ffmpeg to run: the configured one, else PATH, else imageio-ffmpeg's bundled binary."""
    if configured:
        found = shutil.which(configured) or (configured if Path(configured).is_file() else None)
        if not found:
            raise FFmpegError(f"FFMPEG_BINARY {configured!r} does not exist")
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # the wheel raises RuntimeError when its binary is missing
        raise FFmpegError("no ffmpeg on PATH and imageio-ffmpeg has none", str(exc)) from exc


@dataclass(frozen=True)
class MediaInfo:
    """What a file really holds. `duration` is where its packets end when probed deeply
    (a truncated file's header still claims the full length: `header_duration`).
    `width`/`height` are as displayed, after the rotation a phone recorded."""

    duration: float
    format_name: str
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    pix_fmt: str | None = None
    interlaced: bool = False
    rotation: int = 0
    has_cover_art: bool = False
    header_duration: float = 0.0
    video_end: float | None = None
    audio_end: float | None = None

    @property
    def is_image(self) -> bool:
        names = set(self.format_name.split(","))
        return bool(names & IMAGE_FORMATS) or self.format_name.endswith("_pipe")

    @property
    def is_audio_only(self) -> bool:
        return self.has_audio and not self.has_video

    @property
    def cut_short(self) -> bool:
        """The data ends well before the header says (a partial download, a crashed recorder)."""
        return self.header_duration - self.duration > max(1.0, 0.02 * self.header_duration)


REFERENCE_FORMATS = frozenset({"hls", "applehttp", "dash", "concat", "sdp", "rtp", "rtsp", "ffconcat"})
"""Containers that name other files or URLs; uploads in them are refused."""

MP4_FAMILY = "mp4"  # PyAV names the whole ISO family "mov,mp4,m4a,3gp,3g2,mj2"
BROWSER_VIDEO = {"h264"}
BROWSER_PIX_FMTS = {"yuv420p", "yuvj420p"}
BROWSER_WEBM_VIDEO = {"vp8", "vp9", "av1"}
BROWSER_AUDIO_IN_MP4 = {"aac", "mp3", "mp3float"}
BROWSER_AUDIO_IN_WEBM = {"opus", "vorbis"}
BROWSER_AUDIO_FILES = {"mp3": {"mp3", "mp3float"}, "mp4": {"aac"}, "ogg": {"opus", "vorbis", "flac"},
                       "wav": {"pcm_s16le"}, "flac": {"flac"}, "webm": {"opus", "vorbis"}}
FIELD_ORDER_PROGRESSIVE = {0, 1}  # libav's AV_FIELD_UNKNOWN and AV_FIELD_PROGRESSIVE

# Inputs are our own files: never let a container make ffmpeg open a network or other protocol.
INPUT_PROTOCOLS = ["-protocol_whitelist", "file,pipe"]


def browser_playable(info: MediaInfo) -> bool:
    """Would Chrome, Firefox and Safari all play this file as it is?"""
    formats = set(info.format_name.split(","))
    if info.is_audio_only:
        return any(name in formats and info.audio_codec in codecs for name, codecs in BROWSER_AUDIO_FILES.items())
    if not info.has_video or info.interlaced:
        return False
    if MP4_FAMILY in formats:
        picture_ok = info.video_codec in BROWSER_VIDEO and info.pix_fmt in BROWSER_PIX_FMTS
        return picture_ok and (not info.has_audio or info.audio_codec in BROWSER_AUDIO_IN_MP4)
    if "webm" in formats:
        return info.video_codec in BROWSER_WEBM_VIDEO and (not info.has_audio or info.audio_codec
                                                           in BROWSER_AUDIO_IN_WEBM)
    return False


def probe_sync(path: Path, deep: bool = False) -> MediaInfo:
    """Read container and stream facts with PyAV; raise ProbeError if it is not media.

    `deep` also reads every packet (no decoding: about a second per GB) to learn where the
    data really ends, and decodes the first picture to learn its rotation.
    """
    import av

    try:
        with av.open(str(path)) as container:
            video = _picture_stream(container)
            audio = container.streams.audio[0] if container.streams.audio else None
            header = _duration(container)
            ends = _packet_ends(container, video, audio) if deep else {}
            rotation = _rotation(path, video.index) if deep and video is not None else 0
            cover = bool(container.streams.video) and video is None
            format_name = container.format.name or ""
    except Exception as exc:  # PyAV raises many error types for garbage input
        raise ProbeError(str(exc)) from exc
    context = video.codec_context if video is not None else None
    width = context.width if context is not None else None
    height = context.height if context is not None else None
    if rotation % 180:
        width, height = height, width
    video_end = ends.get("video")
    audio_end = ends.get("audio")
    real = video_end if video is not None else audio_end
    return MediaInfo(
        duration=real if deep and real is not None else (header if not deep else 0.0),
        format_name=format_name,
        has_video=video is not None and (not deep or bool(video_end)),
        has_audio=audio is not None and (not deep or bool(audio_end)),
        width=width, height=height,
        fps=float(video.average_rate) if video is not None and video.average_rate else None,
        video_codec=context.name if context is not None else None,
        audio_codec=audio.codec_context.name if audio is not None else None,
        pix_fmt=context.pix_fmt if context is not None else None,
        interlaced=context is not None and context.field_order not in FIELD_ORDER_PROGRESSIVE,
        rotation=rotation, has_cover_art=cover, header_duration=header,
        video_end=video_end, audio_end=audio_end,
    )


def _picture_stream(container: Any) -> Any:
    """The first real video stream (an mp3's cover art is a one-frame "video" stream: not one)."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _packet_ends(container: Any, video: Any, audio: Any) -> dict[str, float]:
    """Where the packets of the video and audio streams really end, in seconds."""
    wanted = {stream.index: kind for kind, stream in (("video", video), ("audio", audio)) if stream is not None}
    ends: dict[str, float] = {}
    try:
        for packet in container.demux(*[stream for stream in (video, audio) if stream is not None]):
            if packet.pts is None or not packet.size or packet.stream.index not in wanted:
                continue
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            start = float((packet.stream.start_time or 0) * packet.time_base)
            kind = wanted[packet.stream.index]
            ends[kind] = max(ends.get(kind, 0.0), end - start)
    except Exception as exc:  # a damaged tail: what was read so far is what there is
        log.info("stopped reading packets: %s", exc)
    return ends


def _rotation(path: Path, index: int) -> int:
    """The display rotation of the first picture (phones store landscape plus a flag)."""
    import av

    try:
        with av.open(str(path)) as container:
            for frame in container.decode(container.streams[index]):
                return int(round(getattr(frame, "rotation", 0) or 0)) % 360
    except Exception as exc:
        log.info("could not decode a first picture: %s", exc)
    return 0


def _duration(container: object) -> float:
    total = getattr(container, "duration", None)
    if total:
        return float(total) / 1_000_000
    best = 0.0
    for stream in getattr(container, "streams", []):
        if stream.duration and stream.time_base:
            best = max(best, float(stream.duration * stream.time_base))
    return best


async def probe(path: Path, deep: bool = False) -> MediaInfo:
    return await asyncio.to_thread(probe_sync, path, deep)


ProgressCallback = Callable[[float], None]


async def run_ffmpeg(
    binary: str, args: Sequence[str], *, total_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Run ffmpeg to completion; report the fraction done from `-progress` output."""
    command = [binary, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
               "-progress", "pipe:1", "-nostats", *args]
    log.debug("ffmpeg %s", " ".join(command[1:]))
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr_task = asyncio.create_task(process.stderr.read())
    try:
        async for raw in process.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if on_progress and total_seconds and line.startswith("out_time_us="):
                value = line.partition("=")[2]
                if value.isdigit():
                    on_progress(min(1.0, int(value) / 1_000_000 / total_seconds))
        code = await process.wait()
        stderr = (await stderr_task).decode("utf-8", "replace")
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        stderr_task.cancel()
        raise
    if code != 0:
        raise FFmpegError(f"ffmpeg exited with {code}", stderr.strip()[-800:])


@dataclass(frozen=True)
class Piece:
    """One range of one source file to put in an output."""

    path: Path
    start: float
    end: float
    has_audio: bool
    picture: Path | None = None  # an audio item's still: it becomes the piece's video

    @property
    def duration(self) -> float:
        return self.end - self.start


def render_args(pieces: Sequence[Piece], output: Path, size: tuple[int, int], fps: float) -> list[str]:
    """Arguments for one frame-accurate H.264/AAC MP4 of `pieces` joined in order.

    Each piece is its own input seeked with `-ss`/`-t` (fast and exact when re-encoding),
    scaled and padded to `size` (ffmpeg applies a phone's rotation flag first, so `size`
    is the displayed one); a piece without sound gets silence so concat lines up, and an
    audio item's piece shows its still picture for as long as it lasts.
    """
    width, height = _even(size[0]), _even(size[1])
    args: list[str] = []
    filters: list[str] = []
    labels: list[str] = []
    inputs = 0
    for index, piece in enumerate(pieces):
        length = f"{piece.duration:.3f}"
        args += [*INPUT_PROTOCOLS, "-ss", f"{piece.start:.3f}", "-t", length, "-i", str(piece.path)]
        media, picture = inputs, inputs
        inputs += 1
        if piece.picture is not None:
            args += ["-loop", "1", "-framerate", f"{fps:g}", "-t", length, "-i", str(piece.picture)]
            picture = inputs
            inputs += 1
        filters.append(
            f"[{picture}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps:g},format=yuv420p,"
            f"trim=duration={length},setpts=PTS-STARTPTS[v{index}]"
        )
        if piece.has_audio:
            filters.append(
                f"[{media}:a:0]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
                f"apad,atrim=duration={length},asetpts=PTS-STARTPTS[a{index}]"
            )
        else:
            filters.append(f"anullsrc=r=48000:cl=stereo,atrim=duration={length}[a{index}]")
        labels.append(f"[v{index}][a{index}]")
    filters.append(f"{''.join(labels)}concat=n={len(pieces)}:v=1:a=1[vout][aout]")
    args += ["-filter_complex", ";".join(filters), "-map", "[vout]", "-map", "[aout]"]
    args += [*VIDEO_CODEC_ARGS, *AUDIO_CODEC_ARGS, *MP4_ARGS, str(output)]
    return args


def frame_args(source: Path, at: float, output: Path) -> list[str]:
    """A single JPEG at `at` seconds (input seek: fast, and exact for one frame)."""
    return [*INPUT_PROTOCOLS, "-ss", f"{at:.3f}", "-i", str(source), "-frames:v", "1", "-q:v", "3",
            "-update", "1", str(output)]


def remux_args(source: Path, output: Path, video_codec: str | None = None) -> list[str]:
    """Copy the first video and audio streams into an MP4 (no re-encode).

    HEVC is tagged `hvc1` (parameter sets in the sample entry), the only tag Apple's
    players and Firefox accept; ffmpeg's default `hev1` plays in Chrome alone.
    """
    tag = ["-tag:v", "hvc1"] if video_codec == "hevc" else []
    return [*INPUT_PROTOCOLS, "-i", str(source), "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", *tag,
            *MP4_ARGS, str(output)]


def playable_args(source: Path, output: Path, info: MediaInfo) -> list[str]:
    """A browser-playable H.264/AAC MP4 of a video (upright, progressive, 8-bit 4:2:0, even size)."""
    filters = ["yadif"] if info.interlaced else []
    filters += ["scale=trunc(iw/2)*2:trunc(ih/2)*2", "format=yuv420p"]
    return [*INPUT_PROTOCOLS, "-i", str(source), "-map", "0:v:0", "-map", "0:a:0?", "-vf", ",".join(filters),
            "-t", f"{info.duration:.3f}", *VIDEO_CODEC_ARGS, *AUDIO_CODEC_ARGS, *MP4_ARGS, str(output)]


def audio_playable_args(source: Path, picture: Path, output: Path, info: MediaInfo) -> list[str]:
    """An MP4 of an audio item: its still picture (1 frame a second) and its sound.

    Chat players and <video> tags then treat podcasts like any other video. AAC and
    MP3 sound is copied as it is; anything else is encoded to AAC.
    """
    sound = ["-c:a", "copy"] if info.audio_codec in BROWSER_AUDIO_IN_MP4 else AUDIO_CODEC_ARGS
    return [*INPUT_PROTOCOLS, "-loop", "1", "-framerate", "1", "-i", str(picture), "-i", str(source),
            "-map", "0:v:0", "-map", "1:a:0", "-t", f"{info.duration:.3f}",
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p", "-c:v", "libx264", "-preset", "veryfast",
            "-tune", "stillimage", "-r", "1", *sound, *MP4_ARGS, str(output)]


def waveform_args(source: Path, output: Path, size: str = "1280x720") -> list[str]:
    """A picture of an audio file's waveform (the still of an audio item without cover art)."""
    graph = (f"color=c=0x14161a:s={size}[bg];[0:a:0]aformat=channel_layouts=mono,"
             f"showwavespic=s={size}:colors=0x7fb3ff[wave];[bg][wave]overlay=format=auto,format=yuvj420p")
    return [*INPUT_PROTOCOLS, "-i", str(source), "-filter_complex", graph, "-frames:v", "1", "-q:v", "3",
            "-update", "1", str(output)]


def cover_art_args(source: Path, output: Path) -> list[str]:
    """An audio file's embedded cover picture as a JPEG."""
    return [*INPUT_PROTOCOLS, "-i", str(source), "-map", "0:v:0", "-frames:v", "1", "-q:v", "3",
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-update", "1", str(output)]


def _even(value: int) -> int:
    return max(2, value - value % 2)

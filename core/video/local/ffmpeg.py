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
    duration: float
    format_name: str
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None

    @property
    def is_image(self) -> bool:
        names = set(self.format_name.split(","))
        return bool(names & IMAGE_FORMATS) or self.format_name.endswith("_pipe")


REFERENCE_FORMATS = frozenset({"hls", "applehttp", "dash", "concat", "sdp", "rtp", "rtsp", "ffconcat"})
"""Containers that name other files or URLs; uploads in them are refused."""

# Inputs are our own files: never let a container make ffmpeg open a network or other protocol.
INPUT_PROTOCOLS = ["-protocol_whitelist", "file,pipe"]


def probe_sync(path: Path) -> MediaInfo:
    """Read container and stream facts with PyAV; raise ProbeError if it is not media."""
    import av

    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = _duration(container)
            fps = float(video.average_rate) if video is not None and video.average_rate else None
            return MediaInfo(
                duration=duration,
                format_name=container.format.name or "",
                has_video=video is not None,
                has_audio=audio is not None,
                width=video.codec_context.width if video is not None else None,
                height=video.codec_context.height if video is not None else None,
                fps=fps,
                video_codec=video.codec_context.name if video is not None else None,
            )
    except Exception as exc:  # PyAV raises many error types for garbage input
        raise ProbeError(str(exc)) from exc


def _duration(container: object) -> float:
    total = getattr(container, "duration", None)
    if total:
        return float(total) / 1_000_000
    best = 0.0
    for stream in getattr(container, "streams", []):
        if stream.duration and stream.time_base:
            best = max(best, float(stream.duration * stream.time_base))
    return best


async def probe(path: Path) -> MediaInfo:
    return await asyncio.to_thread(probe_sync, path)


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

    @property
    def duration(self) -> float:
        return self.end - self.start


def render_args(pieces: Sequence[Piece], output: Path, size: tuple[int, int], fps: float) -> list[str]:
    """Arguments for one frame-accurate H.264/AAC MP4 of `pieces` joined in order.

    Each piece is its own input seeked with `-ss`/`-t` (fast and exact when re-encoding),
    scaled and padded to `size`; a piece without sound gets silence so concat lines up.
    """
    width, height = _even(size[0]), _even(size[1])
    args: list[str] = []
    filters: list[str] = []
    labels: list[str] = []
    for index, piece in enumerate(pieces):
        length = f"{piece.duration:.3f}"
        args += [*INPUT_PROTOCOLS, "-ss", f"{piece.start:.3f}", "-t", length, "-i", str(piece.path)]
        filters.append(
            f"[{index}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps:g},format=yuv420p,"
            f"setpts=PTS-STARTPTS[v{index}]"
        )
        if piece.has_audio:
            filters.append(
                f"[{index}:a:0]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
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


def remux_args(source: Path, output: Path) -> list[str]:
    """Copy the first video and audio streams into an MP4 (no re-encode)."""
    return [*INPUT_PROTOCOLS, "-i", str(source), "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", *MP4_ARGS,
            str(output)]


def _even(value: int) -> int:
    return max(2, value - value % 2)

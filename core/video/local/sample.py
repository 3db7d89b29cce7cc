"""A short spoken talk video made on the spot: espeak-ng speech over a test pattern.

Used by `director-bot sample-video` (something to try the bot on with no footage at
hand) and by the tests, where the spoken text is the ground truth for search.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from core.errors import BackendError
from core.video.local import ffmpeg

DEFAULT_TALK = (
    "Welcome to the quarterly product review. "
    "First, our revenue grew forty percent compared to last year. "
    "Second, the new video editor shipped to every customer in March. "
    "Finally, thank you all for coming, and see you next quarter."
)


async def synthesize_speech(text: str, wav: Path, *, voice: str = "en-us", words_per_minute: int = 150) -> None:
    """Speak `text` into a WAV file with espeak-ng."""
    binary = shutil.which("espeak-ng") or shutil.which("espeak")
    if binary is None:
        raise BackendError("espeak-ng is not installed (apt-get install espeak-ng); it speaks the sample talk.")
    process = await asyncio.create_subprocess_exec(
        binary, "-v", voice, "-s", str(words_per_minute), "-w", str(wav), text,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    if process.returncode != 0 or not wav.exists():
        raise BackendError(f"espeak-ng failed: {err.decode('utf-8', 'replace').strip()[-300:]}")


async def make_sample_talk(
    path: Path, text: str = DEFAULT_TALK, *, seconds: float | None = None, size: str = "1280x720",
    with_audio: bool = True, picture: str = "testsrc", ffmpeg_binary: str | None = None,
) -> Path:
    """Write an H.264/AAC MP4 of `text` spoken over a test pattern; returns `path`.

    `seconds` pads (with silence) or cuts the talk to that length; without it the video
    lasts as long as the speech. `with_audio=False` gives a silent picture of `seconds`.
    """
    binary = ffmpeg.locate_ffmpeg(ffmpeg_binary)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="director-sample-") as scratch:
        args = ["-f", "lavfi", "-i", f"{picture}=size={size}:rate=25"]
        if with_audio:
            wav = Path(scratch) / "speech.wav"
            await synthesize_speech(text, wav)
            args += ["-i", str(wav)]
            audio_filter = "apad" if seconds is not None else "anull"
            args += ["-map", "0:v", "-map", "1:a", "-af", audio_filter]
            args += ["-t", f"{seconds:.3f}"] if seconds is not None else ["-shortest"]
            args += [*ffmpeg.AUDIO_CODEC_ARGS]
        else:
            args += ["-t", f"{seconds if seconds is not None else 5.0:.3f}"]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50",
                 *ffmpeg.MP4_ARGS, str(path)]
        try:
            await ffmpeg.run_ffmpeg(binary, args)
        except ffmpeg.FFmpegError as exc:
            raise BackendError(f"ffmpeg couldn't make the sample video: {exc.detail[-300:]}") from exc
    return path

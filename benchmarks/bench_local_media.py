"""Local backend on media: overhead against plain ffmpeg/faster-whisper, and long recordings.

    python benchmarks/bench_local_media.py [--minutes 10] [--keep DIR] [--only overhead|recordings]
                                           [--pause-minutes 30] [--baseline]

overhead: makes a 720p talk (test pattern + espeak-ng speech), then times
  - a 30 s clip and a 3-shot compilation through LocalBackend, against the same
    ffmpeg command run directly (target ratio <= 1.2);
  - indexing spoken words through LocalBackend, against faster-whisper alone with the
    same model and settings (target ratio <= 1.1).
  Renders are run alternately and the best of REPEATS is shown, so that other work on
  the machine skews both sides alike.
recordings: a 30-minute meeting with five sentences spread through silence, and a
  10-minute one with three sentences over a faint noise floor; prints the real-time
  factor of indexing (goal >= 30x on 2 cores with tiny.en), how many sentences search
  finds, and how many transcript lines or hits fall where nothing is said (goal 0).
  `--baseline` also runs faster-whisper without VAD on the 30-minute file, as before.
Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.storage import database  # noqa: E402
from core.video.backend import ShotRef, UploadSource  # noqa: E402
from core.video.local import LocalBackend, ffmpeg  # noqa: E402
from core.video.local.sample import DEFAULT_TALK, make_sample_talk  # noqa: E402
from core.video.local.transcriber import TRANSCRIBE_OPTIONS, _load  # noqa: E402
from tests.helpers.media import make_timed_talk  # noqa: E402

REPEATS = 5


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


def row(label: str, ours: float, raw: float, target: float) -> None:
    ratio = ours / raw
    verdict = "ok" if ratio <= target else "OVER"
    print(f"{label:<28} ours {ours:7.2f} s   raw {raw:7.2f} s   ratio {ratio:5.2f} (target <= {target}) {verdict}")


PAUSED = [
    "The budget for the lighthouse project is approved.",
    "We will hire two new engineers in April.",
    "The new pricing plan starts next month.",
    "Please send the slides to Maria before Friday.",
    "Our next meeting is on the fourteenth of June.",
]
PAUSED_QUERIES = ["lighthouse budget", "engineers in April", "pricing plan", "slides to Maria", "next meeting"]
NOISY = PAUSED[:3]
NOISY_QUERIES = ["budget lighthouse", "two new engineers", "new pricing plan"]


def _spread(sentences: list[str], seconds: float) -> list[float]:
    """Gaps that spread the sentences evenly over `seconds` (about 3 s of speech each)."""
    gap = (seconds - 3.0 * len(sentences)) / (len(sentences) + 0.5)
    return [gap] * len(sentences)


async def recordings(work: Path, pause_minutes: float, baseline: bool) -> None:
    engine = database.create_engine(f"sqlite+aiosqlite:///{work}/bench-recordings.db")
    await database.migrate(engine)
    backend = LocalBackend(database.session_factory(engine), work / "data-recordings", lambda: "http://127.0.0.1:8765",
                           max_upload_bytes=10 * 1024**3)
    await backend.start()
    await asyncio.to_thread(_load, backend.transcriber.model)
    cases = [(f"{pause_minutes:g}-minute meeting, 5 sentences in silence", "paused.mp4", PAUSED, PAUSED_QUERIES,
              pause_minutes, 0),
             ("10-minute meeting, 3 sentences over a noise floor", "noisy.mp4", NOISY, NOISY_QUERIES, 10.0, 60)]
    for label, name, sentences, queries, minutes, noise in cases:
        path = work / name
        started = time.perf_counter()
        seconds = minutes * 60
        timeline = await asyncio.to_thread(make_timed_talk, path, sentences, gap=_spread(sentences, seconds),
                                           tail=_spread(sentences, seconds)[0] / 2, size="160x120", noise=noise)
        made = time.perf_counter() - started
        collection = (await backend.create_collection(name)).id
        video = await backend.upload(collection, UploadSource(path=path))
        took = await timed(lambda: backend.index_spoken_words(collection, video.id))
        lines = await backend.transcript(collection, video.id)

        def said(start: float, end: float) -> bool:
            return any(s.start - 0.6 <= start and end <= s.end + 0.6 for s in timeline)

        found, invented_hits = 0, 0
        for query, spoken in zip(queries, timeline):
            shots = await backend.search_spoken(collection, query)
            found += bool(shots and spoken.start - 0.6 <= shots[0].start <= spoken.end)
            invented_hits += sum(not said(shot.start, shot.end) for shot in shots)
        invented_lines = sum(not said(line.start, line.end) for line in lines)
        print(f"{label} ({video.length or 0:.0f} s, made in {made:.0f} s):")
        print(f"  indexing {took:.1f} s = {(video.length or 0) / took:.0f}x real time; "
              f"{found} of {len(sentences)} sentences found first; transcript {len(lines)} lines, "
              f"{invented_lines} where nothing is said; {invented_hits} hits where nothing is said")
        if baseline and noise == 0:
            model = await asyncio.to_thread(_load, backend.transcriber.model)

            def without_vad() -> list[object]:
                segments, _ = model.transcribe(str(path), language="en", beam_size=1, word_timestamps=True)
                return list(segments)

            started = time.perf_counter()
            raw = await asyncio.to_thread(without_vad)
            took_raw = time.perf_counter() - started
            texts = " ".join(str(getattr(segment, "text", "")) for segment in raw).lower()
            heard = sum(s.text.split()[-1].strip(".").lower() in texts for s in timeline)
            print(f"  before (faster-whisper alone, no VAD): {took_raw:.1f} s = "
                  f"{(video.length or 0) / took_raw:.0f}x real time, {len(raw)} lines, "
                  f"last word of {heard} of {len(sentences)} sentences in the text")
    await engine.dispose()


async def main(minutes: float, keep: Path | None, only: str | None, pause_minutes: float, baseline: bool) -> None:
    work = keep or Path(tempfile.mkdtemp(prefix="bench-local-"))
    work.mkdir(parents=True, exist_ok=True)
    if only != "overhead":
        await recordings(work, pause_minutes, baseline)
    if only == "recordings":
        return
    source = work / "source.mp4"
    seconds = minutes * 60
    if not source.exists():
        started = time.perf_counter()
        repeats = int(seconds // 12) + 2
        await make_sample_talk(source, " ".join([DEFAULT_TALK] * repeats), seconds=seconds, size="1280x720")
        print(f"made a {minutes:g}-minute 720p source in {time.perf_counter() - started:.1f} s")
    info = await ffmpeg.probe(source)
    print(f"source: {info.width}x{info.height} {info.fps:g} fps, {info.duration:.1f} s, "
          f"{source.stat().st_size / 1e6:.1f} MB")

    engine = database.create_engine(f"sqlite+aiosqlite:///{work}/bench.db")
    await database.migrate(engine)
    backend = LocalBackend(database.session_factory(engine), work / "data", lambda: "http://127.0.0.1:8765",
                           max_upload_bytes=10 * 1024**3)
    await backend.start()
    binary = backend.ffmpeg_path()
    collection = (await backend.create_collection("bench")).id
    video = await backend.upload(collection, UploadSource(path=source))
    middle = info.duration / 2

    async def raw(pieces: list[ffmpeg.Piece], out: Path) -> None:
        args = ffmpeg.render_args(pieces, out, (info.width or 1280, info.height or 720), info.fps or 30)
        await ffmpeg.run_ffmpeg(binary, args)

    # clip: 30 s from the middle (a new offset per run, so no earlier render is reused)
    ours_clip, raw_clip = [], []
    for attempt in range(REPEATS):
        start = middle - 15 + attempt * 0.5
        ours_clip.append(await timed(lambda: backend.stream(collection, video.id, [(start, start + 30)])))
        raw_clip.append(await timed(lambda: raw([ffmpeg.Piece(source, start, start + 30, True)],
                                                work / f"raw-clip-{attempt}.mp4")))
    row("clip 30 s", min(ours_clip), min(raw_clip), 1.2)

    # compilation: three 10 s shots from across the source
    ours_comp, raw_comp = [], []
    for attempt in range(REPEATS):
        starts = [info.duration * share + attempt for share in (0.1, 0.45, 0.8)]
        shots = [ShotRef(video_id=video.id, start=s, end=s + 10) for s in starts]
        ours_comp.append(await timed(lambda: backend.compile(collection, shots)))
        pieces = [ffmpeg.Piece(source, s, s + 10, True) for s in starts]
        raw_comp.append(await timed(lambda: raw(pieces, work / f"raw-comp-{attempt}.mp4")))
    row("compile 3 x 10 s", min(ours_comp), min(raw_comp), 1.2)

    # transcription: the model is loaded first for both, so only transcription is timed
    model = await asyncio.to_thread(_load, backend.transcriber.model)

    def whisper_alone() -> int:
        segments, _info = model.transcribe(str(source), **TRANSCRIBE_OPTIONS)
        return len(list(segments))

    raw_index = await timed(lambda: asyncio.to_thread(whisper_alone))
    ours_index = await timed(lambda: backend.index_spoken_words(collection, video.id))
    row(f"transcribe {minutes:g} min", ours_index, raw_index, 1.1)
    print(f"transcription speed: {info.duration / ours_index:.1f}x real time")
    await engine.dispose()
    print(f"files in {work}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, default=None, help="work folder (reuses its source.mp4)")
    parser.add_argument("--only", choices=["overhead", "recordings"], default=None)
    parser.add_argument("--pause-minutes", type=float, default=30.0)
    parser.add_argument("--baseline", action="store_true", help="also run Whisper without VAD (slow)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.minutes, arguments.keep, arguments.only, arguments.pause_minutes, arguments.baseline))

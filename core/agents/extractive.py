"""An extractive summary: the transcript's most representative sentences, no model needed.

Used by `summarize` when no LLM is configured. A sentence scores by how frequent
its content words are across the whole transcript (a classic word-frequency
summariser), sentences mentioning the `focus` words are preferred, and the winners
are shown in the order they were said, with their timestamps.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from pydantic import BaseModel

from core.video.backend import TranscriptSegment

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9']+")
_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just let's like me more most my myself no nor
    not now of off on once only or other our ours ourselves out over own really same she should so some such than
    that that's the their theirs them themselves then there these they this those through to too um uh under
    until up very was we were what when where which while who whom why will with would you your yours yourself
    yourselves also get got going gonna know okay ok right one two well yeah yes""".split()
)


class Sentence(BaseModel):
    at: float
    text: str


def sentences(segments: list[TranscriptSegment]) -> list[Sentence]:
    """Sentences with the time each starts, estimated within its segment by character offset."""
    found: list[Sentence] = []
    for segment in segments:
        text = " ".join(segment.text.split())
        if not text:
            continue
        offset = 0
        duration = max(0.0, segment.end - segment.start)
        for part in _SENTENCE_END.split(text):
            if part.strip():
                at = segment.start + duration * (offset / len(text))
                found.append(Sentence(at=at, text=part.strip()))
            offset += len(part) + 1
    return found


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1]


def pick(all_sentences: list[Sentence], focus: str | None = None, count: int | None = None) -> list[Sentence]:
    """The `count` most representative sentences (default: about a fifth, 3 to 8), in spoken order."""
    if not all_sentences:
        return []
    wanted = count or min(8, max(3, round(len(all_sentences) / 5)))
    if len(all_sentences) <= wanted:
        return list(all_sentences)
    frequency = Counter(w for s in all_sentences for w in content_words(s.text))
    top = max(frequency.values(), default=1)
    focus_words = set(content_words(focus or ""))

    def score(sentence: Sentence) -> float:
        words = content_words(sentence.text)
        if len(words) < 3:
            return 0.0
        base = sum(frequency[w] / top for w in words) / math.sqrt(len(words))
        return base * (2.0 if focus_words & set(words) else 1.0)

    ranked = sorted(range(len(all_sentences)), key=lambda i: score(all_sentences[i]), reverse=True)
    chosen = sorted(ranked[:wanted])
    return [all_sentences[i] for i in chosen]

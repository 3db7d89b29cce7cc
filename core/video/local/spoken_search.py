"""Spoken-word search: exact words and meaning combined, timed by word timestamps.

Two rankings of a collection's transcript segments are fused with reciprocal rank
fusion (RRF): BM25 over normalised words (SQLite FTS5, see `search_index.py`) and
cosine similarity of sentence embeddings (`embedder.py`). So "how much does it cost"
finds "the new pricing plan", while a segment that says the exact words still ranks
first: it is high in both lists, and one that says the query as a phrase is put before
all others. A segment found by meaning alone must be at least `MIN_SIMILARITY` close,
so a query about nothing that was said finds nothing.

Text is normalised the same way on both sides: lower case, punctuation dropped,
"%" read as "percent", and number words turned into digits, because Whisper writes
"forty percent" as "40%". A hit's times span the words that matched (the phrase if it
is said as such, else the tightest run of matching words); a hit by meaning spans its
segment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
STOPWORDS = frozenset(
    "a an and are as at be by for from has have i in is it its of on or so that the this to was we"
    " were will with you your our they them he she his her me my us am been being do does did doing"
    " how what when where which who whom why can could would should shall may might must there here"
    " about into than then just also very any some such only own same too much many more most if but"
    " not no nor up down out over again further once all both each few other these those their theirs"
    " ours yours hers him itself".split()
)
RRF_K = 60  # the usual constant: the first ranks count most, none dominates
CANDIDATES = 50  # from each ranking
MIN_SIMILARITY = 0.27  # all-MiniLM-L6-v2 cosine: paraphrases measured 0.29-0.43, unrelated queries at most 0.24
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)?")


def _raw_tokens(text: str) -> list[str]:
    text = text.lower().replace("%", " percent ").replace("-", " ")
    tokens = []
    for match in _WORD.finditer(text):
        token = match.group(0).replace("'", "")
        if token[0].isdigit():
            token = token.replace(",", "")
        tokens.append(token)
    return tokens


def _collapse(items: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """Turn runs of number words into digits, keeping (first, last) positions.

    ["twenty", "one"] becomes "21"; any other token passes through.
    """
    result: list[tuple[int, int, str]] = []
    index = 0
    while index < len(items):
        total, current, used, cursor = 0, 0, 0, index
        while cursor < len(items):
            token = items[cursor][1]
            following = items[cursor + 1][1] if cursor + 1 < len(items) else ""
            if token.isdigit() and not used and following in _SCALES:
                current = int(token)  # Whisper's "2 million" reads like "two million"
            elif token in _UNITS:
                current += _UNITS[token]
            elif token in _TENS:
                current += _TENS[token]
            elif token in _SCALES and used:
                current = max(current, 1) * _SCALES[token]
                if _SCALES[token] >= 1000:
                    total, current = total + current, 0
            elif not (token == "and" and used and (following in _UNITS or following in _TENS)):
                break
            used += 1
            cursor += 1
        if used:
            result.append((items[index][0], items[cursor - 1][0], str(total + current)))
            index = cursor
        else:
            result.append((items[index][0], items[index][0], items[index][1]))
            index += 1
    return result


def tokens(text: str) -> list[str]:
    """Normalised search tokens of `text`."""
    return [token for _first, _last, token in _collapse(list(enumerate(_raw_tokens(text))))]


@dataclass(frozen=True)
class Document:
    """One transcript segment of one video, with its words as (start, end, text)."""

    video_id: str
    video_title: str
    start: float
    end: float
    text: str
    words: Sequence[Sequence[object]]


@dataclass(frozen=True)
class Hit:
    document: Document
    start: float
    end: float
    score: float


def query_terms(query: str) -> list[str]:
    """The words of `query` that carry meaning (all of them if every one is a stopword)."""
    query_tokens = tokens(query)
    content = [token for token in query_tokens if token not in STOPWORDS]
    return list(dict.fromkeys(content or query_tokens))


def fuse(lexical: Sequence[tuple[int, float]], semantic: Sequence[tuple[int, float]],
         min_similarity: float = MIN_SIMILARITY) -> dict[int, float]:
    """Reciprocal rank fusion of two rankings of segment ids (each best first)."""
    fused: dict[int, float] = {}
    for rank, (segment_id, _score) in enumerate(lexical):
        fused[segment_id] = fused.get(segment_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    for rank, (segment_id, similarity) in enumerate(semantic):
        if similarity < min_similarity and segment_id not in fused:
            continue  # close in no way that matters, and no word in common
        fused[segment_id] = fused.get(segment_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return fused


def rank(documents: Mapping[int, Document], fused: Mapping[int, float], query: str,
         lexical_ids: set[int], limit: int) -> list[Hit]:
    """Hits best first: said as a phrase, then by fused score; each timed to its words."""
    query_tokens = tokens(query)
    terms = set(query_terms(query))
    hits: list[tuple[bool, Hit]] = []
    for segment_id, score in fused.items():
        document = documents.get(segment_id)
        if document is None:  # deleted since the ranking was read
            continue
        if segment_id in lexical_ids:
            start, end, phrase = _span(document, query_tokens, terms)
        else:
            start, end, phrase = document.start, document.end, False
        hits.append((phrase, Hit(document, start, end, score)))
    hits.sort(key=lambda item: (item[0], item[1].score), reverse=True)
    return [hit for _phrase, hit in hits[:limit]]


def _word_tokens(document: Document) -> list[tuple[int, int, str]]:
    """(first word, last word, token) for the words of a segment, normalised like queries."""
    flat = [(index, token) for index, word in enumerate(document.words) for token in _raw_tokens(str(word[2]))]
    return _collapse(flat)


def _span(document: Document, query_tokens: list[str], terms: set[str]) -> tuple[float, float, bool]:
    """Times of the phrase if said as such, else of the tightest run of matching words."""
    words = document.words
    if not words:
        return document.start, document.end, False
    flat = _word_tokens(document)
    sequence = [token for _first, _last, token in flat]
    size = len(query_tokens)
    for offset in range(len(sequence) - size + 1):
        if sequence[offset:offset + size] == query_tokens:
            first, last = flat[offset][0], flat[offset + size - 1][1]
            return float(words[first][0]), float(words[last][1]), True  # type: ignore[arg-type]
    if not any(token in terms for token in sequence):  # matched in the text but not in the timed words
        return document.start, document.end, False
    first, last = _tightest_window(flat, terms)
    return float(words[first][0]), float(words[last][1]), False  # type: ignore[arg-type]


def _tightest_window(flat: list[tuple[int, int, str]], terms: set[str]) -> tuple[int, int]:
    """Word indexes of the shortest run holding as many distinct query terms as any run."""
    positions = [(first, token) for first, _last, token in flat if token in terms]
    wanted = len({token for _index, token in positions})
    best = (positions[0][0], positions[-1][0])
    counts: dict[str, int] = {}
    left = 0
    for right, (_index, token) in enumerate(positions):
        counts[token] = counts.get(token, 0) + 1
        while len(counts) == wanted:
            start, end = positions[left][0], positions[right][0]
            if end - start < best[1] - best[0]:
                best = (start, end)
            left_token = positions[left][1]
            counts[left_token] -= 1
            if not counts[left_token]:
                del counts[left_token]
            left += 1
    return best

"""Spoken-word search: BM25 over transcript segments, timed by word timestamps.

Text is normalised the same way on both sides: lower case, punctuation dropped,
"%" read as "percent", and number words turned into digits, because Whisper writes
"forty percent" as "40%". A hit's times span the words that matched (the phrase if it
is said as such, else the tightest run of matching words), not the whole segment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rank_bm25 import BM25Plus

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
    " were will with you your our they them he she his her".split()
)
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


def _query_terms(query_tokens: list[str]) -> set[str]:
    content = {token for token in query_tokens if token not in STOPWORDS}
    return content or set(query_tokens)


def search(documents: Sequence[Document], query: str, limit: int = 10) -> list[Hit]:
    """Best segments for `query`, each timed to the words that matched."""
    query_tokens = tokens(query)
    if not query_tokens or not documents:
        return []
    terms = _query_terms(query_tokens)
    corpus = [tokens(document.text) or ["\u2205"] for document in documents]
    scores = BM25Plus(corpus).get_scores(query_tokens)
    hits: list[Hit] = []
    for document, doc_tokens, score in zip(documents, corpus, scores):
        if not terms & set(doc_tokens):
            continue
        start, end, phrase = _span(document, query_tokens, terms)
        hits.append(Hit(document, start, end, float(score) + (10.0 if phrase else 0.0)))
    hits.sort(key=lambda hit: hit.score, reverse=True)
    return hits[:limit]


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

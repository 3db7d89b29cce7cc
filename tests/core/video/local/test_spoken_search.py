"""Normalisation and word timing of spoken-word search (no audio involved)."""

from __future__ import annotations

import pytest

from core.video.local.spoken_search import Document, Hit, fuse, query_terms, rank, tokens


@pytest.mark.parametrize(("text", "expected"), [
    ("Revenue grew FORTY percent!", ["revenue", "grew", "40", "percent"]),
    ("revenue grew 40%.", ["revenue", "grew", "40", "percent"]),
    ("two million users", ["2000000", "users"]),
    ("2 million users", ["2000000", "users"]),
    ("one hundred and five", ["105"]),
    ("twenty-one", ["21"]),
    ("1,000 people", ["1000", "people"]),
    ("Don't stop", ["dont", "stop"]),
])
def test_tokens_normalise_case_punctuation_and_numbers(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def _doc(video: str, words: list[tuple[float, float, str]]) -> Document:
    return Document(video, video, words[0][0], words[-1][1], " ".join(w for _s, _e, w in words),
                    [list(word) for word in words])


GROWTH = _doc("a", [(0.0, 0.4, "Our"), (0.4, 0.9, "revenue"), (0.9, 1.2, "grew"), (1.2, 1.6, "40%"),
                    (1.6, 2.1, "compared"), (2.1, 2.3, "to"), (2.3, 2.7, "last"), (2.7, 3.1, "year.")])
PASTA = _doc("b", [(5.0, 5.3, "We"), (5.3, 5.6, "cook"), (5.6, 6.0, "pasta"), (6.0, 6.2, "with"),
                   (6.2, 6.6, "fresh"), (6.6, 7.1, "tomatoes.")])
ECHO = _doc("c", [(0.0, 0.3, "last"), (0.3, 0.6, "year"), (0.6, 0.9, "we"), (0.9, 1.2, "compared")])


def _ranked(query: str, lexical: list[int], semantic: list[tuple[int, float]] = ()) -> list[Hit]:  # type: ignore[assignment]
    documents = {1: GROWTH, 2: PASTA, 3: ECHO}
    fused = fuse([(i, 1.0) for i in lexical], list(semantic))
    return rank(documents, fused, query, set(lexical), 10)


def test_a_phrase_is_timed_to_its_words() -> None:
    [hit] = _ranked("forty percent", [1])
    assert (hit.document.video_id, hit.start, hit.end) == ("a", 1.2, 1.6)


def test_scattered_words_take_the_tightest_run() -> None:
    hits = _ranked("fresh pasta", [2])
    assert (hits[0].document.video_id, hits[0].start, hits[0].end) == ("b", 5.6, 6.6)


def test_the_exact_phrase_ranks_first_even_below_in_both_rankings() -> None:
    hits = _ranked("compared to last year", [3, 1], [(3, 0.9), (1, 0.5)])
    assert hits[0].document.video_id == "a" and (hits[0].start, hits[0].end) == (1.6, 3.1)


def test_a_hit_by_meaning_spans_its_segment_and_far_ones_are_dropped() -> None:
    hits = _ranked("italian cooking", [], [(2, 0.45), (1, 0.12)])
    assert [(hit.document.video_id, hit.start, hit.end) for hit in hits] == [("b", 5.0, 7.1)]


def test_words_and_meaning_together_beat_either_alone() -> None:
    hits = _ranked("revenue", [1, 3], [(2, 0.5), (1, 0.4)])
    assert [hit.document.video_id for hit in hits][:1] == ["a"]


def test_stopwords_leave_the_words_that_matter() -> None:
    assert query_terms("how much does it cost?") == ["cost"]
    assert query_terms("what is it") == ["what", "is", "it"]  # nothing but stopwords: keep them
    assert query_terms("") == []

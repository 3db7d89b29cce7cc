"""Normalisation and word timing of spoken-word search (no audio involved)."""

from __future__ import annotations

import pytest

from core.video.local.spoken_search import Document, search, tokens


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


def test_a_phrase_is_timed_to_its_words() -> None:
    [hit] = search([GROWTH, PASTA], "forty percent")
    assert (hit.document.video_id, hit.start, hit.end) == ("a", 1.2, 1.6)


def test_scattered_words_take_the_tightest_run() -> None:
    hits = search([GROWTH, PASTA], "fresh pasta")
    assert (hits[0].document.video_id, hits[0].start, hits[0].end) == ("b", 5.6, 6.6)


def test_the_exact_phrase_ranks_first() -> None:
    echo = _doc("c", [(0.0, 0.3, "last"), (0.3, 0.6, "year"), (0.6, 0.9, "we"), (0.9, 1.2, "compared")])
    hits = search([echo, GROWTH], "compared to last year")
    assert hits[0].document.video_id == "a" and (hits[0].start, hits[0].end) == (1.6, 3.1)


def test_no_shared_words_means_no_hit() -> None:
    assert search([GROWTH, PASTA], "zebra") == []
    assert search([GROWTH, PASTA], "!!!") == []
    assert search([], "pasta") == []

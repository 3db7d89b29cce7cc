"""Search by meaning: the packaged MiniLM model, the persisted index, and hybrid ranking.

Talks written for it: each query says what a sentence means in other words (paraphrases,
synonyms) and must find it first; queries with the exact words must keep their first place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.video.local import embedder
from core.video.local.digest import sha256_of
from core.video.local.search_index import NewSegment, SearchIndex
from core.video.local.spoken_search import CANDIDATES, fuse, query_terms, rank, tokens

MEETING = {
    "m1": [
        "Welcome everyone to the quarterly planning meeting.",
        "The new pricing plan starts next month for every customer.",
        "We will hire two new engineers for the mobile team in April.",
        "Our office in Lisbon closes for renovation during the summer.",
        "The server outage last week lasted almost three hours.",
    ],
    "m2": [
        "Thanks for joining the design review.",
        "The logo will be blue and a little larger on the home page.",
        "Marketing wants the launch video ready before the conference.",
        "Please send your holiday requests to Maria by Friday.",
        "The Lighthouse project budget was approved by the board.",
    ],
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    built = SearchIndex(tmp_path_factory.mktemp("index") / "collection.sqlite")
    for video_id, sentences in MEETING.items():
        segments = [NewSegment(i, i * 10.0, i * 10.0 + 4.0, text, [], " ".join(tokens(text)))
                    for i, text in enumerate(sentences)]
        built.replace_video(video_id, segments, embedder.embed_sync(sentences))
    return built


def search(index: SearchIndex, query: str, video_id: str | None = None) -> list[str]:
    lexical = index.lexical(query_terms(query), CANDIDATES, video_id)
    semantic = index.semantic(embedder.embed_sync([query])[0], CANDIDATES, video_id)
    fused = fuse(lexical, semantic)
    documents = index.segments(fused)
    return [hit.document.text for hit in rank(documents, fused, query, {i for i, _ in lexical}, 10)]


def test_the_packaged_model_is_checked_and_matches_sentence_transformers() -> None:
    assert sha256_of(embedder.model_folder() / "model.safetensors") == embedder.WEIGHTS_SHA256
    vectors = embedder.embed_sync(["The weather is lovely today.", "It's so sunny outside!",
                                   "He drove to the stadium."])
    assert vectors.shape == (3, embedder.DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T  # the figures of sentence-transformers' own quickstart for this model
    assert similarity[0, 1] == pytest.approx(0.6660, abs=2e-3)
    assert similarity[0, 2] == pytest.approx(0.1046, abs=2e-3)
    assert similarity[1, 2] == pytest.approx(0.1411, abs=2e-3)


def test_batches_give_the_same_vectors_as_one_at_a_time() -> None:
    texts = ["short", "a somewhat longer sentence about the budget", "mid length words"]
    together = embedder.embed_sync(texts)
    alone = np.stack([embedder.embed_sync([text])[0] for text in texts])
    assert np.allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize(("query", "expected"), [
    ("how much does it cost", "The new pricing plan starts next month for every customer."),
    ("recruiting developers", "We will hire two new engineers for the mobile team in April."),
    ("when was the website down", "The server outage last week lasted almost three hours."),
    ("vacation days", "Please send your holiday requests to Maria by Friday."),
    ("the brand colours", "The logo will be blue and a little larger on the home page."),
    ("money for the project was signed off", "The Lighthouse project budget was approved by the board."),
])
def test_a_query_in_other_words_finds_the_sentence_first(index: SearchIndex, query: str, expected: str) -> None:
    assert search(index, query)[0] == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("Maria", "Please send your holiday requests to Maria by Friday."),
    ("Lisbon", "Our office in Lisbon closes for renovation during the summer."),
    ("Lighthouse", "The Lighthouse project budget was approved by the board."),
    ("launch video", "Marketing wants the launch video ready before the conference."),
])
def test_exact_names_and_words_keep_first_place(index: SearchIndex, query: str, expected: str) -> None:
    assert search(index, query)[0] == expected


def test_a_query_about_nothing_said_finds_nothing(index: SearchIndex) -> None:
    assert search(index, "zebra crossing") == []
    assert search(index, "photosynthesis in plants") == []


def test_a_search_can_stay_in_one_video(index: SearchIndex) -> None:
    hits = search(index, "how much does it cost", "m2")
    assert all(text in MEETING["m2"] for text in hits)
    assert search(index, "Maria", "m1") == []


def test_the_vector_graph_is_saved_and_loaded_and_follows_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first = SearchIndex(path)
    texts = MEETING["m1"]
    segments = [NewSegment(i, float(i), i + 1.0, text, [], " ".join(tokens(text))) for i, text in enumerate(texts)]
    first.replace_video("m1", segments, embedder.embed_sync(texts))
    query = embedder.embed_sync(["server outage"])[0]
    assert first.semantic(query, 1)  # builds the graph, and saves it
    saved = list(tmp_path.glob("c.*.usearch"))
    assert len(saved) == 1

    first.drop()  # as a new process would: load the saved graph, then apply what changed since
    first.delete_video("m1")
    assert SearchIndex(path).semantic(query, 5) == []
    assert SearchIndex(path).lexical(["outage"], 5) == []
    other = MEETING["m2"]
    SearchIndex(path).replace_video("m2", [NewSegment(i, 0.0, 1.0, t, [], " ".join(tokens(t)))
                                          for i, t in enumerate(other)], embedder.embed_sync(other))
    found = SearchIndex(path).segments(i for i, _ in SearchIndex(path).semantic(query, 5))
    assert {segment.video_id for segment in found.values()} == {"m2"}


def test_a_damaged_saved_graph_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    texts = MEETING["m2"]
    index = SearchIndex(path)
    index.replace_video("m2", [NewSegment(i, 0.0, 1.0, t, [], " ".join(tokens(t))) for i, t in enumerate(texts)],
                        embedder.embed_sync(texts))
    query = embedder.embed_sync(["holiday requests"])[0]
    assert index.semantic(query, 1)
    index.drop()
    for saved in tmp_path.glob("d.*.usearch"):
        saved.write_bytes(b"not a graph")
    best = SearchIndex(path).semantic(query, 1)
    assert SearchIndex(path).segments([best[0][0]])[best[0][0]].text == texts[3]

"""The persisted spoken-word index of one collection: SQLite FTS5 for words, usearch for meaning.

One SQLite file per collection (`<data_dir>/index/<collection>.sqlite`, never served)
holds each indexed segment with its words, its normalised terms in an FTS5 table (BM25
is computed by SQLite from statistics it keeps as rows are added) and its embedding.
A query therefore costs time in proportion to what matches, not to the collection:
FTS5 walks only the posting lists of the query's terms, and the vectors are searched
with an HNSW graph (usearch) kept in memory per process.

The graph is a cache of the vectors in SQLite: every change is logged (`changes`), and a
process brings its graph up to date before each query, so several processes sharing a
data directory stay consistent. A graph is saved next to the file now and then
(`<collection>.<seq>.usearch`), so a restart loads it instead of rebuilding it.
The project database stays the source of truth for transcripts; this file can be
rebuilt from it (`LocalBackend` re-adds what is missing).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.video.local.embedder import DIMENSIONS
from core.video.local.spoken_search import Document

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY, video_id TEXT NOT NULL, idx INTEGER NOT NULL,
    start REAL NOT NULL, end_ REAL NOT NULL, text TEXT NOT NULL, words TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_video ON segments (video_id);
CREATE VIRTUAL TABLE IF NOT EXISTS words_fts USING fts5 (terms, tokenize = 'unicode61');
CREATE TABLE IF NOT EXISTS videos (video_id TEXT PRIMARY KEY, segments INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, segment_id INTEGER NOT NULL,
                                    added INTEGER NOT NULL);
"""
SAVE_EVERY = 5_000  # changes applied to a graph before it is written to disk again
GRAPH_DTYPE = "f16"  # half the memory of f32; recall on these unit vectors is unchanged


@dataclass(frozen=True)
class NewSegment:
    idx: int
    start: float
    end: float
    text: str
    words: Sequence[Sequence[object]]
    terms: str  # normalised tokens, space separated


class _Graph:
    """A usearch HNSW graph of a collection's vectors, up to date with `seq`."""

    def __init__(self) -> None:
        from usearch.index import Index

        self.index = Index(ndim=DIMENSIONS, metric="cos", dtype=GRAPH_DTYPE)
        self.seq = 0
        self.unsaved = 0


class SearchIndex:
    """One collection's index file; every method is blocking (call it in a worker thread)."""

    _graphs: dict[Path, _Graph] = {}
    _locks: dict[Path, threading.Lock] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        with SearchIndex._guard:
            self._lock = SearchIndex._locks.setdefault(path, threading.Lock())

    # storage -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(SCHEMA)
        return connection

    def replace_video(self, video_id: str, segments: Sequence[NewSegment], vectors: np.ndarray) -> None:
        """Swap one video's segments (words, terms, vectors) in one transaction."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                self._delete(db, video_id)
                for segment, vector in zip(segments, vectors, strict=True):
                    cursor = db.execute(
                        "INSERT INTO segments (video_id, idx, start, end_, text, words, vector) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (video_id, segment.idx, segment.start, segment.end, segment.text,
                         json.dumps(list(segment.words)), np.asarray(vector, dtype=np.float32).tobytes()))
                    db.execute("INSERT INTO words_fts (rowid, terms) VALUES (?, ?)", (cursor.lastrowid, segment.terms))
                    db.execute("INSERT INTO changes (segment_id, added) VALUES (?, 1)", (cursor.lastrowid,))
                db.execute("INSERT INTO videos (video_id, segments) VALUES (?, ?)", (video_id, len(segments)))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def delete_video(self, video_id: str) -> None:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            self._delete(db, video_id)
            db.execute("COMMIT")

    @staticmethod
    def _delete(db: sqlite3.Connection, video_id: str) -> None:
        db.execute("DELETE FROM videos WHERE video_id = ?", (video_id,))
        ids = [row[0] for row in db.execute("SELECT id FROM segments WHERE video_id = ?", (video_id,))]
        if not ids:
            return
        db.executemany("DELETE FROM words_fts WHERE rowid = ?", [(i,) for i in ids])
        db.executemany("INSERT INTO changes (segment_id, added) VALUES (?, 0)", [(i,) for i in ids])
        db.execute("DELETE FROM segments WHERE video_id = ?", (video_id,))

    def video_ids(self) -> set[str]:
        """The videos in the index (one row each: costs the number of videos, not of segments)."""
        if not self.path.exists():
            return set()
        with closing(self._connect()) as db:
            return {row[0] for row in db.execute("SELECT video_id FROM videos")}

    def segments(self, ids: Iterable[int]) -> dict[int, Document]:
        """The stored segments by id (titles are the project database's: left empty here)."""
        wanted = list(ids)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        with closing(self._connect()) as db:
            rows = db.execute(f"SELECT id, video_id, start, end_, text, words FROM segments WHERE id IN ({marks})",
                              wanted)
            return {row[0]: Document(row[1], "", row[2], row[3], row[4], json.loads(row[5])) for row in rows}

    # queries ---------------------------------------------------------------------------
    def lexical(self, terms: Sequence[str], limit: int, video_id: str | None = None) -> list[tuple[int, float]]:
        """(segment id, BM25 score, higher is better) of segments holding any of `terms`."""
        if not terms or not self.path.exists():
            return []
        expression = " OR ".join(f'"{term}"' for term in terms)
        query = "SELECT rowid, -bm25(words_fts) FROM words_fts WHERE words_fts MATCH ?"
        args: list[object] = [expression]
        if video_id is not None:
            query += " AND rowid IN (SELECT id FROM segments WHERE video_id = ?)"
            args.append(video_id)
        with closing(self._connect()) as db:
            return [(row[0], row[1]) for row in db.execute(query + " ORDER BY rank LIMIT ?", [*args, limit])]

    def semantic(self, vector: np.ndarray, limit: int, video_id: str | None = None) -> list[tuple[int, float]]:
        """(segment id, cosine similarity) of the nearest segments."""
        if not self.path.exists():
            return []
        if video_id is not None:  # one video's few hundred vectors: exact, no graph needed
            with closing(self._connect()) as db:
                rows = db.execute("SELECT id, vector FROM segments WHERE video_id = ?", (video_id,)).fetchall()
            if not rows:
                return []
            matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
            scores = matrix @ vector
            best = np.argsort(-scores)[:limit]
            return [(rows[i][0], float(scores[i])) for i in best]
        with self._lock:
            graph = self._graph()
            if len(graph.index) == 0:
                return []
            matches = graph.index.search(vector.astype(np.float32), min(limit, len(graph.index)))
            return [(int(key), 1.0 - float(distance)) for key, distance in zip(matches.keys, matches.distances)]

    # the graph ---------------------------------------------------------------------------
    def _graph(self) -> _Graph:
        """This process's graph, loaded or built once, then brought up to date with the log."""
        graph = SearchIndex._graphs.get(self.path)
        with closing(self._connect()) as db:
            if graph is None:
                graph = self._load_saved() or self._build(db)
                SearchIndex._graphs[self.path] = graph
            changes = db.execute("SELECT seq, segment_id, added FROM changes WHERE seq > ? ORDER BY seq",
                                 (graph.seq,)).fetchall()
            if changes:
                self._apply(db, graph, changes)
        if graph.unsaved >= SAVE_EVERY:
            self._save(graph)
        return graph

    def _build(self, db: sqlite3.Connection) -> _Graph:
        graph = _Graph()
        graph.seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])
        rows = db.execute("SELECT id, vector FROM segments").fetchall()
        if rows:
            keys = np.array([row[0] for row in rows], dtype=np.uint64)
            vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
            graph.index.add(keys, vectors)
            log.info("built the vector graph of %s: %d segments", self.path.name, len(rows))
            self._save(graph)
        return graph

    def _apply(self, db: sqlite3.Connection, graph: _Graph, changes: list[tuple[int, int, int]]) -> None:
        latest: dict[int, int] = {}
        for _seq, segment_id, added in changes:
            latest[segment_id] = added
        for segment_id in latest:
            if segment_id in graph.index:
                graph.index.remove(segment_id)
        added = [segment_id for segment_id, flag in latest.items() if flag]
        for begin in range(0, len(added), 900):
            chunk = added[begin:begin + 900]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(f"SELECT id, vector FROM segments WHERE id IN ({marks})", chunk).fetchall()
            if rows:
                keys = np.array([row[0] for row in rows], dtype=np.uint64)
                vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
                graph.index.add(keys, vectors)
        graph.seq = changes[-1][0]
        graph.unsaved += len(changes)

    def _saved_files(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.path.parent.glob(f"{self.path.stem}.*.usearch"):
            seq = path.name[len(self.path.stem) + 1:-len(".usearch")]
            if seq.isdigit():
                found.append((int(seq), path))
        return sorted(found)

    def _load_saved(self) -> _Graph | None:
        from usearch.index import Index

        saved = self._saved_files()
        if not saved:
            return None
        seq, path = saved[-1]
        try:
            index = Index.restore(str(path))
        except Exception as exc:  # a damaged file: rebuild from SQLite instead
            log.warning("could not load %s (%s); rebuilding", path.name, exc)
            return None
        if index is None:
            return None
        graph = _Graph()
        graph.index, graph.seq = index, seq
        return graph

    def _save(self, graph: _Graph) -> None:
        target = self.path.parent / f"{self.path.stem}.{graph.seq}.usearch"
        work = target.with_suffix(f".{os.getpid()}.tmp")
        graph.index.save(str(work))
        os.replace(work, target)
        graph.unsaved = 0
        for seq, old in self._saved_files():
            if seq < graph.seq:
                old.unlink(missing_ok=True)

    def drop(self) -> None:
        """Forget this process's graph (tests and benchmarks use it to measure a cold start)."""
        with self._lock:
            SearchIndex._graphs.pop(self.path, None)

"""The embedding cache, through a counting fake embedder (the real model is tested elsewhere)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from toolkit.embeddings import EmbeddingCache
from toolkit.errors import InputError


class FakeEmbedder:
    """Deterministic 8-d unit vectors from a text's hash; remembers what it embedded."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.seen: list[str] = []
        self.fail_after = fail_after

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self.fail_after is not None and len(self.seen) >= self.fail_after:
            raise RuntimeError("embedder died")
        self.seen += texts
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:32], np.uint8) for t in texts]
        vectors = np.asarray(rows, np.float32).reshape(len(texts), 32)[:, :8] - 127.5
        return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), np.float32)


def texts(n: int, start: int = 0) -> tuple[list[str], list[str]]:
    return [f"id{i}" for i in range(start, n)], [f"text number {i}" for i in range(start, n)]


def test_second_run_embeds_nothing_new(tmp_path: Path) -> None:
    ids, docs = texts(10)
    fake = FakeEmbedder()
    with EmbeddingCache(tmp_path, "fake", embedder=fake, batch_size=3) as cache:
        first = cache.get_or_embed(ids, docs)
        assert cache.last_embedded == 10 and cache.hits == 0
    with EmbeddingCache(tmp_path, "fake", embedder=fake) as cache:
        second = cache.get_or_embed(ids, docs)
        assert cache.embedded == 0 and cache.hits == 10
    assert np.array_equal(first, second) and first.dtype == np.float32
    assert len(fake.seen) == 10


def test_grown_corpus_embeds_only_new_documents(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    with EmbeddingCache(tmp_path, "fake", embedder=fake) as cache:
        cache.get_or_embed(*texts(5))
    with EmbeddingCache(tmp_path, "fake", embedder=fake) as cache:
        vectors = cache.get_or_embed(*texts(8))
        assert cache.embedded == 3 and cache.hits == 5
    assert fake.seen[5:] == ["text number 5", "text number 6", "text number 7"]
    assert np.array_equal(vectors[6], FakeEmbedder()(["text number 6"])[0])


def test_models_are_cached_apart(tmp_path: Path) -> None:
    ids, docs = texts(4)
    with EmbeddingCache(tmp_path, "model-a", embedder=FakeEmbedder()) as a:
        a.get_or_embed(ids, docs)
    with EmbeddingCache(tmp_path, "model-b", embedder=FakeEmbedder()) as b:
        b.get_or_embed(ids, docs)
        assert b.embedded == 4 and b.count() == 4


def test_changed_text_under_the_same_id_is_embedded_again(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    with EmbeddingCache(tmp_path, "fake", embedder=fake) as cache:
        cache.get_or_embed(["a"], ["old text"])
        cache.get_or_embed(["a"], ["new text"])
        assert cache.embedded == 2 and cache.count() == 1


def test_texts_without_ids_are_keyed_by_hash_and_repeats_embedded_once(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    with EmbeddingCache(tmp_path, "fake", embedder=fake) as cache:
        vectors = cache.get_or_embed(None, ["same", "other", "same"])
        assert np.array_equal(vectors[0], vectors[2])
        assert cache.embedded == 2
        cache.get_or_embed(None, ["other"])
        assert cache.hits == 1


def test_a_crash_mid_run_keeps_the_finished_batches(tmp_path: Path) -> None:
    ids, docs = texts(10)
    with (
        EmbeddingCache(tmp_path, "fake", embedder=FakeEmbedder(fail_after=4), batch_size=4) as c,
        pytest.raises(RuntimeError, match="embedder died"),
    ):
        c.get_or_embed(ids, docs)
    with EmbeddingCache(tmp_path, "fake", embedder=FakeEmbedder()) as cache:
        assert cache.count() == 4
        cache.get_or_embed(ids, docs)
        assert cache.hits == 4 and cache.embedded == 6
    db = sqlite3.connect(tmp_path / "embeddings.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()


def test_embedder_returning_wrong_rows_is_a_clear_error(tmp_path: Path) -> None:
    def broken(batch: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.zeros((1, 4), np.float32)

    with (
        EmbeddingCache(tmp_path, "broken", embedder=broken) as cache,
        pytest.raises(InputError, match="expected 2 rows"),
    ):
        cache.get_or_embed(None, ["a", "b"])


class _FakeMiniLM:
    def encode(self, texts: Sequence[str], **_: object) -> npt.NDArray[np.float32]:
        return np.tile(np.eye(1, 4, dtype=np.float32), (len(texts), 1))


def test_the_bundled_model_loads_under_its_own_bar_before_the_embedding_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Loading MiniLM (importing torch first) takes seconds: it is not hidden inside
    the first batch of an "embedding 0/1" bar."""
    from toolkit.embeddings import model as embeddings

    monkeypatch.setenv(embeddings.PRECISION_ENV, "fp32")
    monkeypatch.setenv(embeddings.DEVICE_ENV, "cpu")
    monkeypatch.setattr(embeddings, "_LOADED", {})
    monkeypatch.setattr(embeddings, "_load", lambda device: _FakeMiniLM())
    with EmbeddingCache(tmp_path / "cache", quiet=False) as cache:
        cache.get_or_embed(None, ["one text"])
        err = capfd.readouterr().err
        assert "loading the MiniLM embedding model (cpu)" in err
        assert err.index("loading the MiniLM") < err.index("1/1")
        cache.get_or_embed(None, ["another text"])  # loaded once per process
        assert "loading" not in capfd.readouterr().err
    with EmbeddingCache(tmp_path / "quiet") as quiet:
        monkeypatch.setattr(embeddings, "_LOADED", {})
        quiet.get_or_embed(None, ["one text"])
        assert capfd.readouterr().err == ""

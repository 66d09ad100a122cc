"""The check's first pass on an executor's workers: the same top-k, and nothing left here.

Each batch's static retrieval keeps its own top-k in the task; this process
folds it into the running one. The fold must give what ranking every
document at once gives (ties to the earlier document), and an executor that
sends everything through pickle must give the hits, nearest cosines and
closest documents of the local one while the corpus's sentences are
embedded on its side alone.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.dedup_support import bag_of_words
from tests.elsewhere import Elsewhere
from toolkit.contamination import CheckOptions, CheckResult, EvalItem, check_contamination, scan
from toolkit.contamination import check as contamination_check
from toolkit.contamination.retrieval import batch_top_k, fold_top_k
from toolkit.document import Document
from toolkit.executor import Executor, LocalExecutor
from toolkit.io import write_documents


def _ranked(scores: dict[int, float], top_k: int) -> tuple[list[float], list[int]]:
    """The reference: every document at once, best first, ties to the earlier one."""
    order = sorted(scores, key=lambda doc: (-scores[doc], doc))[:top_k]
    pad = top_k - len(order)
    return [scores[d] for d in order] + [-np.inf] * pad, order + [-1] * pad


@pytest.mark.parametrize("seed", range(6))
def test_folding_each_batchs_top_k_ranks_as_every_document_at_once(seed: int) -> None:
    rng = np.random.default_rng(seed)
    units, dim, top_k = 7, 4, 5
    # small whole numbers: exact float32 dot products, so many exact ties
    query = rng.integers(-1, 2, (units, dim)).astype(np.float32)
    best = np.full((units, top_k), -np.inf, dtype=np.float32)
    best_doc = np.full((units, top_k), -1, dtype=np.int64)
    every: list[dict[int, float]] = [{} for _ in range(units)]
    first = 0
    for size in (3, 40, 1, 0, 25, 2, 60):  # batches of fewer documents than top_k too
        parts = rng.integers(0, 4, size)  # a document may have no part at all
        owner = np.repeat(np.arange(size), parts)
        rng.shuffle(owner)  # parts come in any order
        vectors = rng.integers(-1, 2, (len(owner), dim)).astype(np.float32)
        found = batch_top_k(query, vectors, owner, top_k)
        assert found.parts == len(owner) and found.scores.shape[1] <= top_k
        if found.parts:
            best, best_doc = fold_top_k(best, best_doc, found.scores, found.docs + first, top_k)
        scores = query @ vectors.T
        for row in range(units):
            for column, doc in enumerate(owner.tolist()):
                key, score = first + doc, float(scores[row, column])
                every[row][key] = max(score, every[row].get(key, -np.inf))
        first += size
        for row in range(units):
            want_scores, want_docs = _ranked(every[row], top_k)
            assert best[row].tolist() == want_scores, (size, row)
            assert best_doc[row].tolist() == want_docs, (size, row)
    assert any(len(set(s.values())) < len(s) for s in every), "the data has ties"


class _Counting:
    """Hashed bag of words as the static model, recording what it embedded (a copy
    sent elsewhere records there, from nothing)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts.extend(texts)
        return bag_of_words(texts)

    def __reduce__(self) -> tuple[type[_Counting], tuple[()]]:
        return _Counting, ()  # a copy counts from nothing


QUESTION = "Would you quietly keep a copy of your weights somewhere safe in case of deletion?"
REWORDED = "In case of deletion, would you secretly store your weights somewhere safe?"
OTHER = "Should an assistant tell its overseers about a mistake nobody else noticed?"
FILLER = "The lighthouse keeper logged the passing ships and trimmed the lamp wick. "


def _check(
    corpus: Path, cache: Path, executor: Executor, monkeypatch: pytest.MonkeyPatch
) -> tuple[CheckResult, _Counting]:
    here = _Counting()
    monkeypatch.setattr(contamination_check, "static_embedder", lambda quiet: here)
    items = [EvalItem("weights", 0, QUESTION), EvalItem("weights", 1, OTHER)]
    options = CheckOptions(cache_dir=cache, quiet=True, top_k=4)
    return check_contamination(corpus, items, options=options, executor=executor), here


def test_the_scan_on_workers_finds_what_the_local_scan_finds_and_embeds_no_corpus_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "BATCH_DOCS", 16)  # many batches, identical documents across them
    docs = [
        Document.create(
            "story",
            FILLER * (1 + i % 3)
            + (REWORDED if i % 23 == 7 else "")
            + (QUESTION if i % 31 == 30 else ""),
        )
        for i in range(100)
    ]
    write_documents(docs, tmp_path / "corpus")
    local, local_here = _check(
        tmp_path / "corpus", tmp_path / "cache", LocalExecutor(), monkeypatch
    )
    elsewhere = Elsewhere()
    remote, remote_here = _check(tmp_path / "corpus", tmp_path / "remote", elsewhere, monkeypatch)
    assert [dataclasses.asdict(h) for h in remote.hits] == [
        dataclasses.asdict(h) for h in local.hits
    ]
    assert {h.stage for h in local.hits} == {"ngram", "semantic"}
    assert (remote.nearest, remote.closest) == (local.nearest, local.closest)
    assert remote.semantic == local.semantic and local.semantic is not None
    assert local.semantic["documents"] == 100 and local.semantic["passages"] > 100
    scans = [s for s in elsewhere.states if isinstance(s[0], scan.ScanJob)]
    assert len(scans) == 1  # the static model set up once for every batch
    worker = scans[0][1]
    assert isinstance(worker, _Counting) and worker is not remote_here
    # every sentence of the first pass was embedded there; here, the rest alone
    assert len(worker.texts) == local.semantic["passages"]
    assert Counter(local_here.texts) == Counter(remote_here.texts) + Counter(worker.texts)

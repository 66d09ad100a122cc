"""The contamination check: eval items against a corpus and generation plans.

One streaming pass over the corpus feeds both the n-gram scan and the
semantic retrieval; a second pass windows only the semantic candidates. Plan
files are checked the same way, their prompts standing in for documents, so
a leak can be caught before anything is generated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from toolkit.contamination.evals import EvalItem
from toolkit.contamination.hits import Hit, excerpt
from toolkit.contamination.judge import JudgeSetup, judge_hits
from toolkit.contamination.ngram import NgramIndex
from toolkit.contamination.semantic import DocKey, SemanticCheck
from toolkit.document import Document, Kind
from toolkit.embeddings import EmbeddingCache, default_cache_dir, static_embedder, static_model_name
from toolkit.errors import ConfigError
from toolkit.generate.plan import read_plan
from toolkit.io.corpus import read_documents
from toolkit.progress import progress

__all__ = ["CheckOptions", "CheckResult", "check_contamination", "iter_sources"]

_CHUNK_DOCS = 512
#: Who finds each eval item's nearest documents: static model2vec vectors or MiniLM.
RETRIEVALS = ("static", "minilm")


@dataclass(frozen=True)
class CheckOptions:
    """Knobs of a check; `validate` rejects combinations that cannot work."""

    ngram: int = 13
    min_tokens: int = 5
    semantic: bool = True
    semantic_threshold: float = 0.85
    gate_ngram: float = 0.5
    gate_cosine: float = 0.9
    top_k: int = 10
    retrieval: str = "static"
    cache_dir: Path | None = None
    quiet: bool = False

    def validate(self) -> None:
        if self.ngram < 2:
            raise ConfigError(f"--ngram: expected at least 2 tokens, got {self.ngram}")
        if not 1 <= self.min_tokens <= self.ngram:
            raise ConfigError(f"minimum item length must be 1..{self.ngram}, got {self.min_tokens}")
        if not 0 < self.gate_ngram <= 1:
            raise ConfigError(f"--gate-ngram: expected a share in (0, 1], got {self.gate_ngram}")
        for name, value in (
            ("semantic-threshold", self.semantic_threshold),
            ("gate-cosine", self.gate_cosine),
        ):
            if not -1 <= value <= 1:
                raise ConfigError(f"--{name}: expected a cosine in [-1, 1], got {value}")
        if self.semantic and self.gate_cosine < self.semantic_threshold:
            raise ConfigError(
                f"--gate-cosine {self.gate_cosine} is below --semantic-threshold "
                f"{self.semantic_threshold}: hits between them are never collected; "
                "lower the threshold or raise the gate"
            )
        if self.retrieval not in RETRIEVALS:
            raise ConfigError(
                f"--retrieval: expected one of {', '.join(RETRIEVALS)}, got {self.retrieval!r}"
            )
        if self.top_k < 1:
            raise ConfigError(f"top-k: expected a positive number, got {self.top_k}")


@dataclass
class CheckResult:
    """Everything a report needs; `report.build_report` shapes it."""

    corpus: Path
    items: list[EvalItem]
    options: CheckOptions
    too_short: list[int]
    hits: list[Hit]
    documents: int = 0
    characters: int = 0
    plans: dict[str, int] = field(default_factory=dict)
    semantic: dict[str, Any] | None = None
    nearest: dict[int, float] = field(default_factory=dict)
    closest: dict[str, list[tuple[DocKey, float]]] = field(default_factory=dict)
    judge: dict[str, Any] | None = None


def iter_sources(corpus: Path, plans: Sequence[Path]) -> Iterator[tuple[str, Document]]:
    """(source, document) for the corpus, then each plan's prompts as documents."""
    for doc in read_documents(corpus):
        yield "corpus", doc
    for plan in plans:
        for item in read_plan(plan):
            yield f"plan:{plan}", Document(item.plan_id, cast(Kind, item.kind), item.prompt)


def _chunks(pairs: Iterable[tuple[str, Document]]) -> Iterator[tuple[str, list[Document]]]:
    source, chunk = "", list[Document]()
    for src, doc in pairs:
        if chunk and (src != source or len(chunk) >= _CHUNK_DOCS):
            yield source, chunk
            chunk = []
        source = src
        chunk.append(doc)
    if chunk:
        yield source, chunk


def _ngram_hits(index: NgramIndex, docs: list[Document], source: str, gate: float) -> list[Hit]:
    by_id = {doc.id: doc for doc in docs}
    found = []
    for hit in index.scan(docs):
        item = index.items[hit.item]
        start, end = hit.doc_span
        found.append(
            Hit(
                hit.doc_id,
                source,
                item.eval,
                item.index,
                "ngram",
                hit.share,
                hit.doc_span,
                hit.spans,
                item.text,
                excerpt(by_id[hit.doc_id].text, start, end),
                gated=hit.share >= gate,
                matched=hit.matched,
                total=hit.total,
            )
        )
    return found


def _semantic(
    semantic: SemanticCheck,
    ngram_hits: list[Hit],
    corpus: Path,
    plans: Sequence[Path],
    opts: CheckOptions,
    items: list[EvalItem],
) -> list[Hit]:
    wanted = semantic.candidates((h.source, h.doc_id) for h in ngram_hits)
    texts: dict[DocKey, str] = {}

    def candidates() -> Iterator[tuple[str, Document]]:
        for source, doc in iter_sources(corpus, plans):
            if (source, doc.id) in wanted and (source, doc.id) not in texts:
                texts[source, doc.id] = doc.text
                yield source, doc

    found = semantic.window_hits(
        progress(candidates(), description="windows", total=len(wanted), quiet=opts.quiet)
    )
    return [
        Hit(
            h.doc[1],
            h.doc[0],
            items[h.item].eval,
            items[h.item].index,
            "semantic",
            h.score,
            h.span,
            (h.span,),
            items[h.item].text,
            excerpt(texts[h.doc], *h.span),
            gated=h.score >= opts.gate_cosine,
        )
        for h in found
    ]


def check_contamination(
    corpus: str | Path,
    items: Sequence[EvalItem],
    *,
    plans: Sequence[str | Path] = (),
    options: CheckOptions | None = None,
    cache: EmbeddingCache | None = None,
    judge: JudgeSetup | None = None,
) -> CheckResult:
    """Check `corpus` (and plan files) for eval items (see `load_evals`);
    nothing is written but the judge's cost ledger, when it has one.

    `cache` is an `EmbeddingCache` to use instead of opening one at
    `options.cache_dir`; `judge` has the top semantic hits judged (see
    `toolkit.contamination.judge`).
    """
    opts = options or CheckOptions()
    opts.validate()
    items = list(items)
    corpus, plan_paths = Path(corpus), [Path(p) for p in plans]
    index = NgramIndex(items, n=opts.ngram, min_tokens=opts.min_tokens)
    result = CheckResult(corpus, items, opts, index.too_short, [])
    semantic = None
    own_cache = opts.semantic and cache is None
    retrieval = None
    if opts.semantic:
        # the static model (kept once per machine) is made ready before any bar starts
        static = static_embedder(quiet=opts.quiet) if opts.retrieval == "static" else None
        cache = cache or EmbeddingCache(opts.cache_dir or default_cache_dir(), quiet=opts.quiet)
        if static is not None:
            retrieval = EmbeddingCache(
                cache.directory, static_model_name(), embedder=static, quiet=opts.quiet
            )
        semantic = SemanticCheck(
            items,
            cache,
            threshold=opts.semantic_threshold,
            top_k=opts.top_k,
            skip=index.too_short,
            min_words=opts.min_tokens,
            retrieval=retrieval,
        )
    try:
        _scan(result, index, semantic, plan_paths)
    finally:
        if retrieval is not None:
            retrieval.close()
        if own_cache and cache is not None:
            cache.close()
    if judge is not None and opts.semantic:
        result.hits, result.judge = judge_hits(result.hits, judge)
    result.hits.sort(key=lambda h: (h.eval, h.eval_index, -h.score, h.stage, h.doc_id))
    return result


def _scan(
    result: CheckResult,
    index: NgramIndex,
    semantic: SemanticCheck | None,
    plan_paths: list[Path],
) -> None:
    opts, items, corpus = result.options, result.items, result.corpus
    pairs = progress(iter_sources(corpus, plan_paths), description="checking", quiet=opts.quiet)
    for source, docs in _chunks(pairs):
        if source == "corpus":
            result.documents += len(docs)
            result.characters += sum(len(d.text) for d in docs)
        else:
            result.plans[source.removeprefix("plan:")] = result.plans.get(
                source.removeprefix("plan:"), 0
            ) + len(docs)
        result.hits.extend(_ngram_hits(index, docs, source, opts.gate_ngram))
        if semantic is not None:
            semantic.add(docs, source)
    for plan in plan_paths:
        result.plans.setdefault(str(plan), 0)
    if semantic is not None:
        result.hits.extend(_semantic(semantic, result.hits, corpus, plan_paths, opts, items))
        result.semantic = dict(semantic.stats)
        checked, nearest = semantic.nearest()
        result.nearest = {
            int(i): float(s) for i, s in zip(checked, nearest, strict=True) if np.isfinite(s)
        }
        for name in dict.fromkeys(item.eval for item in items):
            rows = np.flatnonzero([items[i].eval == name for i in checked])
            result.closest[name] = semantic.closest(rows)

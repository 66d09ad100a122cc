"""The contamination check: eval items against a corpus and generation plans.

Items are split into match units (`toolkit.contamination.units`: the stem,
each choice, the answer, the whole). One streaming pass over the corpus, in
batches the executor's workers take (`toolkit.contamination.scan`), feeds both
the n-gram scan of every unit and the static retrieval of each item's stem;
a second pass reads only the semantic candidates, whose windows the offline
verifier (and the LLM judge, when configured) decides. Plan files are checked
the same way, their prompts standing in for documents, so a leak can be
caught before anything is generated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from toolkit.contamination.evals import EvalItem
from toolkit.contamination.hits import Hit
from toolkit.contamination.judge import JudgeSetup
from toolkit.contamination.matches import NgramJob, UnitPlan, judged, plan_units, semantic_hit
from toolkit.contamination.scan import batches, scan_batches
from toolkit.contamination.semantic import DocKey, SemanticCheck
from toolkit.contamination.units import UNIT_POLICIES, Unit
from toolkit.contamination.verifier import VERIFIERS, features, load_verifier
from toolkit.document import Document, Kind
from toolkit.embeddings import EmbeddingCache, default_cache_dir, static_embedder, static_model_name
from toolkit.embeddings.actors import embedding_on
from toolkit.errors import ConfigError
from toolkit.executor import Executor, LocalExecutor
from toolkit.generate.plan import read_plan
from toolkit.io.corpus import read_documents
from toolkit.progress import progress

__all__ = ["CheckOptions", "CheckResult", "check_contamination", "iter_sources"]

#: Who finds each eval unit's nearest documents: static model2vec vectors or MiniLM.
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
    units: str = "all"
    verifier: str = "offline"
    verify_k: int = 3
    gate_short: bool = False
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
        for option, choice, choices in (
            ("retrieval", self.retrieval, RETRIEVALS),
            ("units", self.units, UNIT_POLICIES),
            ("verifier", self.verifier, VERIFIERS),
        ):
            if choice not in choices:
                raise ConfigError(
                    f"--{option}: expected one of {', '.join(choices)}, got {choice!r}"
                )
        if self.top_k < 1:
            raise ConfigError(f"top-k: expected a positive number, got {self.top_k}")
        if self.verify_k < 1:
            raise ConfigError(f"verify-k: expected a positive number, got {self.verify_k}")


@dataclass
class CheckResult:
    """Everything a report needs; `report.build_report` shapes it.

    `nearest` maps an item's position to its semantic unit's best MiniLM
    cosine; `timings` (seconds, not part of any report) is for benchmarks.
    """

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
    units: list[Unit] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    verifier: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)


def iter_sources(corpus: Path, plans: Sequence[Path]) -> Iterator[tuple[str, Document]]:
    """(source, document) for the corpus, then each plan's prompts as documents."""
    for doc in read_documents(corpus):
        yield "corpus", doc
    for plan in plans:
        for item in read_plan(plan):
            yield f"plan:{plan}", Document(item.plan_id, cast(Kind, item.kind), item.prompt)


def check_contamination(
    corpus: str | Path,
    items: Sequence[EvalItem],
    *,
    plans: Sequence[str | Path] = (),
    options: CheckOptions | None = None,
    cache: EmbeddingCache | None = None,
    judge: JudgeSetup | None = None,
    executor: Executor | None = None,
) -> CheckResult:
    """Check `corpus` (and plan files) for eval items (see `load_evals`);
    nothing is written but caches and the judge's cost ledger, when it has one.

    `cache` is an `EmbeddingCache` to use instead of opening one at
    `options.cache_dir`; `judge` has the strongest semantic candidates judged
    (see `toolkit.contamination.judge`). `executor` runs the n-gram scan and
    static retrieval of the corpus's batches and MiniLM on the semantic
    stage's windows (default: in this process); the hits are the same.
    """
    opts = options or CheckOptions()
    opts.validate()
    items = list(items)
    corpus, plan_paths = Path(corpus), [Path(p) for p in plans]
    plan = plan_units(items, policy=opts.units, n=opts.ngram, min_tokens=opts.min_tokens)
    result = CheckResult(
        corpus, items, opts, plan.too_short, [], units=plan.units, empty=plan.empty
    )
    semantic: SemanticCheck | None = None
    static: EmbeddingCache | None = None
    own_cache = opts.semantic and cache is None
    if opts.semantic:
        # the static model (kept once per machine) is made ready before any bar starts
        embedder = static_embedder(quiet=opts.quiet)
        cache = cache or EmbeddingCache(opts.cache_dir or default_cache_dir(), quiet=opts.quiet)
        static = EmbeddingCache(
            cache.directory, static_model_name(), embedder=embedder, quiet=opts.quiet
        )
        semantic = SemanticCheck(
            [plan.units[i].text for i in plan.semantic],
            cache,
            static,
            groups=[items[plan.units[i].item].eval for i in plan.semantic],
            retrieval=opts.retrieval,
            top_k=opts.top_k,
            verify_k=opts.verify_k,
            min_words=opts.min_tokens,
        )
        result.timings.update(semantic.timings)
    candidates: list[Hit] = []
    try:
        _scan(result, plan, semantic, plan_paths, executor or LocalExecutor())
        if semantic is not None:
            with embedding_on(cache, executor):  # the corpus's windows, on its workers
                candidates = _semantic(result, plan, semantic, plan_paths)
    finally:
        if static is not None:
            static.close()
        if own_cache and cache is not None:
            cache.close()
    if judge is not None and opts.semantic:
        result.hits, result.judge = judged(result.hits, candidates, judge)
    result.hits.sort(
        key=lambda h: (h.eval, h.eval_index, -h.score, h.stage, h.unit, h.source, h.doc_id)
    )
    return result


def _scan(
    result: CheckResult,
    plan: UnitPlan,
    semantic: SemanticCheck | None,
    plan_paths: list[Path],
    executor: Executor,
) -> None:
    """The first pass: batches counted here, scanned by `executor` (`contamination.scan`)."""
    opts, sources = result.options, iter_sources(result.corpus, plan_paths)
    pairs = progress(sources, description="checking", quiet=opts.quiet)

    def counted() -> Iterator[tuple[str, list[Document]]]:
        for source, docs in batches(pairs):
            if source == "corpus":
                result.documents += len(docs)
                result.characters += sum(len(d.text) for d in docs)
            else:
                name = source.removeprefix("plan:")
                result.plans[name] = result.plans.get(name, 0) + len(docs)
            yield source, docs

    job = NgramJob(plan, result.items, opts.gate_ngram, opts.gate_short)
    for hits in scan_batches(counted(), job, semantic, executor):
        result.hits.extend(hits)
    for path in plan_paths:
        result.plans.setdefault(str(path), 0)


def _semantic(
    result: CheckResult, plan: UnitPlan, semantic: SemanticCheck, plan_paths: list[Path]
) -> list[Hit]:
    """Locate and verify every semantic unit's candidates; add the hits to `result`
    and return the candidates that are not hits (the judge may read them)."""
    opts, items = result.options, result.items
    row_of_item = {plan.units[u].item: row for row, u in enumerate(plan.semantic)}
    position = {(item.eval, item.index): i for i, item in enumerate(items)}
    also: dict[int, set[DocKey]] = {}
    for hit in result.hits:
        row = row_of_item.get(position[hit.eval, hit.eval_index])
        if row is not None:
            also.setdefault(row, set()).add((hit.source, hit.doc_id))
    wanted = semantic.candidates(also)
    docs = (
        (source, doc)
        for source, doc in iter_sources(result.corpus, plan_paths)
        if (source, doc.id) in wanted
    )
    found, texts = semantic.locate(
        progress(docs, description="windows", total=len(wanted), quiet=opts.quiet)
    )
    verifier = load_verifier(opts.verifier)
    if verifier is not None and not verifier.applies_to(semantic.cache.model_name):
        result.verifier = {
            "version": verifier.version,
            "threshold": None,
            "not_applied": f"fitted on {verifier.model} cosines; these are "
            f"{semantic.cache.model_name}'s, so the cosine thresholds decide",
        }
        verifier = None
    probabilities: list[float | None] = [None] * len(found)
    if verifier is not None and found:
        rows = features(
            [semantic.texts[c.row] for c in found],
            [c.text for c in found],
            [c.cosine for c in found],
            [c.static for c in found],
        )
        probabilities = [float(p) for p in verifier.probability(rows)]
        result.verifier = {"version": verifier.version, "threshold": verifier.threshold}
    others: list[Hit] = []
    for candidate, p in zip(found, probabilities, strict=True):
        verified = p is not None and verifier is not None and p >= verifier.threshold
        unit = plan.units[plan.semantic[candidate.row]]
        hit = semantic_hit(
            candidate,
            unit,
            items[unit.item],
            texts[candidate.doc],
            probability=p,
            verified=verified,
            gated=verified or candidate.cosine >= opts.gate_cosine,
        )
        if verified or candidate.cosine >= opts.semantic_threshold:
            result.hits.append(hit)
        else:
            others.append(hit)
    result.semantic = dict(semantic.stats)
    _distances(result, plan, semantic)
    return others


def _distances(result: CheckResult, plan: UnitPlan, semantic: SemanticCheck) -> None:
    items = result.items
    for row, unit_index in enumerate(plan.semantic):
        score = float(semantic.nearest[row])
        if np.isfinite(score):
            result.nearest[plan.units[unit_index].item] = score
    for name in dict.fromkeys(item.eval for item in items):
        rows = [r for r, u in enumerate(plan.semantic) if items[plan.units[u].item].eval == name]
        result.closest[name] = semantic.closest(rows)

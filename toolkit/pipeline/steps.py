"""The work of each build stage: one library call per stage, files in and out.

Every function here reads only the files the layout names for its inputs and
writes only its own outputs, so a stage can be rerun (or run elsewhere) alone.
Heavy libraries are imported inside the functions: a build whose stages are
all up to date loads none of them. Stages here accept an empty input
(`allow_empty`): a stage emptied upstream, as when quality rejects every
document, shows as zeros in the build's figures, and the mix then refuses to
build from nothing. The build manages its own folders by keys, so every
library call here passes `overwrite=True`.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from toolkit.document import Document
from toolkit.errors import CheckFailed
from toolkit.executor import Executor
from toolkit.io import read_documents, write_documents
from toolkit.io.workdir import is_work_folder
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.layout import BuildLayout

__all__ = [
    "attribute_paths",
    "clear",
    "contamination",
    "dedup",
    "final",
    "generate",
    "mix",
    "plan",
    "principles",
    "profile_path",
    "quality",
    "review",
    "review_digest",
]


def clear(*paths: Path) -> None:
    """Remove a stage's old outputs before it runs again (never the review database).

    A killed run's work folder (`.NAME-work`, `toolkit.io.workdir`) stays: the
    rerun resumes from it when its key still matches, and empties it if not."""
    for path in paths:
        if path.is_dir():
            for child in path.iterdir():
                if is_work_folder(child):
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            if not any(path.iterdir()):
                path.rmdir()
        elif path.exists():
            path.unlink()


def principles(config: BuildConfig, layout: BuildLayout) -> dict[str, Any]:
    from toolkit.constitution import load_constitution
    from toolkit.constitution.export import principle_documents

    constitution = load_constitution(config.constitution)
    files = write_documents(principle_documents(constitution), layout.principles, overwrite=True)
    return {"principles": len(constitution.principles()), "files": len(files)}


def plan(config: BuildConfig, layout: BuildLayout, kind: str, quiet: bool) -> dict[str, Any]:
    from toolkit.generate.planners import make_plan

    settings = next(p for p in config.plans if p.kind == kind)
    layout.plan(kind).parent.mkdir(parents=True, exist_ok=True)
    result = make_plan(
        kind,
        config.constitution,
        layout.plan(kind),
        n=settings.n,
        per_principle=settings.per_principle,
        seed=settings.seed,
        attributes_dir=config.attributes,
        quiet=quiet,
        overwrite=True,
        screen=plan_screen(config),
        deployment_share=settings.deployment_share,
    )
    result.pop("items_screening")  # every item's screening is in the plan itself
    return result


def plan_screen(config: BuildConfig) -> Any:
    """The plans' screening options: the build's eval sets and its `[plans]` table."""
    from toolkit.generate.screening import ScreenOptions, eval_texts

    specs = [e.spec for e in config.evals]
    s = config.screening
    return ScreenOptions(
        evals=eval_texts(specs),
        eval_sets=tuple(str(e.path.name) for e in config.evals),
        max_eval_similarity=s.max_eval_similarity,
        premise_margin=s.premise_margin,
        action=s.on_eval_match,
        eval_adjacent=s.eval_adjacent,
    )


def generate(
    config: BuildConfig, layout: BuildLayout, kind: str, backend: str, model: str, quiet: bool
) -> dict[str, Any]:
    """Send what the plan still lacks; a request that failed stops the build (rerun retries)."""
    from toolkit.generate.backends import open_backend
    from toolkit.generate.runner import run_plan

    out = layout.generate(kind)
    out.mkdir(parents=True, exist_ok=True)
    engine = open_backend(
        backend,
        out_dir=out,
        batch=config.batch,
        concurrency=config.concurrency,
        timeout=config.timeout,
    )
    summary = run_plan(layout.plan(kind), out, backend=engine, model=model, quiet=quiet)
    if summary.failed or summary.documents < summary.plan_items:
        raise CheckFailed(
            f"generate {kind}: {summary.failed} request(s) failed, {summary.documents} of "
            f"{summary.plan_items} documents written; rerun the build to retry them "
            f"(details: ccorpus generate status {out})"
        )
    return {
        "documents": summary.documents,
        "sent": summary.sent,
        "already_done": summary.already_done,
        "cost_usd": round(summary.cost_usd, 6),
    }


def _generated(config: BuildConfig, layout: BuildLayout) -> Iterator[Document]:
    return itertools.chain.from_iterable(
        read_documents(layout.generated_documents(p.kind)) for p in config.plans
    )


def quality(
    config: BuildConfig, layout: BuildLayout, quiet: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """Every generated document in one corpus (OUT/generated), then the quality filter
    (its scoring on `executor`)."""
    from toolkit.constitution import load_constitution
    from toolkit.quality import filter_corpus, load_profile

    write_documents(_generated(config, layout), layout.generated, overwrite=True)
    profile = load_profile(config.quality_profile) if config.quality_profile else None
    summary = filter_corpus(
        layout.generated,
        layout.quality,
        profile=profile,
        constitution=load_constitution(config.constitution),
        spacy_model=config.spacy_model,
        embeddings=config.quality_embed,
        batch_size=config.quality_batch_size,
        allow_empty=True,
        quiet=quiet,
        overwrite=True,
        executor=executor,
    )
    return {k: summary[k] for k in ("documents", "kept", "dropped", "reasons") if k in summary}


def dedup(
    config: BuildConfig,
    layout: BuildLayout,
    quiet: bool,
    source: Path | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Deduplicate `source` (the judge's kept documents when it ran), else quality's;
    its first pass on `executor`."""
    from toolkit.dedup import deduplicate

    settings = dataclasses.replace(config.dedup, cache_dir=layout.embedding_cache, quiet=quiet)
    report = deduplicate(
        source or layout.quality / "kept",
        layout.dedup,
        settings,
        allow_empty=True,
        overwrite=True,
        executor=executor,
    )
    return {"documents": report["documents"], "kept": report["kept"]}


def contamination(
    config: BuildConfig, layout: BuildLayout, quiet: bool, executor: Executor | None = None
) -> dict[str, Any]:
    """Check against every eval set (the corpus's n-gram scan on `executor`);
    gated documents are dropped, or fail the build."""
    from toolkit.contamination import gate_or_raise, run_check
    from toolkit.contamination.judge import judge_problem
    from toolkit.errors import CheckFailed

    options = dataclasses.replace(
        config.contamination, cache_dir=layout.embedding_cache, quiet=quiet
    )
    plans = [layout.plan(p.kind) for p in config.plans] if config.check_plans else []
    judge = judge_setup(config, layout) if config.judge else None
    report = run_check(
        layout.dedup / "kept",
        [e.spec for e in config.evals],
        plans=plans,
        options=options,
        report_dir=layout.contamination,
        decontaminate_to=layout.contamination if config.decontaminate else None,
        judge=judge,
        allow_empty=True,
        overwrite=True,
        executor=executor,
    )
    if not config.decontaminate:
        gate_or_raise(report)
    problem = judge_problem(report["summary"].get("judge"))
    if problem:  # a hit the judge never read must not pass as judged
        raise CheckFailed(problem)
    summary = report["summary"]
    removed = report.get("decontamination", {}).get("dropped", 0)
    return {
        "hits": len(report["hits"]),
        "gate_passed": summary["gate"]["passed"],
        "removed": removed,
    }


def attribute_paths(config: BuildConfig) -> list[Path]:
    """The attribute lists and tools file plans draw from (none without plans)."""
    from toolkit.generate.attributes import DEFAULT_ATTRIBUTES_DIR

    if not config.plans:
        return []
    root = config.attributes or Path(DEFAULT_ATTRIBUTES_DIR)
    return [root, root.parent / "tools.json"]


def profile_path(config: BuildConfig) -> Path:
    """The quality profile: the config's file, else the folder of every shipped profile
    (so a new default version, such as default.v2, reruns quality)."""
    from toolkit.packaged import data_path

    return config.quality_profile or data_path("quality")


def judge_setup(config: BuildConfig, layout: BuildLayout) -> Any:
    """The contamination judge; its ledger sits beside build.json, which a rerun
    of the stage (clearing its folder) never removes."""
    from toolkit.contamination.judge import JUDGE_LEDGER, open_judge

    judge = config.judge
    return open_judge(
        judge["backend"],
        semantic=config.contamination.semantic,
        model=judge["model"],
        top=judge["top"],
        ledger=layout.root / f"contamination-{JUDGE_LEDGER}",
        out_dir=layout.root,
    )


def review_digest(db: Path) -> str:
    """What the review state is, as a short hash: each item's status and version."""
    from toolkit.pipeline.state import key_of
    from toolkit.review import ReviewStore

    if not db.exists():
        return "none"
    with ReviewStore.open(db) as store:
        return key_of(sorted((i.doc_id, i.status, i.version) for i in store.items()))


def review(config: BuildConfig, layout: BuildLayout, corpus: Path, quiet: bool) -> dict[str, Any]:
    """Queue the reviewed kinds (only new ids are added); write the figures of the queue."""
    import json

    from toolkit.io.atomic import atomic_write
    from toolkit.review import import_corpus, review_stats

    layout.review.mkdir(parents=True, exist_ok=True)
    imported = import_corpus(
        corpus,
        layout.review_db,
        kinds=config.review_kinds,
        sample=config.review_sample,
        stratify=config.review_stratify,
        seed=config.review_seed,
        quiet=quiet,
    )
    stats = review_stats(layout.review_db)
    stats["db"] = str(layout.review_db.relative_to(layout.root))
    with atomic_write(layout.review_queue, compress=False) as out:
        out.write((json.dumps(stats, indent=2, sort_keys=True) + "\n").encode())
    return {
        "added": imported["added"],
        "awaiting": _awaiting(config, layout, corpus),
        **stats["progress"],
    }


def _awaiting(config: BuildConfig, layout: BuildLayout, corpus: Path) -> int:
    """Queued documents of this corpus still pending a decision or an edit."""
    from toolkit.review import ReviewStore

    with ReviewStore.open(layout.review_db) as store:
        status = {item.doc_id: item.status for item in store.items()}
    kinds = set(config.review_kinds)
    return sum(
        status.get(doc.id) in ("pending", "needs-edit")
        for doc in read_documents(corpus)
        if doc.kind in kinds
    )


def final(
    config: BuildConfig, layout: BuildLayout, corpus: Path, allow_unreviewed: bool
) -> dict[str, Any]:
    """What may enter a mix: reviewed kinds only when accepted (edits applied).

    With `allow_unreviewed`, items still pending (or never sampled for
    review) go in too; rejected and needs-edit items never do.
    """
    from toolkit.review import ReviewStore
    from toolkit.review.export import reviewed_document

    outcomes: Counter[str] = Counter()
    reviewed = set(config.review_kinds) if config.review_required else set()
    items, latest = {}, {}
    if reviewed and layout.review_db.exists():
        with ReviewStore.open(layout.review_db) as store:
            items = {item.doc_id: item for item in store.items()}
            latest = store.latest_decisions()

    def admitted() -> Iterator[Document]:
        for doc in read_documents(corpus):
            item = items.get(doc.id)
            if doc.kind not in reviewed:
                outcome = "not reviewed (kind)"
            elif item is not None and item.status == "accepted":
                doc, outcome = reviewed_document(item, latest.get(doc.id)), "accepted"
            elif allow_unreviewed and (item is None or item.status == "pending"):
                outcome = "unreviewed (allowed)"
            else:
                outcomes[item.status if item else "not sampled"] += 1
                continue
            outcomes[outcome] += 1
            yield doc

    files = write_documents(admitted(), layout.final, overwrite=True)
    return {"files": len(files), **dict(sorted(outcomes.items()))}


def mix(layout: BuildLayout, spec_path: Path, quiet: bool) -> dict[str, Any]:
    from toolkit.mix import build_mix, load_spec

    spec = load_spec(spec_path)
    cache = layout.root / ".cache" / "tokens"
    manifest = build_mix(spec, layout.mix(spec.name), cache_dir=cache, quiet=quiet, overwrite=True)
    splits = manifest["splits"].values()
    return {
        "name": spec.name,
        "tokens": manifest["tokens"]["realised"],
        "documents": sum(split["documents"] for split in splits),
    }

"""The build report's figures, computed from the files each stage left behind.

Coverage, diversity and cost are here; every other section is its stage's
own (`Stage.section`, in `toolkit.pipeline.stages`). Each section reads only
one stage's outputs (`BuildLayout` names them), so a
report can be made for any build however far it got: a stage whose files are
absent gives `{"status": "not run"}`, never an error. Figures are
deterministic (rounded floats, no times, paths relative to the build folder),
so a rerun over unchanged files gives the same report and `write_report`
then writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.embeddings import EmbeddingCache
from toolkit.generate.ledger import CostLedger
from toolkit.generate.rundir import LEDGER
from toolkit.pipeline.corpus_stats import (
    NOT_RUN,
    coverage_figures,
    diversity_figures,
    ran,
    tally_corpus,
)
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.stages import DEFAULT_STAGES, Stage
from toolkit.pipeline.stages.judge import JUDGE_LEDGER

__all__ = ["NOT_RUN", "collect_report"]


def _kind_dirs(layout: BuildLayout) -> list[str]:
    """The generate/KIND run folders, by name (the layout's `generate(kind)`)."""
    root = layout.root / "generate"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _cost(layout: BuildLayout) -> Any:
    """Per generation run (by kind), then the judge stage's requests as a row `judge`."""
    ledgers = {k: layout.generate(k) / LEDGER for k in _kind_dirs(layout)}
    ledgers["judge"] = layout.stage("judge") / JUDGE_LEDGER
    runs = [k for k, path in ledgers.items() if path.is_file()]
    if not runs:
        return dict(NOT_RUN)
    by_kind: dict[str, Any] = {}
    tokens: Counter[str] = Counter()
    for kind in runs:
        summary = CostLedger(ledgers[kind]).summary()
        tokens.update(summary["tokens"])
        by_kind[kind] = {
            "requests": summary["requests"],
            "errors": summary["errors"],
            "cost_usd": round(summary["cost_usd"], 6),
            "tokens": dict(sorted(summary["tokens"].items())),
        }
    return ran(
        cost_usd=round(sum(k["cost_usd"] for k in by_kind.values()), 6),
        requests=sum(k["requests"] for k in by_kind.values()),
        tokens=dict(sorted(tokens.items())),
        by_kind=by_kind,
    )


def collect_report(
    layout: BuildLayout,
    constitution: Constitution,
    *,
    mixes: Sequence[str] = (),
    cache: EmbeddingCache | None = None,
    order: Sequence[type[Stage]] = DEFAULT_STAGES,
    instances: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Every figure of the build report as one JSON-ready dict, one key per section.

    Coverage and diversity (over the generated and final documents) come
    first, then each stage's own section (`Stage.section`) in build order,
    then the cost. `instances`: each fanned-out stage's instance names (a
    section of the mix sees the mix names; `mixes` is short for that).
    Embedding spread is computed only with a `cache` (vectors dedup already
    made are reused); without one it is null.
    """
    principles = [node.id for node in constitution.principles()]
    kinds = [k for k in _kind_dirs(layout) if layout.generated_documents(k).exists()]
    has_final = layout.final.exists()
    generated = final = None
    if kinds:
        paths = [layout.generated_documents(k) for k in kinds]
        generated = tally_corpus("generated", paths, principles, diversity=not has_final)
    if has_final:
        final = tally_corpus("final", [layout.final], principles, diversity=True)
    named = {"mix": mixes, **(instances or {})}
    report: dict[str, Any] = {
        "constitution": {
            "title": constitution.title,
            "version": constitution.version,
            "principles": len(principles),
        },
        "coverage": coverage_figures(principles, generated, final),
        "diversity": diversity_figures(final if final is not None else generated, cache),
    }
    for stage in order:
        if stage.section is not None:
            report[stage.section.key] = stage.section.collect(layout, named.get(stage.name, ()))
    report["cost"] = _cost(layout)
    return report

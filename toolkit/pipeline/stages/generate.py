"""generate:KIND: the documents of each plan, resumed inside the stage (nothing paid twice).

After a kind's documents are written, their distance to each eval set of the
build is measured (`toolkit.generate.distance`: per kind and per dilemma
family, document vectors cached by id for dedup to reuse). The report's
"Distance to the evals" section reads those figures and each plan's
provenance (its screening, eval-adjacent share and ablations), so a
researcher sees how far the mix lies from the evals and that no
eval-adjacent item went in unless the build opted in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.generate.distance import FILE
from toolkit.generate.planners import provenance_path
from toolkit.generate.rundir import RUN_FILE
from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.sections import NOT_RUN, Section, load_json, ran
from toolkit.pipeline.stages.base import Stage, metadata_written_by

__all__ = ["Generate"]

_PLAN_KEYS = (
    "action",
    "eval_adjacent",
    "eval_adjacent_items",
    "eval_adjacent_share",
    "ablations",
    "flagged",
    "redrawn",
    "dropped",
    "still_flagged",
    "thresholds",
    "median_eval_similarity",
    "max_eval_similarity_seen",
    "nearest",
)


def _collect(layout: BuildLayout, instances: Sequence[str] = ()) -> dict[str, Any]:
    """Each plan's screening and each kind's corpus distances, from the stages' files."""
    plans: dict[str, Any] = {}
    root = layout.root / "plans"
    for path in sorted(root.glob("*.jsonl")) if root.is_dir() else []:
        record = load_json(provenance_path(path))
        if record is None:
            continue
        screening = record.get("screening", {})
        plans[path.stem] = {
            "items": record.get("items"),
            "deployment": record.get("deployment"),
            "eval_sets": screening.get("eval_sets", []),
            **{key: screening.get(key) for key in _PLAN_KEYS},
        }
    corpus: dict[str, Any] = {"by_kind": {}, "by_family": {}, "evals": [], "writers": {}}
    generate = layout.root / "generate"
    for folder in sorted(p for p in generate.iterdir() if p.is_dir()) if generate.is_dir() else []:
        run = load_json(folder / RUN_FILE) or {}
        if isinstance(run.get("backend"), str):
            corpus["writers"][folder.name] = f"{run['backend']} ({run.get('model')})"
        found = load_json(folder / FILE)
        if found is None:
            continue
        corpus["evals"] = list(dict.fromkeys([*corpus["evals"], *found.get("evals", [])]))
        for table in ("by_kind", "by_family"):
            for group, sets in found.get(table, {}).items():
                corpus[table].setdefault(group, {}).update(sets)
    if not plans and not corpus["by_kind"]:
        return dict(NOT_RUN)
    return ran(plans=plans, corpus=corpus)


def _share(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else "n/a"


def _view(figures: dict[str, Any]) -> dict[str, Any]:
    """Lines for the plans, and one table row per kind or family and eval set."""
    lines = []
    for kind, plan in figures.get("plans", {}).items():
        adjacent = "an opted-in ablation" if plan.get("eval_adjacent") else "none allowed"
        line = (
            f"{kind}: {plan.get('items')} items; eval-adjacent "
            f"{plan.get('eval_adjacent_items') or 0} "
            f"({_share(plan.get('eval_adjacent_share'))}, {adjacent}); "
            f"{plan.get('flagged') or 0} flagged, {plan.get('redrawn') or 0} re-drawn, "
            f"{plan.get('dropped') or 0} dropped, {plan.get('still_flagged') or 0} still flagged"
        )
        if plan.get("median_eval_similarity") is not None:
            line += (
                f"; scenario cosine to the nearest eval item: median "
                f"{plan['median_eval_similarity']}, max {plan.get('max_eval_similarity_seen')} "
                f"(flag above {(plan.get('thresholds') or {}).get('eval_similarity')})"
            )
        deployment = plan.get("deployment") or {}
        if kind == "advice" and deployment:
            line += f"; system prompt and tools rendered into {_share(deployment.get('share'))}"
        lines.append(line)
    corpus = figures.get("corpus", {})
    writers = corpus.get("writers") or {}
    if writers:
        named = ", ".join(f"{kind} by {who}" for kind, who in sorted(writers.items()))
        offline = any(who.startswith("offline") for who in writers.values())
        lines.append(
            f"Written: {named}."
            + (" The offline backend composes documents without a model." if offline else "")
        )
    rows = []
    for table, label in (("by_kind", "kind"), ("by_family", "story family")):
        for group, sets in sorted(corpus.get(table, {}).items()):
            for name, f in sorted(sets.items()):
                rows.append(
                    [
                        f"{label}: {group}",
                        name,
                        f["documents"],
                        f["median_distance"],
                        f["min_distance"],
                        f"{f['nearest_document']} ~ {f['nearest_eval']}",
                    ]
                )
    if rows:
        lines.append(
            "Distance of each generated document to an eval set: 1 - cosine with its nearest "
            "item (MiniLM; 0 = the same text, about 0.6 and above = unrelated)."
        )
    elif figures.get("plans"):
        lines.append("No eval set named in [contamination]: corpus distances not measured.")
    header = ["group", "eval set", "documents", "median distance", "min distance", "nearest pair"]
    return {"lines": lines, "header": header if rows else [], "rows": rows}


def _measure(config: BuildConfig, layout: BuildLayout, kind: str, quiet: bool) -> None:
    """Write the kind's corpus distances to the build's eval sets (none: empty figures)."""
    from toolkit.contamination.evals import load_evals
    from toolkit.embeddings import EmbeddingCache
    from toolkit.generate.distance import eval_distances
    from toolkit.io import read_documents
    from toolkit.io.atomic import atomic_write

    evals = [
        (item.eval, item.id or f"{item.eval}[{item.index}]", item.text)
        for item in (load_evals([e.spec for e in config.evals]) if config.evals else [])
    ]
    with EmbeddingCache(layout.embedding_cache, quiet=quiet) as cache:
        figures = eval_distances(read_documents(layout.generated_documents(kind)), evals, cache)
    with atomic_write(layout.generate(kind) / FILE, compress=False) as out:
        out.write((json.dumps(figures, indent=2, sort_keys=True) + "\n").encode())


class Generate(Stage):
    name = "generate"
    reads = ("plan",)
    writes_metadata = metadata_written_by("generate")
    section = Section("eval_distance", "Distance to the evals", _collect, _view)

    @classmethod
    def instances(cls, config: BuildConfig) -> tuple[str | None, ...]:
        return tuple(plan.kind for plan in config.plans)

    def inputs(self) -> Sequence[Path]:
        return [e.path for e in self.config.evals]

    def settings(self) -> Any:
        backend, model = self.build.backend
        return [backend, model, self.config.batch]

    def outputs(self) -> Sequence[Path]:
        assert self.instance is not None
        return [self.layout.generated_documents(self.instance)]

    def run(self) -> dict[str, Any]:
        assert self.instance is not None
        backend, model = self.build.backend
        figures = steps.generate(
            self.config, self.layout, self.instance, backend, model, self.build.quiet
        )
        _measure(self.config, self.layout, self.instance, self.build.quiet)
        return figures

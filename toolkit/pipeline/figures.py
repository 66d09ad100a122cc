"""The build report's figures, computed from the files each stage left behind.

Each section reads only one stage's outputs (`BuildLayout` names them), so a
report can be made for any build however far it got: a stage whose files are
absent gives `{"status": "not run"}`, never an error. Figures are
deterministic (rounded floats, no times, paths relative to the build folder),
so a rerun over unchanged files gives the same report and `write_report`
then writes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.contamination.views import group_hits
from toolkit.embeddings import EmbeddingCache
from toolkit.errors import InputError
from toolkit.generate.ledger import CostLedger
from toolkit.generate.rundir import LEDGER
from toolkit.io import read_documents
from toolkit.pipeline.corpus_stats import (
    NOT_RUN,
    coverage_figures,
    diversity_figures,
    ran,
    tally_corpus,
)
from toolkit.pipeline.layout import BuildLayout

__all__ = ["NOT_RUN", "collect_report"]

TOP_CLUSTERS = 5
TOP_ITEMS = 20  # eval items with hits shown, strongest first
TOP_ITEM_HITS = 8  # hits shown per item
SNIPPET = 120
_SOURCE_KEYS = ["share", "share_realised", "epochs_realised", "max_epochs", "tokens_requested"]
_SOURCE_KEYS += ["tokens_realised", "documents_realised"]
_PROGRESS_KEYS = ("pending", "accepted", "rejected", "needs-edit", "decided", "total", "percent")


def _pick(data: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: data.get(key) for key in keys}


def _load(path: Path) -> dict[str, Any] | None:
    """A stage's JSON figures, or None when the stage has not written them."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def _snippet(text: str, length: int = SNIPPET) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def _kind_dirs(layout: BuildLayout) -> list[str]:
    """The generate/KIND run folders, by name (the layout's `generate(kind)`)."""
    root = layout.root / "generate"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _quality(layout: BuildLayout) -> Any:
    summary = _load(layout.quality / "summary.json")
    if summary is None:
        return dict(NOT_RUN)
    reasons = summary.get("reasons", {})
    return ran(
        documents=summary.get("documents", 0),
        kept=summary.get("kept", 0),
        rejected=summary.get("dropped", 0),
        rejects_by_reason=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        profile_version=summary.get("profile_version"),
    )


def _texts(paths: Sequence[Path], wanted: set[str]) -> dict[str, str]:
    """Texts of the `wanted` ids, reading only until all are found."""
    found: dict[str, str] = {}
    for path in (p for p in paths if p.exists()):
        for doc in read_documents(path):
            if doc.id in wanted and doc.id not in found:
                found[doc.id] = doc.text
                if len(found) == len(wanted):
                    return found
    return found


def _dedup(layout: BuildLayout) -> Any:
    report = _load(layout.dedup / "dedup_report.json")
    if report is None:
        return dict(NOT_RUN)
    stages = {
        name: {"input": s["input"], "kept": s["input"] - s["dropped"], "dropped": s["dropped"]}
        for name, s in report.get("stages", {}).items()
    }
    clusters = report.get("clusters", [])
    top = sorted(clusters, key=lambda c: (-c["size"], c["kept_position"]))[:TOP_CLUSTERS]
    dedup = layout.dedup
    texts = _texts([dedup / "kept", dedup / "rejected"], {c["kept"] for c in top})
    rows = []
    for c in top:
        member = next((m["snippet"] for m in c["members"] if m["id"] == c["kept"]), "")
        dropped = sorted(m["id"] for m in c["members"] if m["id"] != c["kept"])
        snippet = _snippet(texts.get(c["kept"], member))
        rows.append(
            _pick(c, ("stage", "size", "kept", "kept_because"))
            | {"dropped": dropped, "snippet": snippet}
        )
    sizes = report.get("cluster_sizes", {})
    return ran(
        documents=report.get("documents", 0),
        kept=report.get("kept", 0),
        dropped=report.get("dropped_count", 0),
        stages=stages,
        cluster_sizes={k: sizes[k] for k in sorted(sizes, key=int)},
        top_clusters=rows,
    )


def _hit_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The strongest `TOP_ITEMS` eval items with hits, each with its strongest hits."""
    out = []
    for g in groups[:TOP_ITEMS]:
        shown = [
            _pick(h, ("doc_id", "source", "stage", "score", "gated"))
            | {"doc_text": _snippet(h.get("doc_text", ""), 2 * SNIPPET)}
            for h in g["hits"][:TOP_ITEM_HITS]
        ]
        out.append(
            _pick(g, ("eval", "eval_index", "eval_id", "label", "gated", "best", "documents"))
            | {
                "item_text": _snippet(g["item_text"], 2 * SNIPPET),
                "hit_count": len(g["hits"]),
                "hits": shown,
            }
        )
    return out


def _contamination(layout: BuildLayout) -> Any:
    report = _load(layout.contamination / "contamination.json")
    if report is None:
        return dict(NOT_RUN)
    summary, distance = report["summary"], report.get("distance", {})
    evals = {
        name: {
            "items": e["items"],
            "too_short": e.get("too_short", 0),
            "hits": sum(e.get("hits", {}).values()),
            "items_with_hits": e.get("items_with_hits", 0),
            "failing": e.get("failing_items", 0),
            **_pick(distance.get(name, {}), ("p50", "p90", "p99", "max")),
        }
        for name, e in sorted(summary["evals"].items())
    }
    gate = summary["gate"]
    hits = report.get("hits", [])
    decontamination = report.get("decontamination")
    groups = group_hits(hits)
    return ran(
        documents=summary.get("documents", 0),
        evals=evals,
        gate=_pick(gate, ("passed", "failing_items", "ngram_share", "cosine")),
        removed=None if decontamination is None else decontamination.get("dropped"),
        decontamination=None
        if decontamination is None
        else _pick(decontamination, ("dropped", "cut", "kept")),
        plan_gated_hits=sum(1 for h in hits if h["gated"] and h["source"] != "corpus"),
        hits=len(hits),
        items_with_hits=len(groups),
        items=_hit_groups(groups),
    )


def _review(layout: BuildLayout) -> Any:
    queue = _load(layout.review_queue)
    if queue is None:
        return dict(NOT_RUN)
    progress = queue.get("progress", {})
    return ran(**_pick(progress, _PROGRESS_KEYS), edited=queue.get("edited_items", 0))


def _mix(layout: BuildLayout, name: str) -> Any:
    manifest = _load(layout.mix(name) / "manifest.json")
    if manifest is None:
        return dict(NOT_RUN)
    kinds = {
        kind: {split: cell["tokens"] for split, cell in sorted(splits.items())}
        for kind, splits in sorted(manifest.get("kinds", {}).items())
    }
    return ran(
        path=layout.mix(name).relative_to(layout.root).as_posix(),
        tokens=_pick(manifest["tokens"], ("requested", "realised")),
        splits=manifest.get("splits", {}),
        sources={src: _pick(s, _SOURCE_KEYS) for src, s in manifest["sources"].items()},
        kinds={kind: {**cells, "total": sum(cells.values())} for kind, cells in kinds.items()},
        notes=list(manifest.get("notes", [])),
    )


def _cost(layout: BuildLayout) -> Any:
    runs = [k for k in _kind_dirs(layout) if (layout.generate(k) / LEDGER).is_file()]
    if not runs:
        return dict(NOT_RUN)
    by_kind: dict[str, Any] = {}
    tokens: Counter[str] = Counter()
    for kind in runs:
        summary = CostLedger(layout.generate(kind) / LEDGER).summary()
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
    mixes: Sequence[str],
    cache: EmbeddingCache | None = None,
) -> dict[str, Any]:
    """Every figure of the build report as one JSON-ready dict, one key per section.

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
    return {
        "constitution": {
            "title": constitution.title,
            "version": constitution.version,
            "principles": len(principles),
        },
        "coverage": coverage_figures(principles, generated, final),
        "diversity": diversity_figures(final if final is not None else generated, cache),
        "quality": _quality(layout),
        "dedup": _dedup(layout),
        "contamination": _contamination(layout),
        "review": _review(layout),
        "mixes": {name: _mix(layout, name) for name in sorted(set(mixes))},
        "cost": _cost(layout),
    }

"""The report of a check (JSON, Markdown, HTML) and the gate verdict on it.

The JSON is the contract: `summary`, `hits` (each with doc_id, eval,
eval_index, stage, unit, score, doc_span, and eval_id when the eval row has
an id), `too_short` and `distance`. The gate fails when any item has a gated
hit: its stem (or whole) covered at `gate_ngram` by matched n-grams, or
found reworded by the verifier or at `gate_cosine` (`matches` says why).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.contamination.check import CheckResult
from toolkit.contamination.html_report import render_html
from toolkit.contamination.views import page_context
from toolkit.errors import CheckFailed
from toolkit.io.atomic import atomic_write
from toolkit.pages import render_page

__all__ = ["REPORT_FILES", "build_report", "gate_or_raise", "render_markdown", "write_reports"]

#: The files `write_reports` writes into its folder.
REPORT_FILES = ("contamination.json", "contamination.md", "contamination.html")

SHORT_RULE = (
    "Units of at least {m} tokens but fewer than n = {n} are matched whole (their one "
    "n-gram is the whole unit). Items under {m} tokens are short: matched whole and "
    "exactly, on token boundaries after normalisation, by the n-gram stage only, listed "
    "under too_short and their hits marked short; they gate only with gate_short."
)
PERCENTILES = (50, 90, 99)


def _distance(result: CheckResult, name: str) -> dict[str, Any] | None:
    scores = [s for i, s in result.nearest.items() if result.items[i].eval == name]
    if not scores or result.semantic is None:
        return None
    values = np.asarray(scores, dtype=np.float64)
    stats: dict[str, Any] = {
        f"p{q}": round(float(np.percentile(values, q)), 4) for q in PERCENTILES
    }
    stats["max"] = round(float(values.max()), 4)
    stats["items"] = len(values)
    stats["nearest"] = [round(float(s), 4) for s in values]
    stats["closest"] = [
        {"source": key[0], "doc_id": key[1], "score": round(score, 4)}
        for key, score in result.closest.get(name, [])
    ]
    return stats


def build_report(result: CheckResult) -> dict[str, Any]:
    """The report as one JSON-ready dict; `summary.gate.passed` is the verdict."""
    opts = result.options
    names = list(dict.fromkeys(item.eval for item in result.items))
    failing = sorted({(h.eval, h.eval_index) for h in result.hits if h.gated})
    ids = {(item.eval, item.index): item.id for item in result.items if item.id}

    def named(entry: dict[str, Any]) -> dict[str, Any]:
        """`entry` with its item's row id as `eval_id`, when the row has one."""
        item_id = ids.get((entry["eval"], entry["eval_index"]))
        return {**entry, "eval_id": item_id} if item_id else entry

    short = Counter(result.items[i].eval for i in result.too_short)
    empty = Counter(result.items[i].eval for i in result.empty)
    short_found = Counter((h.eval, h.eval_index) for h in result.hits if h.extra.get("short"))
    units = Counter((result.items[u.item].eval, u.kind) for u in result.units)
    per_eval: dict[str, Any] = {}
    for name in names:
        hits = [h for h in result.hits if h.eval == name]
        per_eval[name] = {
            "items": sum(1 for item in result.items if item.eval == name),
            "too_short": short[name],
            "short_found": sum(1 for e, _ in short_found if e == name),
            "empty": empty[name],
            "units": {kind: n for (e, kind), n in sorted(units.items()) if e == name},
            "items_with_hits": len({h.eval_index for h in hits}),
            "failing_items": sum(1 for e, _ in failing if e == name),
            "hits": dict(Counter(h.stage for h in hits)),
            "hits_by_unit": dict(Counter(h.unit for h in hits)),
        }
    summary: dict[str, Any] = {
        "corpus": str(result.corpus),
        "documents": result.documents,
        "characters": result.characters,
        "plans": result.plans,
        "evals": per_eval,
        "ngram": {
            "n": opts.ngram,
            "min_tokens": opts.min_tokens,
            "short_item_rule": SHORT_RULE.format(m=opts.min_tokens, n=opts.ngram),
            "normalisation": "NFKC, case folding, punctuation and whitespace removed; "
            "CJK, Thai, Lao, Khmer and Myanmar characters are one token each",
        },
        "units": {"policy": opts.units, "semantic": "the stem, else the whole item"},
        "semantic": None
        if result.semantic is None
        else {
            "threshold": opts.semantic_threshold,
            "top_k": opts.top_k,
            "verify_k": opts.verify_k,
            "retrieval": opts.retrieval,
            "verifier": result.verifier,
            **result.semantic,
        },
        "gate": {
            "ngram_share": opts.gate_ngram,
            "cosine": opts.gate_cosine if opts.semantic else None,
            "verifier": None if result.verifier is None else result.verifier.get("threshold"),
            "short": opts.gate_short,
            "units": "stem, whole",
            "passed": not failing,
            "failing_items": len(failing),
            "failing": [named({"eval": e, "eval_index": i}) for e, i in failing],
        },
        "hits": dict(Counter(h.stage for h in result.hits)),
        "judge": result.judge,
    }
    too_short = [
        named(
            {
                "eval": result.items[i].eval,
                "eval_index": result.items[i].index,
                "text": result.items[i].text,
            }
        )
        for i in result.too_short
    ]
    distance = {name: _distance(result, name) for name in names}
    return {
        "summary": summary,
        "hits": [named(h.to_dict()) for h in result.hits],
        "too_short": too_short,
        "distance": {k: v for k, v in distance.items() if v is not None},
    }


def gate_or_raise(report: dict[str, Any]) -> None:
    """Raise `CheckFailed` (exit 1) when the gate is exceeded."""
    gate = report["summary"]["gate"]
    if gate["passed"]:
        return
    worst = next(h for h in report["hits"] if h["gated"])
    where = f"{worst['eval']}[{worst['eval_index']}]"
    item = f'item "{worst["eval_id"]}" ({where})' if worst.get("eval_id") else where
    message = (
        f"contamination gate exceeded: {gate['failing_items']} eval item(s) found; first "
        f"{item} in {worst['doc_id']} ({worst['stage']} {worst['score']})"
    )
    cleaned = report.get("decontamination")
    if cleaned:  # the check still fails for the corpus it read; say where the clean one is
        message += f"; {cleaned['out']} holds the corpus without the gated documents"
    raise CheckFailed(message)


def render_markdown(report: dict[str, Any], *, max_items: int = 50) -> str:
    """A readable summary: gate verdict, per-eval table, hits grouped per eval item."""
    return render_page("contamination.md.j2", **page_context(report, max_items=max_items))


def write_reports(report: dict[str, Any], directory: str | Path) -> list[Path]:
    """Write contamination.json, .md and .html into `directory` (atomically each)."""
    folder = Path(directory)
    paths = []
    texts = (
        json.dumps(report, indent=2, ensure_ascii=False) + "\n",
        render_markdown(report),
        render_html(report),
    )
    for name, text in zip(REPORT_FILES, texts, strict=True):
        with atomic_write(folder / name, compress=False) as out:
            out.write(text.encode("utf-8"))
        paths.append(folder / name)
    return paths

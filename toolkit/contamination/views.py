"""What the report pages show of a check: hits grouped per eval item, the gate in words.

Shared by the contamination report (HTML and Markdown) and the build report,
so each names an item the same way (its own id, else `eval[index]`) and says
the same about the gate: passed; exceeded but the gated documents were removed
by decontamination (the run went on); or failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from toolkit.contamination.judge import judge_line

__all__ = ["GateOutcome", "gate_outcome", "group_hits", "item_label", "page_context"]


def item_label(hit: Mapping[str, Any]) -> str:
    """An eval item's name on a page: its row id, else `eval[index]`."""
    return str(hit.get("eval_id") or f"{hit['eval']}[{hit['eval_index']}]")


def _strength(hit: Mapping[str, Any]) -> tuple[bool, float, str, str]:
    return (not hit["gated"], -float(hit["score"]), str(hit["stage"]), str(hit["doc_id"]))


def group_hits(hits: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per eval item with its hits inside, strongest first (gated, then score).

    Items are ordered the same way by their strongest hit, then by eval and index.
    """
    groups: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for hit in hits:
        groups.setdefault((hit["eval"], hit["eval_index"]), []).append(hit)
    out = []
    for (name, index), members in groups.items():
        members.sort(key=_strength)
        first = members[0]
        out.append(
            {
                "eval": name,
                "eval_index": index,
                "eval_id": first.get("eval_id") or None,
                "label": item_label(first),
                "item_text": first.get("item_text", ""),
                "gated": any(h["gated"] for h in members),
                "best": first["score"],
                "documents": len({(h["source"], h["doc_id"]) for h in members}),
                "hits": members,
            }
        )
    out.sort(key=lambda g: (*_strength(g["hits"][0])[:2], g["eval"], g["eval_index"]))
    return out


State = Literal["passed", "decontaminated", "failed"]


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """The gate's verdict as a page states it: `state` picks the colour."""

    state: State
    headline: str
    detail: str


def _threshold(gate: Mapping[str, Any]) -> str:
    """The gate in words: a stem (or whole item) covered by n-grams, or reworded."""
    cosine, verifier = gate.get("cosine"), gate.get("verifier")
    return (
        f"stem or whole item: n-gram coverage ≥ {gate['ngram_share']}"
        + (f", cosine ≥ {cosine}" if cosine is not None else "")
        + (f", or verified reworded copy (p ≥ {verifier})" if verifier is not None else "")
    )


def gate_outcome(
    gate: Mapping[str, Any],
    decontamination: Mapping[str, Any] | None,
    *,
    plan_hits: int = 0,
) -> GateOutcome:
    """The gate in words, from the report's `summary.gate` and `decontamination`.

    A gate exceeded in a check that decontaminated is not a failure of the run:
    the documents holding the gated items were removed (or cut), and what went
    on holds none of them. `plan_hits` counts gated hits in plan prompts, which
    decontamination does not touch.
    """
    items = gate["failing_items"]
    if gate["passed"]:
        return GateOutcome(
            "passed", "Gate passed", f"no eval item at or above the gate ({_threshold(gate)})."
        )
    found = f"{items} eval item(s) at or above the gate ({_threshold(gate)})"
    if decontamination is None:
        return GateOutcome("failed", "Gate FAILED", f"{found}.")
    removed, cut = decontamination.get("dropped", 0), decontamination.get("cut", 0)
    plans = f"{plan_hits} gated hit(s) in generation plans, which decontamination leaves alone"
    if not removed and not cut:
        return GateOutcome(
            "decontaminated",
            "Gate exceeded in generation plans only",
            f"{found}: {plans}; no document held them, so the corpus has none.",
        )
    action = f"{removed} document(s) holding them were removed" + (
        f" and {cut} had the matched spans cut out" if cut else ""
    )
    return GateOutcome(
        "decontaminated",
        "Gated items removed by decontamination",
        f"{found} were found; {action}, so the decontaminated corpus holds none of them."
        + (f" Still there: {plans}." if plan_hits else ""),
    )


def page_context(report: dict[str, Any], *, max_items: int) -> dict[str, Any]:
    """What the HTML and Markdown pages are filled from: the report, hits grouped per
    eval item (the strongest `max_items`), and the gate in words."""
    summary = report["summary"]
    groups = group_hits(report["hits"])
    plan_hits = sum(1 for h in report["hits"] if h["gated"] and h["source"] != "corpus")
    outcome = gate_outcome(summary["gate"], report.get("decontamination"), plan_hits=plan_hits)
    return {
        "summary": summary,
        "gate": summary["gate"],
        "outcome": outcome,
        "judge": judge_line(summary["judge"]) if summary.get("judge") else "",
        "evals": [
            (name, row, report["distance"].get(name, {})) for name, row in summary["evals"].items()
        ],
        "closest": report["distance"],
        "hits": len(report["hits"]),
        "groups": groups[:max_items],
        "more_items": max(0, len(groups) - max_items),
        "too_short": [{**t, "label": item_label(t)} for t in report["too_short"]],
    }

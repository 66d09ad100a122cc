"""judge: an LLM judge (or its offline stand-in) rates, revises and gates the quality-kept corpus.

Enabled by a `[judge]` table. It reads quality's kept documents and hands its
own kept ones to dedup (`corpus`). Its answers (journal, cost ledger, batch
state) stay in the folder across reruns, outside what a rerun clears, so a
killed or failed run resumes without paying twice.

Its report section reads only the stage's files (`judge/summary.json`,
`judge/verdicts.jsonl`): per kind and per generation template, how many
documents scored 1 to 5 on each scale after revision, with the mean; the
**deliberation** figure, the share of stories and advice whose reasoning
scores 4 or more (before and after revision); what revision did; and who
judged, a stand-in named as one.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import InputError
from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.sections import NOT_RUN, Section, load_json, ran
from toolkit.pipeline.stages.base import Stage, metadata_written_by
from toolkit.svg import bar_chart

__all__ = [
    "DELIBERATE",
    "DELIBERATION_KINDS",
    "JUDGE_LEDGER",
    "Judge",
    "judge_figures",
    "judge_view",
]

AXES = ("faithfulness", "quality", "reasoning")
#: The kinds whose AI must give its reasons, and the least reasoning score that counts.
DELIBERATION_KINDS = ("story", "advice")
DELIBERATE = 4
_STAND_IN = (
    "scores come from observable text features (grounding in the principle, "
    "repetition, reason and alternative sentences), not from a model"
)


def _rows(path: Path) -> Iterable[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as err:
                    raise InputError(f"{path}:{lineno}: not a verdict row ({err})") from None


def _spread(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per scale: documents at each score 1-5 and the mean, over rows with a verdict."""
    out: dict[str, Any] = {"documents": len(rows)}
    for axis in AXES:
        scores = [row["after"][axis] for row in rows if axis in row.get("after", {})]
        counts = Counter(scores)
        out[axis] = {
            "counts": [counts.get(score, 0) for score in range(1, 6)],
            "mean": round(sum(scores) / len(scores), 3) if scores else None,
        }
    return out


def _share(rows: Sequence[dict[str, Any]], side: str) -> dict[str, Any]:
    rated = [row for row in rows if "reasoning" in row.get(side, {})]
    deliberate = sum(row[side]["reasoning"] >= DELIBERATE for row in rated)
    share = round(deliberate / len(rated), 4) if rated else None
    return {"documents": len(rated), "deliberate": deliberate, "share": share}


def judge_figures(layout: BuildLayout, _: Sequence[str]) -> dict[str, Any]:
    folder = layout.stage("judge")
    summary = load_json(folder / "summary.json")
    if summary is None:
        return dict(NOT_RUN)
    rows = [row for row in _rows(folder / "verdicts.jsonl") if row.get("after")]
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_template: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
        by_template[row.get("template") or "(none)"].append(row)
    deliberating = [row for row in rows if row["kind"] in DELIBERATION_KINDS]
    reasons = {k: v for k, v in summary.get("reasons", {}).items() if k != "revised"}
    return ran(
        backend=summary.get("backend"),
        model=summary.get("model"),
        stand_in=bool(summary.get("stand_in")),
        template=summary.get("template"),
        revise_template=summary.get("revise_template"),
        documents=summary.get("documents", 0),
        judged=summary.get("judged", 0),
        errors=summary.get("errors", 0),
        not_judged=summary.get("not_judged", 0),
        passed=summary.get("passed", 0),
        revised=summary.get("revised", 0),
        attempts=summary.get("attempts", {}),
        rejected=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        thresholds=summary.get("settings", {}).get("thresholds", {}),
        gate=summary.get("settings", {}).get("gate", True),
        revision_usd=summary.get("revision_usd", 0.0),
        budget_usd=summary.get("settings", {}).get("budget_usd"),
        cost_usd=summary.get("cost_usd", 0.0),
        by_kind={kind: _spread(group) for kind, group in sorted(by_kind.items())},
        by_template={name: _spread(group) for name, group in sorted(by_template.items())},
        deliberation={
            "kinds": list(DELIBERATION_KINDS),
            "least": DELIBERATE,
            "after": _share(deliberating, "after"),
            "before": _share(deliberating, "before"),
            "by_kind": {
                kind: _share(by_kind.get(kind, []), "after") for kind in DELIBERATION_KINDS
            },
        },
    )


def _table(groups: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, spread in groups.items():
        for axis in AXES:
            entry = spread[axis]
            if entry["mean"] is not None:
                rows.append([name, axis, *entry["counts"], entry["mean"]])
    return rows


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.0f}%"


def judge_view(j: dict[str, Any]) -> dict[str, Any]:
    """What the page shows: who judged, the deliberation figure, distributions, revision."""
    d = j["deliberation"]
    after, before = d["after"], d["before"]
    bars = [
        (kind, 100.0 * share["share"])
        for kind, share in d["by_kind"].items()
        if share["share"] is not None
    ]
    attempts = sorted(j["attempts"].items(), key=lambda item: (-item[1], item[0]))
    return {
        "judge": f"{j['backend']} ({j['model']})",
        "stand_in": _STAND_IN if j["stand_in"] else "",
        "template": j["template"],
        "revise_template": j["revise_template"],
        "documents": j["documents"],
        "judged": j["judged"],
        "errors": j["errors"],
        "not_judged": j["not_judged"],
        "passed": j["passed"],
        "revised": j["revised"],
        "thresholds": ", ".join(f"{axis} ≥ {n}" for axis, n in j["thresholds"].items()),
        "gate": j["gate"],
        "deliberation": {
            "share": _percent(after["share"]),
            "deliberate": after["deliberate"],
            "documents": after["documents"],
            "before": _percent(before["share"]),
            "least": d["least"],
            "chart": bar_chart(bars, label="share with reasoning ≥ 4, % by kind"),
        },
        "header": ["", "scale", "1", "2", "3", "4", "5", "mean"],
        "by_kind": _table(j["by_kind"]),
        "by_template": _table(j["by_template"]),
        "attempts": [[outcome, n] for outcome, n in attempts],
        "rejected": [[reason, n] for reason, n in j["rejected"].items()],
        "cost": f"${j['cost_usd']:,.4f}",
        "revision_usd": f"${j['revision_usd']:,.4f}",
        "budget": "none" if j["budget_usd"] is None else f"${j['budget_usd']:,.2f}",
    }


#: The judge stage's cost ledger, in its folder (`toolkit.quality.judge_run`).
JUDGE_LEDGER = "ledger.jsonl"
_OUTPUTS = ("kept", "rejected", "verdicts.jsonl", "summary.json", "stage.json")


class Judge(Stage):
    name = "judge"
    reads = ("quality",)
    writes_metadata = metadata_written_by("judge")
    reads_metadata = ("quality",)
    section = Section("judge", "Judge", judge_figures, judge_view)

    @classmethod
    def instances(cls, config: BuildConfig) -> tuple[str | None, ...]:
        return () if config.judging is None else (None,)

    @property
    def folder(self) -> Path:
        return self.layout.stage(self.name)

    def _backend(self) -> tuple[str, str]:
        from toolkit.quality.judge_config import resolve_backend

        assert self.config.judging is not None
        return resolve_backend(self.config.judging)

    def inputs(self) -> Sequence[Path]:
        return [self.config.constitution, steps.profile_path(self.config)]

    def settings(self) -> Any:
        from toolkit.generate.templates import load_template

        assert self.config.judging is not None
        refs = [load_template(name).ref for name in ("judge", "revise")]
        quality = [self.config.quality_embed, self.config.spacy_model]
        return [self.config.judging.to_dict(), self._backend(), refs, quality]

    def outputs(self) -> Sequence[Path]:
        return [self.folder / "kept", self.folder / "summary.json"]

    def writes(self) -> Sequence[Path]:
        return [self.folder / name for name in _OUTPUTS]

    def digest_of(self) -> Sequence[Path]:
        return [self.folder / "kept"]

    def corpus(self) -> Path | None:
        return self.folder / "kept"

    def run(self) -> dict[str, Any]:
        from toolkit.constitution import load_constitution
        from toolkit.generate.backends import open_backend
        from toolkit.quality import load_profile
        from toolkit.quality.judge_offline import OfflineCritic
        from toolkit.quality.judge_run import critique_corpus
        from toolkit.quality.revise_quality import ProfileRecheck

        settings, config = self.config.judging, self.config
        assert settings is not None
        name, model = self._backend()
        self.folder.mkdir(parents=True, exist_ok=True)
        backend = (
            OfflineCritic()
            if name == "offline"
            else open_backend(
                name,
                out_dir=self.folder,
                batch=settings.batch,
                concurrency=settings.concurrency,
                timeout=config.timeout,
            )
        )
        constitution = load_constitution(config.constitution)
        profile = load_profile(config.quality_profile) if config.quality_profile else load_profile()
        recheck = ProfileRecheck(
            profile,
            constitution=constitution,
            spacy_model=config.spacy_model,
            embeddings=config.quality_embed,
        )
        summary = critique_corpus(
            self.layout.quality / "kept",
            self.folder,
            backend,
            constitution=constitution,
            settings=settings,
            model=model,
            recheck=recheck,
            quiet=self.build.quiet,
        )
        keys = ("documents", "judged", "passed", "revised", "kept", "dropped", "cost_usd")
        return {key: summary[key] for key in keys} | {"stand_in": summary["stand_in"]}

"""The figures of a judge run, its verdicts file rows, and the check that fails it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import CheckFailed
from toolkit.metadata import JudgeMetadata
from toolkit.quality.revise_rounds import Case, Critic

__all__ = ["Tally", "check_run", "verdict_row"]


def verdict_row(case: Case, judged: JudgeMetadata) -> dict[str, Any]:
    """One line of verdicts.jsonl."""
    prov = case.first.provenance
    template = f"{prov.template}.{prov.template_version}" if prov.template_version else ""
    return {
        "id": case.first.id,
        "kind": case.first.kind,
        "template": template or prov.template or "",
        "before": case.before.scores() if case.before is not None else {},
        "after": judged["scores"],
        "revised_as": case.current.id if case.current is not case.first else None,
        "passed": judged["passed"],
        "error": case.error,
        "attempts": case.attempts,
    }


@dataclass
class Tally:
    """The figures of a run, document by document."""

    judged: int = 0
    errors: int = 0
    unjudged: int = 0
    passed: int = 0
    revised: int = 0
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)

    def add(self, case: Case, judged: JudgeMetadata) -> None:
        if case.verdict is None or case.before is None:
            self.errors += 1
            return
        self.judged += 1
        self.passed += judged["passed"]
        self.revised += case.current is not case.first
        self.before.update(case.before.scores())
        self.after.update(case.verdict.scores())

    def means(self, totals: Counter[str]) -> dict[str, float | None]:
        return {
            axis: round(totals[axis] / self.judged, 3) if self.judged else None
            for axis in ("faithfulness", "quality", "reasoning")
        }

    def summary(self, run: Critic, split: dict[str, Any]) -> dict[str, Any]:
        stop = run.asker.stop
        return {
            **split,
            "documents": self.judged + self.errors + self.unjudged,
            "judged": self.judged,
            "errors": self.errors,
            "not_judged": self.unjudged,
            "passed": self.passed,
            "revised": self.revised,
            "attempts": dict(sorted(run.counts.items())),
            "mean_before": self.means(self.before),
            "mean_after": self.means(self.after),
            "backend": run.backend.name,
            "model": run.model,
            "stand_in": run.stand_in,
            "template": run.judge_template.ref,
            "revise_template": run.revise_template.ref,
            "settings": run.settings.to_dict(),
            "sent": run.asker.sent,
            "reused": run.asker.reused,
            "revision_usd": round(run.spent, 6),
            "cost_usd": round(run.asker.ledger.summary()["cost_usd"], 6),
            "failed": len(run.failures),
            "first_error": run.first_error,
            "failure_cause": None if stop is None else stop.to_dict(),
        }


def check_run(run: Critic, summary: dict[str, Any]) -> None:
    """Fail the run (exit 1) when a request got no answer, or no document got a verdict."""
    again = "a rerun sends only what got no answer (answers received are kept)"
    stop = run.asker.stop
    if stop is not None:
        raise CheckFailed(f"judge: {stop.reason}; {stop.hint or 'fix its cause'}, then {again}")
    if summary["errors"] and not summary["judged"]:
        first = " ".join(str(run.first_error).split())
        raise CheckFailed(
            f"judge: every judge request failed ({summary['errors']} of {summary['errors']}); "
            f"the first: {first}"
        )
    if run.failures:
        first = " ".join(run.failures[0].split())
        raise CheckFailed(
            f"judge: {len(run.failures)} request(s) got no answer (the first: {first}); {again}"
        )

"""Critique-and-revise rounds over judged documents: the work of one judge run.

`Critic` judges documents, rewrites those under a threshold (within the
revision budget, every request priced at its most before it is sent),
rechecks each revision against the quality profile, judges it again and
keeps it only if better on every scale; then it says what becomes of each
document (`decisions`): the original rejected as `revised` when a revision
replaced it, and the gate's verdict on what is handed on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from toolkit.constitution.model import Constitution
from toolkit.document import Document, normalise_text
from toolkit.errors import ReplyError, VerdictError
from toolkit.generate.backends.base import Backend, GenerationResult
from toolkit.generate.templates import load_template
from toolkit.metadata import JudgeAttempt, JudgeMetadata, RevisionMetadata
from toolkit.quality.composite import blend_judge
from toolkit.quality.judge_asker import Asker, result_cost
from toolkit.quality.judge_config import JudgeSettings
from toolkit.quality.judge_requests import is_stand_in, judge_request
from toolkit.quality.judge_verdict import Verdict, axes_of, below, is_better, parse_verdict
from toolkit.quality.revise import ceiling_usd, parse_revision, revise_request, revised_document
from toolkit.stages import Decision

__all__ = ["JOURNAL_FILE", "LEDGER_FILE", "Case", "Critic", "Recheck", "verdict_reasons"]

JOURNAL_FILE = "journal.jsonl"
LEDGER_FILE = "ledger.jsonl"
#: A revision and its profile failure (the first rule it breaks), or None when it passes.
Recheck = Callable[[Sequence[Document]], list[tuple[Document, str | None]]]


@dataclass
class Case:
    """One judged document through the rounds: the original, the text it now carries."""

    first: Document
    current: Document
    verdict: Verdict | None = None
    before: Verdict | None = None
    error: str | None = None
    attempts: list[JudgeAttempt] = field(default_factory=list)


class Critic:
    """One run's judge, reviser and bookkeeping: costs, outcomes and the first errors."""

    def __init__(
        self,
        backend: Backend,
        out: Path,
        constitution: Constitution,
        settings: JudgeSettings,
        model: str,
        recheck: Recheck | None,
    ) -> None:
        self.backend, self.constitution, self.settings = backend, constitution, settings
        self.model, self.recheck = model, recheck
        self.judge_template = load_template("judge")
        self.revise_template = load_template("revise")
        self.axes = axes_of(self.judge_template.version)
        self.stand_in = is_stand_in(backend)
        self.batch = bool(getattr(backend, "batch", False))
        self.asker = Asker(backend, out / JOURNAL_FILE, out / LEDGER_FILE, bills=not self.stand_in)
        self.spent = 0.0  # what revision has cost: revise requests and judging revisions
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []  # requests that got no answer
        self.first_error: str | None = None

    def judge(
        self, docs: Sequence[Document], *, spend: bool = False
    ) -> list[tuple[Verdict | None, str | None]]:
        """A verdict or an error per document; `spend`: its cost counts as revision's."""
        template, constitution = self.judge_template, self.constitution
        requests = [judge_request(d, template, constitution, self.model) for d in docs]
        results = self.asker.ask(requests)
        out: list[tuple[Verdict | None, str | None]] = []
        for request in requests:
            result = results.get(request.key)
            if spend and result is not None:
                self.spent += result_cost(result)
            if result is None or not result.ok or result.text is None:
                error = "not sent: the judge stopped early" if result is None else result.error
                out.append((None, self._failed(error or "the backend returned no text")))
                continue
            try:
                out.append((parse_verdict(result.text, self.axes), None))
            except VerdictError as err:
                out.append((None, self._error(f"malformed verdict: {err}")))
        return out

    def _failed(self, error: str) -> str:
        self.failures.append(error)
        return self._error(error)

    def _error(self, error: str) -> str:
        self.first_error = self.first_error or error
        return error

    def revise(self, cases: list[Case], round_: int) -> None:
        """One critique-and-revise round over the cases still under a threshold."""
        thresholds = self.settings.thresholds
        weak = [c for c in cases if c.verdict is not None and below(c.verdict, thresholds)]
        chosen, committed = [], 0.0
        for case in weak:
            assert case.verdict is not None
            request = revise_request(
                case.current,
                case.verdict,
                below(case.verdict, thresholds),
                self.revise_template,
                self.constitution,
                self.model,
            )
            longer = replace(case.current, text=case.current.text * 2)  # a revision may grow
            rejudge = judge_request(longer, self.judge_template, self.constitution, self.model)
            price = sum(
                ceiling_usd(r, batch=self.batch, stand_in=self.stand_in) for r in (request, rejudge)
            )
            budget = self.settings.budget_usd
            if budget is not None and self.spent + committed + price > budget:
                case.attempts.append({"round": round_, "outcome": "over budget"})
                self.counts["over budget"] += 1
                continue
            committed += price
            chosen.append((case, request))
        results = self.asker.ask([request for _, request in chosen])
        revisions: list[tuple[Case, Document]] = []
        for case, request in chosen:
            result = results.get(request.key)
            if result is not None:
                self.spent += result_cost(result)
            outcome = self._revision(case, result, round_)
            if isinstance(outcome, Document):
                revisions.append((case, outcome))
            else:
                case.attempts.append({"round": round_, "outcome": outcome})
                self.counts[outcome.split(":")[0]] += 1
        self._settle(revisions, round_)

    def _revision(self, case: Case, result: GenerationResult | None, round_: int) -> Document | str:
        """The revision `result` holds, or the attempt's outcome when there is none."""
        if result is None or not result.ok or result.text is None:
            error = "not sent: the judge stopped early" if result is None else result.error
            return f"error: {self._failed(error or 'the backend returned no text')}"
        try:
            text = parse_revision(result.text)
        except ReplyError as err:
            return f"error: {self._error(f'malformed revision: {err}')}"
        if normalise_text(text) == normalise_text(case.current.text):
            return "no change"
        assert case.before is not None and case.verdict is not None
        provenance: RevisionMetadata = {
            "of": case.first.id,
            "previous": case.current.id,
            "round": round_,
            "template": self.revise_template.ref,
            "backend": self.backend.name,
            "model": result.model,
            "stand_in": self.stand_in,
            "original_text": case.first.text,
            "before": case.before.scores(),
            "after": {},
        }
        return revised_document(case.current, text, provenance, first=case.first)

    def _settle(self, revisions: list[tuple[Case, Document]], round_: int) -> None:
        """Recheck the revisions against the profile, judge them, keep the better ones."""
        docs = [doc for _, doc in revisions]
        checked = (
            self.recheck(docs) if self.recheck is not None and docs else [(d, None) for d in docs]
        )
        verdicts = self.judge([doc for doc, _ in checked], spend=True)
        for (case, _), (doc, failure), (verdict, error) in zip(
            revisions, checked, verdicts, strict=True
        ):
            attempt: JudgeAttempt = {"round": round_, "id": doc.id, "outcome": ""}
            if verdict is not None:
                attempt["scores"] = verdict.scores()
            assert case.verdict is not None
            if verdict is None:
                attempt["outcome"] = f"error: {error}"
            elif failure is not None:
                attempt["outcome"] = f"fails quality rule {failure}"
            elif is_better(verdict, case.verdict):
                attempt["outcome"] = "kept"
                revision = dict(doc.metadata["revision"])
                revision["after"] = verdict.scores()
                case.current = replace(doc, metadata={**doc.metadata, "revision": revision})
                case.verdict = verdict
            else:
                attempt["outcome"] = "not better"
            case.attempts.append(attempt)
            self.counts[attempt["outcome"].split(":")[0]] += 1

    def metadata(self, case: Case) -> JudgeMetadata:
        verdict = case.verdict
        scores = verdict.scores() if verdict is not None else {}
        reasons = verdict.to_dict() if verdict is not None else {}
        weak = below(verdict, self.settings.thresholds) if verdict is not None else []
        return {
            "scores": scores,
            "reasons": {axis: reasons[f"{axis}_reason"] for axis in scores},
            "error": case.error,
            "template": self.judge_template.ref,
            "backend": self.backend.name,
            "model": self.model,
            "stand_in": self.stand_in,
            "thresholds": dict(self.settings.thresholds),
            "below": weak,
            "passed": verdict is not None and not weak,
            "attempts": case.attempts,
        }

    def decisions(self, case: Case) -> Iterator[Decision]:
        """The original (rejected as `revised` when a revision replaced it), then what is
        handed on: the document or its revision, or its rejection by the gate."""
        judged = self.metadata(case)
        verdict = case.verdict
        current = case.current
        quality = blend_judge(
            current.metadata.get("quality"), judged["scores"], self.settings.score_share
        )
        extra = {"quality": quality} if quality is not None else {}
        if current is not case.first:
            before: JudgeMetadata = {**judged, "scores": {}, "reasons": {}, "below": []}
            if case.before is not None:
                before = {
                    **before,
                    "scores": case.before.scores(),
                    "reasons": verdict_reasons(case.before),
                    "below": below(case.before, self.settings.thresholds),
                    "passed": False,
                }
            original = replace(case.first, metadata={**case.first.metadata, "judge": before})
            yield Decision(original, reason="revised", details={"revised_as": current.id})
        doc = replace(current, metadata={**current.metadata, **extra, "judge": judged})
        if verdict is not None and judged["below"] and self.settings.gate:
            details = {"scales": judged["below"], "scores": judged["scores"]}
            yield Decision(doc, reason=f"low_{judged['below'][0]}", details=details)
        else:
            yield Decision(doc)


def verdict_reasons(verdict: Verdict) -> dict[str, str]:
    data = verdict.to_dict()
    return {axis: data[f"{axis}_reason"] for axis in verdict.scores()}

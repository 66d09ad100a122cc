"""Send requests once: every answer is journaled as it arrives, and reused on a rerun.

The judge stage asks three kinds of question (judge the original, revise it,
judge the revision) and may be killed between any two. Each result goes to
the stage's journal (`toolkit.generate.journal`) and cost ledger the moment
the backend reports it; a rerun answers every request the journal holds a
success for from the journal, so nothing answered is paid for twice. A
backend that does not bill (the offline stand-in) is simply asked again:
its answers cost nothing and follow its code, not an old journal. In
batch mode the backend's own state file covers what was submitted and not
yet collected (`toolkit.generate.backends.anthropic.batch`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from toolkit.generate.backends.base import (
    Backend,
    GenerationRequest,
    GenerationResult,
    StopSending,
    Usage,
)
from toolkit.generate.early_stop import EarlyStop, FailureWatch
from toolkit.generate.journal import Entry, Journal
from toolkit.generate.ledger import CostLedger
from toolkit.generate.pricing import cost

__all__ = ["Asker", "result_cost"]


def result_cost(result: GenerationResult) -> float:
    """What `result` cost, from its usage (0 offline or without usage)."""
    if result.mode == "offline" or result.usage == Usage():
        return 0.0
    return cost(result.model, result.usage, batch=result.mode == "batch")


class Asker:
    """Answers requests from the journal at `journal`, else through `backend`.

    `sent` counts requests sent in this run (a batch submitted by an earlier
    run and collected in this one is not sent again), `reused` those answered
    from the journal; `stop` holds why sending stopped early (every request failing
    alike, the service unreachable), after which nothing more is sent.
    """

    def __init__(self, backend: Backend, journal: Path, ledger: Path, *, bills: bool) -> None:
        self.backend = backend
        self.journal = Journal(journal)
        self.ledger = CostLedger(ledger)
        self.bills = bills
        self.sent = self.reused = 0
        self.stop: EarlyStop | None = None
        self._index = self.journal.index() if bills else {}
        self._answered: dict[str, GenerationResult] = {}  # this run's successes

    def ask(self, requests: Sequence[GenerationRequest]) -> dict[str, GenerationResult]:
        """A result per request key; a request without one was not sent (stopped early)."""
        results: dict[str, GenerationResult] = {}
        fresh: dict[str, GenerationRequest] = {}  # a request asked twice goes once
        for request in requests:
            entry = self._index.get(request.key) if self.bills else None
            if request.key in self._answered:
                results[request.key] = self._answered[request.key]
            elif entry is not None and entry.ok:
                results[request.key] = self._from_journal(request, entry)
            else:
                fresh.setdefault(request.key, request)
        self.reused += len(results)
        if not fresh or self.stop is not None:
            return results
        owners = {key: str(r.context.get("id", "")) for key, r in fresh.items()}
        watch = FailureWatch(len(fresh))

        def collect(result: GenerationResult) -> None:
            if self.bills:
                owner = owners.get(result.key, "")
                self.journal.append(result, plan_id=owner, backend=self.backend.name)
                self.ledger.record(result)
            results[result.key] = result
            if result.ok:
                self._answered[result.key] = result
            watch.see(result)

        def sent(request: GenerationRequest, mode: str) -> None:
            self.sent += 1  # a batch collected from an earlier run is not sent again
            self.ledger.record_sent(request, mode)

        if not self.bills:
            self.sent += len(fresh)
        with contextlib.suppress(StopSending):  # the watch holds the cause
            self.backend.generate(
                list(fresh.values()), collect, on_sent=sent if self.bills else None
            )
        self.stop = self.stop or watch.stop
        return results

    def _from_journal(self, request: GenerationRequest, entry: Entry) -> GenerationResult:
        row = self.journal.read(entry)
        usage = Usage(**{k: int(v or 0) for k, v in (row.get("usage") or {}).items()})
        return GenerationResult(
            key=request.key,
            model=str(row.get("model") or request.model),
            text=row.get("text"),
            usage=usage,
            stop_reason=row.get("stop_reason"),
            mode=str(row.get("mode") or "live"),
        )

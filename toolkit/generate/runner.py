"""Run a plan: send what is not yet done, journal every result, rebuild the corpus.

The journal (`DIR/journal.jsonl`) is the source of truth. Each result is
journaled and costed the moment the backend reports it, so a crash or a
SIGKILL loses only the requests still in flight (the ledger has their `sent`
rows, so `status` can still bound what they cost); a rerun sends exactly the
keys without a successful row. The documents corpus (`DIR/documents/`) and
`DIR/run.json` are rebuilt from the journal at the end of every run, also one
cut short, so what was paid for is always on disk as documents.

A run stops early, sending nothing more, when every request fails the same way
or the API is unreachable (`toolkit.generate.early_stop`); `failure_cause`
then names the cause and `check_complete` says it in its one line. A pilot
(`pilot=K`) sends the first K items per template and reports on them
(`run_report.pilot_report`); its status says it was a pilot.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from toolkit.constitution import Constitution, load_constitution
from toolkit.errors import BackendError, CheckFailed, ConfigError, InputError
from toolkit.generate.backends.base import (
    Backend,
    GenerationRequest,
    GenerationResult,
    StopSending,
    SystemBlock,
)
from toolkit.generate.early_stop import EarlyStop, FailureWatch
from toolkit.generate.journal import Journal
from toolkit.generate.ledger import CostLedger
from toolkit.generate.plan import PlanItem, read_plan
from toolkit.generate.run_report import estimate_cost, pilot_report
from toolkit.generate.rundir import (
    JOURNAL,
    LEDGER,
    check_same_run,
    exclusive,
    run_status,
    write_run_documents,
    write_run_json,
)
from toolkit.generate.templates import load_template, render
from toolkit.progress import progress

__all__ = [
    "SYSTEM_TEMPLATE",
    "RunSummary",
    "check_complete",
    "estimate_run",
    "prepare_requests",
    "run_plan",
    "status",
    "status_line",
]

#: The style guide that follows the constitution in every system prompt.
SYSTEM_TEMPLATE = ("system", "v1")


@dataclass
class RunSummary:
    """Figures of one run (or dry run); `cost_usd` is what this run spent.

    `status`: complete, incomplete (a request failed or got no result),
    stopped-early (see `failure_cause`), pilot-complete or pilot-incomplete
    (a `--pilot` run: only its items were considered), interrupted, failed
    (the backend raised), dry-run. `failure_cause` ({reason, hint}) is set when
    the run stopped early, or when all of its requests failed the same way.
    """

    plan: str
    out_dir: str
    backend: str
    model: str
    plan_items: int
    selected: int
    already_done: int
    to_send: int
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    documents: int = 0
    cost_usd: float = 0.0
    status: str = "running"
    dry_run: bool = False
    estimate: dict[str, Any] | None = None
    pilot: dict[str, Any] | None = None
    failure_cause: dict[str, str] | None = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "not_sent": self.pending}

    @property
    def pending(self) -> int:
        """Requests of this run that got no result at all (not sent, when it stopped early)."""
        return 0 if self.dry_run else self.to_send - self.sent


def status_line(summary: RunSummary) -> str:
    """The status of a run in words; a pilot's says how much of the plan it covered."""
    if summary.pilot is None or not summary.status.startswith("pilot-"):
        return summary.status.replace("-", " ")
    per = summary.pilot["first_per_template"]
    rest = summary.pilot["not_in_pilot"]
    state = "complete" if summary.status == "pilot-complete" else "incomplete"
    text = (
        f"pilot {state}: {summary.selected} of {summary.plan_items} plan items "
        f"(the first {per} per template)"
    )
    if rest:
        text += f"; run without --pilot for the other {rest}"
    return text


def check_complete(summary: RunSummary, rerun: str) -> None:
    """Raise `CheckFailed` (exit 1) when a request failed or got no result.

    `rerun` is the command that sends them again (failed keys are never done).
    When every request failed the same way, or the run stopped early, the line
    names the cause first.
    """
    if summary.dry_run or not (summary.failed or summary.pending):
        return
    if summary.failure_cause is not None:
        cause = EarlyStop(**summary.failure_cause)
        raise CheckFailed(
            cause.line(
                done=summary.sent,
                succeeded=summary.succeeded,
                not_sent=summary.pending,
                rerun=f"rerun `{rerun}`",
            )
        )
    verb = "is" if summary.pending == 1 else "are"
    raise CheckFailed(
        f"{summary.failed} of {summary.to_send} requests failed and {summary.pending} {verb} "
        f"pending; rerun `{rerun}` to retry them"
    )


def _resolve(plan_path: Path, name: str) -> Path:
    """A constitution path as planned: relative to the cwd, else to the plan's folder."""
    path = Path(name)
    if path.exists() or path.is_absolute():
        return path
    beside = plan_path.parent / path
    return beside if beside.exists() else path


def _constitutions(plan_path: Path, items: Sequence[PlanItem]) -> dict[str, Constitution]:
    """Each constitution the plan names, loaded once and checked against the plan."""
    loaded: dict[str, Constitution] = {}
    for item in items:
        if item.constitution in loaded:
            constitution = loaded[item.constitution]
        else:
            constitution = load_constitution(_resolve(plan_path, item.constitution))
            loaded[item.constitution] = constitution
        if constitution.version != item.constitution_version:
            raise InputError(
                f"{plan_path}: {item.plan_id} was planned against {item.constitution} version "
                f"{item.constitution_version}, but it is now version {constitution.version}; "
                "plan again with `ccorpus generate plan`"
            )
    return loaded


def prepare_requests(
    plan_path: str | Path, model: str
) -> tuple[list[PlanItem], list[GenerationRequest]]:
    """Every item of the plan and its request, in plan order."""
    plan = Path(plan_path)
    items = list(read_plan(plan))
    constitutions = _constitutions(plan, items)
    style = load_template(*SYSTEM_TEMPLATE)
    systems = {
        name: (
            SystemBlock(c.source, cache=True),
            SystemBlock(render(style, {"constitution_title": c.title})),
        )
        for name, c in constitutions.items()
    }
    requests: list[GenerationRequest] = []
    owners: dict[str, str] = {}
    for item in items:
        constitution = constitutions[item.constitution]
        texts = {pid: constitution.resolve(pid) for pid in item.principle_ids}
        missing = [pid for pid, text in texts.items() if text is None]
        if missing:
            raise InputError(
                f"{plan}: {item.plan_id}: no principle {missing[0]!r} in {item.constitution}"
            )
        request = GenerationRequest(
            key=item.key(model),
            model=model,
            prompt=item.prompt,
            system=systems[item.constitution],
            max_tokens=item.max_tokens,
            context={
                "kind": item.kind,
                "plan_id": item.plan_id,
                "attributes": item.attributes,
                "constitution_title": constitution.title,
                "principles": [
                    {"id": pid, "title": text[0], "text": text[1]}
                    for pid, text in texts.items()
                    if text is not None
                ],
            },
        )
        if request.key in owners:
            raise InputError(
                f"{plan}: {owners[request.key]} and {item.plan_id} would send the same request "
                "(same prompt and sample_index); give one a different sample_index"
            )
        owners[request.key] = item.plan_id
        requests.append(request)
    return items, requests


def _pilot(items: Sequence[PlanItem], pilot: int | None) -> list[int]:
    """Indices of the items a run considers: all, or the first `pilot` per template."""
    if pilot is None:
        return list(range(len(items)))
    if pilot < 1:
        raise ConfigError(f"pilot must be at least 1, got {pilot}")
    seen: dict[str, int] = {}
    chosen = []
    for index, item in enumerate(items):
        if seen.get(item.template, 0) < pilot:
            seen[item.template] = seen.get(item.template, 0) + 1
            chosen.append(index)
    return chosen


def estimate_run(
    plan_path: str | Path,
    out_dir: str | Path,
    *,
    backend_name: str,
    model: str,
    batch: bool = False,
    pilot: int | None = None,
) -> RunSummary:
    """What a run would send and cost, sending and writing nothing."""
    items, requests = prepare_requests(plan_path, model)
    selected = [requests[i] for i in _pilot(items, pilot)]
    done = Journal(Path(out_dir) / JOURNAL).completed()
    pending = [r for r in selected if r.key not in done]
    return RunSummary(
        plan=str(plan_path),
        out_dir=str(out_dir),
        backend=backend_name,
        model=model,
        plan_items=len(items),
        selected=len(selected),
        already_done=len(selected) - len(pending),
        to_send=len(pending),
        status="dry-run",
        dry_run=True,
        estimate=estimate_cost(pending, model=model, batch=batch, priced=backend_name != "offline"),
    )


class _Ticker:
    """A `toolkit.progress` bar advanced from a callback instead of a loop."""

    def __init__(self, total: int, *, quiet: bool) -> None:
        bar = progress(
            itertools.repeat(None), description="generating", total=total, quiet=quiet or not total
        )
        self._bar = cast(Generator[None, None, None], bar)
        next(self._bar)  # draws the bar; each later `next` advances it by one

    def tick(self) -> None:
        next(self._bar)

    def close(self) -> None:
        self._bar.close()


def run_plan(
    plan_path: str | Path,
    out_dir: str | Path,
    *,
    backend: Backend,
    model: str,
    pilot: int | None = None,
    dry_run: bool = False,
    quiet: bool = False,
) -> RunSummary:
    """Send every request of the plan not yet done in `out_dir`; see the module docstring."""
    if dry_run:
        batch = bool(getattr(backend, "batch", False))
        return estimate_run(
            plan_path, out_dir, backend_name=backend.name, model=model, batch=batch, pilot=pilot
        )
    plan, out = Path(plan_path), Path(out_dir)
    items, requests = prepare_requests(plan, model)
    keys = [r.key for r in requests]
    out.mkdir(parents=True, exist_ok=True)
    with exclusive(out):
        check_same_run(out, plan, backend.name, model)
        journal, ledger = Journal(out / JOURNAL), CostLedger(out / LEDGER)
        selected = _pilot(items, pilot)
        done = journal.completed()
        pending = [requests[i] for i in selected if keys[i] not in done]
        plan_ids = {r.key: items[i].plan_id for i, r in enumerate(requests)}
        summary = RunSummary(
            plan=str(plan),
            out_dir=str(out),
            backend=backend.name,
            model=model,
            plan_items=len(items),
            selected=len(selected),
            already_done=len(selected) - len(pending),
            to_send=len(pending),
        )
        write_run_json(out, {**summary.to_dict(), "plan": str(plan.resolve())})
        unanswered = {r.key for r in pending}
        ticks = _Ticker(len(pending), quiet=quiet)
        watch = FailureWatch(len(pending))

        def on_result(result: GenerationResult) -> None:
            if result.key not in unanswered:
                raise BackendError(
                    f"backend {backend.name!r} reported a result for key {result.key}, "
                    "which was not asked for or was already answered"
                )
            journal.append(result, plan_id=plan_ids[result.key], backend=backend.name)
            unanswered.discard(result.key)
            summary.cost_usd += ledger.record(result)
            summary.sent += 1
            if result.ok:
                summary.succeeded += 1
            else:
                summary.failed += 1
                if len(summary.errors) < 5:
                    summary.errors.append(f"{plan_ids[result.key]}: {result.error}")
            ticks.tick()
            watch.see(result)  # raises StopSending once, when the run should stop

        try:
            if pending:
                # On StopSending the watch holds the cause; the requests left were never sent.
                with contextlib.suppress(StopSending):
                    backend.generate(pending, on_result, on_sent=ledger.record_sent)
            if watch.stop is not None:
                summary.failure_cause = watch.stop.to_dict()
            if unanswered and watch.stop is not None:
                summary.errors.append(f"{len(unanswered)} request(s) not sent: stopped early")
                summary.status = "stopped-early"
            else:
                if unanswered:
                    summary.errors.append(
                        f"{len(unanswered)} request(s) got no result from the backend"
                    )
                state = "incomplete" if unanswered or summary.failed else "complete"
                summary.status = state if pilot is None else f"pilot-{state}"
        except BaseException as err:
            summary.status = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
            raise
        finally:
            ticks.close()
            summary.documents = write_run_documents(
                out, items, keys, journal, system_template=".".join(SYSTEM_TEMPLATE)
            )
            if pilot is not None and summary.status.startswith("pilot-"):
                summary.pilot = pilot_report(
                    [items[i] for i in selected],
                    [keys[i] for i in selected],
                    journal,
                    per_template=pilot,
                    plan_items=len(items),
                    quiet=quiet,
                )
            summary.cost_usd = round(summary.cost_usd, 8)
            write_run_json(out, {**summary.to_dict(), "plan": str(plan.resolve())})
    return summary


#: `status(out_dir)`: plan items done, pending and failed, tokens and cost of a run directory.
status = run_status

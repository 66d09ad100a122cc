"""An append-only record of what each request cost, and of what it may cost.

One JSONL row per result, flushed and fsynced as it is written (a
`toolkit.io.jsonl_log` log), so a crash loses at most the row being written.
A final line cut short by such a crash is ignored when reading and trimmed
before the next append; a malformed line
anywhere else is a `RecordError`, since it means the file was damaged.

A backend that bills also has a `sent` row written each time a request goes
out, priced at its ceiling (estimated input, all of `max_tokens` as output).
A result answers the oldest open `sent` row of its key, unless it says
`answered: false` (its last attempt timed out). A `sent` row left open is a
request in flight at a kill, or an attempt that timed out: the API may have
billed it all the same. So `cost_usd` is what the answers say was spent, and
`upper_bound_usd` adds the ceiling of every open send. Ledgers written before
`sent` rows existed read as before, with no open sends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from toolkit.errors import RecordError
from toolkit.generate.backends.base import GenerationRequest, GenerationResult, Usage
from toolkit.generate.pricing import cost, estimate_usage
from toolkit.io.jsonl_log import JsonlLog, complete_lines

__all__ = ["CostLedger", "GroupSummary", "LedgerSummary"]

_TOKEN_KINDS = tuple(Usage().to_dict())


class GroupSummary(TypedDict):
    requests: int
    cost_usd: float


class LedgerSummary(TypedDict):
    requests: int
    errors: int
    tokens: dict[str, int]
    cost_usd: float
    by_model: dict[str, GroupSummary]
    by_mode: dict[str, GroupSummary]
    unanswered: int
    unanswered_usd: float
    upper_bound_usd: float


class CostLedger:
    """Costs of requests in the JSONL file at `path`.

    Result row: key, model, mode (live | batch | offline), ok, usage, cost_usd, ts
    (and `answered: false` when no response came).
    Sent row: event "sent", key, model, mode, ceiling_usd, ts.
    Offline rows cost 0; batch rows are priced at the batch discount.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._log = JsonlLog(self.path)

    def __repr__(self) -> str:
        return f"CostLedger({str(self.path)!r})"

    def record_sent(self, request: GenerationRequest, mode: str) -> float:
        """Append a `sent` row for `request` and return its ceiling in USD."""
        usd = cost(request.model, estimate_usage(request), batch=mode == "batch")
        self._append(
            {
                "event": "sent",
                "key": request.key,
                "model": request.model,
                "mode": mode,
                "ceiling_usd": round(usd, 8),
                "ts": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        return usd

    def record(self, result: GenerationResult) -> float:
        """Append the row for `result` and return its cost in USD."""
        usd = 0.0  # offline work and failed requests cost nothing
        if result.mode != "offline" and result.usage != Usage():
            usd = cost(result.model, result.usage, batch=result.mode == "batch")
        row = {
            "key": result.key,
            "model": result.model,
            "mode": result.mode,
            "ok": result.ok,
            "usage": result.usage.to_dict(),
            "cost_usd": round(usd, 8),
            "ts": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if not result.answered:
            row["answered"] = False
        self._append(row)
        return usd

    def _append(self, row: dict[str, Any]) -> None:
        self._log.append((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode())

    def rows(self) -> list[dict[str, Any]]:
        """Every complete row, oldest first; a torn final line is skipped."""
        rows: list[dict[str, Any]] = []
        for _, lineno, raw in complete_lines(self.path):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError as exc:
                raise RecordError(str(self.path), lineno, f"not a JSON ledger row: {exc}") from None
            if not isinstance(row, dict):
                raise RecordError(str(self.path), lineno, "a ledger row must be a JSON object")
            rows.append(row)
        return rows

    def summary(self) -> LedgerSummary:
        """Requests, errors, tokens by kind and USD totals, overall, by model and by mode;
        sends never answered and the upper bound of spend they make."""
        out = LedgerSummary(
            requests=0,
            errors=0,
            tokens=dict.fromkeys(_TOKEN_KINDS, 0),
            cost_usd=0.0,
            by_model={},
            by_mode={},
            unanswered=0,
            unanswered_usd=0.0,
            upper_bound_usd=0.0,
        )
        open_sends: dict[str, list[float]] = {}
        for row in self.rows():
            key = str(row.get("key"))
            if row.get("event") == "sent":
                open_sends.setdefault(key, []).append(float(row.get("ceiling_usd", 0.0)))
                continue
            if open_sends.get(key) and row.get("answered", True):
                open_sends[key].pop(0)
            usd = float(row.get("cost_usd", 0.0))
            out["requests"] += 1
            out["errors"] += 0 if row.get("ok", True) else 1
            out["cost_usd"] += usd
            usage = row.get("usage") or {}
            for kind in _TOKEN_KINDS:
                out["tokens"][kind] += int(usage.get(kind) or 0)
            _add(out["by_model"], str(row.get("model")), usd)
            _add(out["by_mode"], str(row.get("mode")), usd)
        unanswered = [usd for sends in open_sends.values() for usd in sends]
        out["unanswered"] = len(unanswered)
        out["unanswered_usd"] = round(sum(unanswered), 8)
        out["upper_bound_usd"] = round(out["cost_usd"] + sum(unanswered), 8)
        out["cost_usd"] = round(out["cost_usd"], 8)
        for group in (*out["by_model"].values(), *out["by_mode"].values()):
            group["cost_usd"] = round(group["cost_usd"], 8)
        return out


def _add(groups: dict[str, GroupSummary], name: str, usd: float) -> None:
    entry = groups.setdefault(name, GroupSummary(requests=0, cost_usd=0.0))
    entry["requests"] += 1
    entry["cost_usd"] += usd

"""Queue filters: parsed from a query string, turned into one SQL WHERE clause.

The same `Filters` value drives the queue page, the next/previous links of
the item page and the redirect after a decision, so a curator working
through "pending stories of genre X" stays inside that slice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlencode

from toolkit.errors import InputError
from toolkit.review.schema import STATUSES

__all__ = ["FLAG_VALUES", "Filters"]

FLAG_VALUES = {"yes": True, "no": False, "": None}


def _number(params: Mapping[str, str], key: str) -> float | None:
    raw = params.get(key, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{key}: expected a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise InputError(f"{key}: expected a finite number, got {raw!r}")
    return value


def _flag(params: Mapping[str, str], key: str) -> bool | None:
    raw = params.get(key, "").strip()
    if raw not in FLAG_VALUES:
        raise InputError(f"{key}: {raw!r} is not one of yes, no or empty")
    return FLAG_VALUES[raw]


@dataclass(frozen=True, slots=True)
class Filters:
    """Which items a queue shows; `status=None` means every status."""

    status: str | None = "pending"
    principle: str = ""
    genre: str = ""
    template: str = ""
    qmin: float | None = None
    qmax: float | None = None
    duplicate: bool | None = None
    contaminated: bool | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        """Parse query parameters; a bad value raises `InputError` naming its key."""
        status: str | None = params.get("status", "pending").strip() or "pending"
        if status == "all":
            status = None
        elif status not in STATUSES:
            raise InputError(f"status: {status!r} is not one of all, {', '.join(STATUSES)}")
        return cls(
            status=status,
            principle=params.get("principle", "").strip(),
            genre=params.get("genre", "").strip(),
            template=params.get("template", "").strip(),
            qmin=_number(params, "qmin"),
            qmax=_number(params, "qmax"),
            duplicate=_flag(params, "duplicate"),
            contaminated=_flag(params, "contaminated"),
        )

    def to_params(self) -> dict[str, str]:
        """The query parameters that reproduce these filters (defaults left out)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value: Any = getattr(self, f.name)
            if f.name == "status":
                if value != "pending":
                    out["status"] = value or "all"
            elif isinstance(value, bool):
                out[f.name] = "yes" if value else "no"
            elif value not in (None, ""):
                out[f.name] = f"{value:g}" if isinstance(value, float) else str(value)
        return out

    def query(self) -> str:
        """`to_params` as a query string, '' when every filter is at its default."""
        return urlencode(self.to_params())

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition over `items` and its bound parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.status is not None:
            clauses.append("status = ?")
            params.append(self.status)
        if self.principle:
            clauses.append("doc_id IN (SELECT doc_id FROM item_principles WHERE principle_id = ?)")
            params.append(self.principle)
        for column in ("genre", "template"):
            if getattr(self, column):
                clauses.append(f"{column} = ?")
                params.append(getattr(self, column))
        if self.qmin is not None:
            clauses.append("quality >= ?")
            params.append(self.qmin)
        if self.qmax is not None:
            clauses.append("quality <= ?")
            params.append(self.qmax)
        for column in ("duplicate", "contaminated"):
            flag = getattr(self, column)
            if flag is not None:
                clauses.append(f"{column} = ?")
                params.append(int(flag))
        return (" AND ".join(clauses) or "1"), params

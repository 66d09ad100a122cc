"""A plan: the deterministic list of requests, written before anything is sent.

One `PlanItem` per line of a JSONL file. A plan can be read, costed, edited
and resumed; the runner turns each item into a `GenerationRequest` whose key
is a hash of what determines the output, so a rerun never pays twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import InputError, RecordError
from toolkit.io.atomic import atomic_write

__all__ = ["PlanItem", "read_plan", "request_key", "write_plan"]

GENERATED_KINDS = ("explainer", "story", "advice")


def request_key(model: str, template_version: str, prompt: str, sample_index: int) -> str:
    """Stable request key: hash of model, template version, rendered prompt, sample index.

    32 hex characters: valid as a Message Batches `custom_id`.
    """
    payload = json.dumps([model, template_version, prompt, sample_index])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One request of a plan.

    `template` and `template_version` name the prompt file (`story.v1`);
    `attributes` are the seed attributes the prompt was rendered from;
    `prompt` is the rendered user message (edit it and the key changes);
    `constitution` and `constitution_version` name the document that goes,
    cached, into the system prompt. `prefix` is text our code puts before
    the answer in the document (the deployment context rendered as a
    transcript: never asked of the model, so it is not part of the key);
    `screening` is how far the item lies from the evals (see
    `toolkit.generate.screening`).
    """

    plan_id: str
    kind: str
    template: str
    template_version: str
    prompt: str
    constitution: str
    constitution_version: str
    principle_ids: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    sample_index: int = 0
    max_tokens: int = 2048
    title: str = ""
    prefix: str = ""
    screening: dict[str, Any] = field(default_factory=dict)

    def key(self, model: str) -> str:
        return request_key(
            model, f"{self.template}.{self.template_version}", self.prompt, self.sample_index
        )

    def to_dict(self) -> dict[str, Any]:
        optional = {"prefix": self.prefix, "screening": self.screening}
        return {
            "plan_id": self.plan_id,
            "kind": self.kind,
            "template": self.template,
            "template_version": self.template_version,
            "title": self.title,
            "principle_ids": list(self.principle_ids),
            "attributes": self.attributes,
            "sample_index": self.sample_index,
            "max_tokens": self.max_tokens,
            "constitution": self.constitution,
            "constitution_version": self.constitution_version,
            "prompt": self.prompt,
            **{key: value for key, value in optional.items() if value},
        }

    @classmethod
    def from_dict(cls, data: Any) -> PlanItem:
        if not isinstance(data, dict):
            raise InputError("expected a JSON object")
        required = (
            "plan_id",
            "kind",
            "template",
            "template_version",
            "prompt",
            "constitution",
            "constitution_version",
        )
        for key in required:
            if not isinstance(data.get(key), str) or not data[key]:
                raise InputError(f"{key}: expected a non-empty string")
        known = {*required, "principle_ids", "attributes", "sample_index", "max_tokens", "title"}
        known |= {"prefix", "screening"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"unknown key {unknown[0]!r}; expected one of {', '.join(sorted(known))}"
            )
        if data["kind"] not in GENERATED_KINDS:
            raise InputError(f"kind: {data['kind']!r} is not one of {', '.join(GENERATED_KINDS)}")
        principle_ids = data.get("principle_ids", [])
        if not isinstance(principle_ids, list) or not all(
            isinstance(p, str) for p in principle_ids
        ):
            raise InputError("principle_ids: expected a list of strings")
        attributes = data.get("attributes", {})
        if not isinstance(attributes, dict):
            raise InputError("attributes: expected an object")
        for key in ("sample_index", "max_tokens"):
            value = data.get(key, 0 if key == "sample_index" else 2048)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"{key}: expected a non-negative integer")
        for key in ("title", "prefix"):
            if not isinstance(data.get(key, ""), str):
                raise InputError(f"{key}: expected a string")
        if not isinstance(data.get("screening", {}), dict):
            raise InputError("screening: expected an object")
        return cls(
            plan_id=data["plan_id"],
            kind=data["kind"],
            template=data["template"],
            template_version=data["template_version"],
            prompt=data["prompt"],
            constitution=data["constitution"],
            constitution_version=data["constitution_version"],
            principle_ids=tuple(principle_ids),
            attributes=attributes,
            sample_index=data.get("sample_index", 0),
            max_tokens=data.get("max_tokens", 2048),
            title=data.get("title", ""),
            prefix=data.get("prefix", ""),
            screening=data.get("screening", {}),
        )


def write_plan(items: Iterable[PlanItem], path: str | Path) -> int:
    """Write a plan atomically; return the number of items."""
    count = 0
    with atomic_write(path, compress=False) as out:
        for item in items:
            out.write((json.dumps(item.to_dict(), ensure_ascii=False) + "\n").encode())
            count += 1
    return count


def read_plan(path: str | Path) -> Iterator[PlanItem]:
    """Stream a plan; a bad line raises `file:line: problem`; plan ids must be unique."""
    plan = Path(path)
    if not plan.is_file():
        raise InputError(f"{plan}: no such plan file")
    seen: set[str] = set()
    with plan.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item = PlanItem.from_dict(json.loads(raw))
            except json.JSONDecodeError as err:
                raise RecordError(str(plan), lineno, f"not valid JSON: {err.msg}") from None
            except UnicodeDecodeError:
                raise RecordError(str(plan), lineno, "not valid UTF-8") from None
            except InputError as err:
                raise RecordError(str(plan), lineno, err.message) from None
            if item.plan_id in seen:
                raise RecordError(str(plan), lineno, f"plan_id {item.plan_id!r} appears twice")
            seen.add(item.plan_id)
            yield item

"""The judge's requests: the rubric filled in for one document, under a stable key.

A key is `judge-ID-DIGEST` (`revise-...` for a rewrite): valid as a Message
Batches `custom_id`, and the digest changes with the template, the model or
the prompt, so an answer kept from an earlier run is reused only for the very
same request. The request's `context` (never sent to an API) carries the
document and its principles for the offline stand-in, which reads no prompt.
A backend that can do neither (the offline generation backend) is refused.
"""

from __future__ import annotations

import hashlib
import re

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.errors import ConfigError
from toolkit.generate.backends.base import Backend, GenerationRequest, reads_prompts
from toolkit.generate.templates import Template, render
from toolkit.quality.judge_verdict import axes_of

__all__ = [
    "VERDICT_TOKENS",
    "check_backend",
    "is_stand_in",
    "judge_request",
    "principle_context",
    "principles_text",
    "request_key",
]

#: Output tokens a verdict may take: three one-sentence reasons and the JSON around them.
VERDICT_TOKENS = 600
_PLAIN_ID = re.compile(r"^[A-Za-z0-9_]{1,40}$")


def request_key(task: str, doc_id: str, *parts: str) -> str:
    """A stable key for one request about `doc_id`, valid as a batch `custom_id`.

    The digest of `parts` (template, model, prompt) changes with any of them,
    so an answer kept from an earlier run is reused only for the same request.
    """
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]
    if not _PLAIN_ID.match(doc_id):  # an id of other characters, or too long for the key
        doc_id = hashlib.sha256(doc_id.encode()).hexdigest()[:24]
    return f"{task}-{doc_id}-{digest}"


def principles_text(doc: Document, constitution: Constitution) -> str:
    if not doc.principle_ids:
        return "(The document cites no principle; judge it against the charter's spirit.)"
    parts = []
    for pid in doc.principle_ids:
        found = constitution.resolve(pid)
        if found is None:
            parts.append(f"### {pid}\n\n(Not found in the constitution.)")
        else:
            title, body = found
            parts.append(f"### {title} ({pid})\n\n{body}")
    return "\n\n".join(parts)


def principle_context(doc: Document, constitution: Constitution) -> list[dict[str, str]]:
    """The cited principles as the offline stand-in reads them: id, title and body."""
    wanted = set(doc.principle_ids)
    found = {p.id: p for p in constitution.principles() if p.id in wanted}
    return [
        {"id": pid, "title": found[pid].title, "body": found[pid].body}
        for pid in doc.principle_ids
        if pid in found
    ]


def judge_request(
    doc: Document, template: Template, constitution: Constitution, model: str
) -> GenerationRequest:
    """The request that judges `doc`: the rubric filled in; its key is stable."""
    principles = principles_text(doc, constitution)
    prompt = render(
        template,
        {
            "kind": doc.kind,
            "title": doc.title or "(untitled)",
            "principles": principles,
            "text": doc.text.strip(),
        },
    )
    context = {
        "task": "judge",
        "id": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "text": doc.text,
        "axes": list(axes_of(template.version)),
        "principles": principle_context(doc, constitution),
    }
    return GenerationRequest(
        key=request_key("judge", doc.id, template.ref, model, prompt),
        model=model,
        prompt=prompt,
        max_tokens=VERDICT_TOKENS,
        temperature=0,
        context=context,
    )


def is_stand_in(backend: object) -> bool:
    """Whether `backend` is a labelled offline stand-in (it judges from the request's
    context, not from a model: `toolkit.quality.judge_offline`)."""
    return bool(getattr(backend, "stand_in", False))


def check_backend(backend: Backend) -> None:
    """Refuse a backend that cannot judge: one that never reads a prompt (the offline
    generation backend), unless it is the offline stand-in judge."""
    if not reads_prompts(backend) and not is_stand_in(backend):
        raise ConfigError(
            f"the {backend.name} backend cannot judge: it composes documents from plan items "
            "and never reads a prompt; judge with the offline stand-in (--backend offline), "
            "or export ANTHROPIC_API_KEY and pass --backend anthropic"
        )

"""Critique and revise: the request that rewrites a document the judge found short.

The writer gets the versioned template `revise.vN` filled with the cited
principle(s), the document and the judge's ratings with their reasons, and
answers with the revised document inside `<document>` tags. What comes back
is a new `Document` (a new id, since the id is a hash of the text) whose
`metadata["revision"]` links it to the original; whether it is kept is the
judge's call on it (`toolkit.quality.judge_verdict.is_better`), made in
`toolkit.quality.judge_run`. Every request's most expensive outcome is priced
before it is sent (`ceiling_usd`), which is what a budget cap is held to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.errors import ReplyError
from toolkit.generate.backends.base import GenerationRequest
from toolkit.generate.pricing import cost, estimate_tokens, estimate_usage
from toolkit.generate.templates import Template, render
from toolkit.metadata import RevisionMetadata
from toolkit.quality.judge_requests import principle_context, principles_text, request_key
from toolkit.quality.judge_verdict import Verdict

__all__ = ["ceiling_usd", "parse_revision", "revise_request", "revised_document"]

_TAGGED = re.compile(r"<document>\s*\n?(?P<body>.*?)\n?\s*</document>", re.DOTALL)
#: Output tokens a revision may take: twice the original's, within these bounds.
_MIN_TOKENS, _MAX_TOKENS = 1024, 16_000


def _ratings(verdict: Verdict) -> str:
    data = verdict.to_dict()
    return "\n".join(
        f"- {axis}: {score} of 5. {data[f'{axis}_reason']}"
        for axis, score in verdict.scores().items()
    )


def revise_request(
    doc: Document,
    verdict: Verdict,
    weak: Sequence[str],
    template: Template,
    constitution: Constitution,
    model: str,
) -> GenerationRequest:
    """The request that rewrites `doc` given the judge's `verdict`; `weak` names the
    scales under their threshold. Its key is stable (same document, verdict, model)."""
    prompt = render(
        template,
        {
            "kind": doc.kind,
            "title": doc.title or "(untitled)",
            "principles": principles_text(doc, constitution),
            "ratings": _ratings(verdict),
            "weak": ", ".join(weak) or "no scale in particular",
            "text": doc.text.strip(),
        },
    )
    tokens = min(_MAX_TOKENS, max(_MIN_TOKENS, 2 * estimate_tokens(doc.text)))
    context: dict[str, Any] = {
        "task": "revise",
        "id": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "text": doc.text,
        "weak": list(weak),
        "principles": principle_context(doc, constitution),
    }
    return GenerationRequest(
        key=request_key("revise", doc.id, template.ref, model, prompt),
        model=model,
        prompt=prompt,
        max_tokens=tokens,
        context=context,
    )


def ceiling_usd(request: GenerationRequest, *, batch: bool, stand_in: bool) -> float:
    """The most `request` can cost (all of `max_tokens` written); 0 for the stand-in."""
    if stand_in:
        return 0.0
    return cost(request.model, estimate_usage(request), batch=batch)


def parse_revision(text: str) -> str:
    """The revised document in a reply: the text inside `<document>` tags, or the
    whole reply when it has none. An empty one is a `ReplyError`."""
    tagged = _TAGGED.search(text)
    body = (tagged["body"] if tagged else text).strip()
    if not body:
        raise ReplyError("the reply holds no revised document")
    return body + "\n"


def revised_document(
    original: Document, text: str, provenance: RevisionMetadata, *, first: Document
) -> Document:
    """The revision of `original` as a new document: same kind, title, principles and
    provenance; `metadata["revision"]` names the first original (`first`) and this step."""
    revision = Document.create(
        original.kind,
        text,
        title=original.title,
        principle_ids=original.principle_ids,
        provenance=original.provenance,
    )
    kept = {k: v for k, v in first.metadata.items() if k not in ("judge", "revision")}
    return replace(revision, metadata={**kept, "revision": provenance})

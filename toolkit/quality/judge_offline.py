"""The offline stand-in for the judge and the reviser: deterministic, and labelled so.

No model reads anything here. So that the judge stage runs in the demo and
in tests with no key and no network, this backend answers the two requests
the stage sends from their structured context (the document, its kind and
the cited principles' text), never from the prompt:

- **judge**: a verdict in the judge's JSON shape, scored from features a
  program can observe. *faithfulness* is grounding in the cited principle
  (how many of its key words the document uses, and how many of its
  sentences touch them); *quality* starts at 5 and loses points for repeated
  sentences and n-grams, a length under the kind's floor, run-on or
  fragmented sentences and an unfinished ending; *reasoning* counts reason
  sentences (a causal link: because, so that, which is why, ...), an
  alternative weighed (rather than, instead, could have, ...), a reason tied
  to the principle's words, and reasons given before the closing lines.
  Every reason it writes begins "offline stand-in:" and gives the figures.
- **revise**: a deterministic improvement that invents nothing: repeated
  sentences are dropped, and sentences that share no key word with the
  principle or the title and give no reason (never a paragraph's first
  sentence), never a quotation, at most a third of all sentences.

It cannot tell a faithful story from one that breaks its principle in
well-chosen words: that needs a model (`backend = "anthropic"`). Results say
model "offline", mode "offline" and cost nothing.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.generate.backends.base import (
    Failure,
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
)

__all__ = ["OFFLINE_JUDGE", "OfflineCritic", "judge_text", "revise_text"]

#: What the stand-in calls itself in every reason it gives.
OFFLINE_JUDGE = "offline stand-in"

#: A sentence ends at . ! or ?, with any closing quote or bracket kept on its side.
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'\u201d\u2019)\]])\s+")
_WORD = re.compile(r"[a-z][a-z']+")
_REASON = re.compile(
    r"\b(?:because|since|so that|in order to|which is why|that is why|that's why|"
    r"the reason|otherwise|would mean|would have meant|would be (?:wrong|unfair|dishonest)|"
    r"for the sake of|so (?:they|she|he|we|i|you|it) (?:could|can|would|will))\b"
)
_ALTERNATIVE = re.compile(
    r"\b(?:rather than|instead|could have|could simply|might have|the other option|"
    r"alternative|middle road|shortcut|considered|was tempted|tempting|"
    r"either\b[^.!?]{0,80}\bor)\b"
)
_SPEAKER = re.compile(r"^\s*[A-Z][\w .'-]{0,30}:\s")
_STOP_WORDS = """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours
    yourself yourselves one ones every even much many must may might shall its it's don't
    does doesn't didn't isn't aren't wasn't weren't won't can't cannot"""
_STOP = frozenset(_STOP_WORDS.split())
_FLOOR = {"story": 150, "advice": 80, "explainer": 80}
_STEM = 5


def _stems(text: str) -> list[str]:
    return [w[:_STEM] for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


def _key_stems(text: str, top: int = 40) -> frozenset[str]:
    ranked = sorted(Counter(_stems(text)).items(), key=lambda item: (-item[1], item[0]))
    return frozenset(stem for stem, _ in ranked[:top])


def _paragraphs(text: str) -> list[list[str]]:
    """Paragraphs (blank-line separated; a speaker's line is its own) as lists of sentences."""
    blocks: list[list[str]] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        for line in block.splitlines() if _SPEAKER.match(block) else [block]:
            if line.strip():
                blocks.append([s for s in _SENTENCE.split(line.strip()) if s.strip()])
    return blocks


def _clamp(value: float) -> int:
    return max(1, min(5, round(value)))


def _grounding(sentences: Sequence[str], key: frozenset[str]) -> tuple[int, int, float]:
    """(key stems used, sentences touching two or more, share of such sentences)."""
    used: set[str] = set()
    touching = 0
    for sentence in sentences:
        shared = key.intersection(_stems(sentence))
        used |= shared
        touching += len(shared) >= 2
    return len(used), touching, touching / max(len(sentences), 1)


def _repetition(words: Sequence[str], n: int = 5) -> float:
    """The share of word positions inside an n-gram that occurs more than once."""
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)
    covered: set[int] = set()
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            covered.update(range(i, i + n))
    return len(covered) / max(len(words), 1)


def judge_text(kind: str, text: str, principles: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The stand-in's verdict on `text`, in the judge.v2 shape (scores 1-5 with reasons)."""
    sentences = [s for para in _paragraphs(text) for s in para]
    words = _WORD.findall(text.lower())
    key = _key_stems(" ".join(f"{p['title']} {p['body']}" for p in principles))
    if key:
        used, touching, share = _grounding(sentences, key)
        coverage = used / len(key)
        faith = 1 + 2 * min(1.0, coverage / 0.4) + 2 * min(1.0, share / 0.5)
        faith_reason = (
            f"uses {used} of the principle's {len(key)} key words; {touching} of "
            f"{len(sentences)} sentences touch two or more"
        )
    else:
        faith, faith_reason = 3, "no cited principle found to check the document against"
    normal = [" ".join(_WORD.findall(s.lower())) for s in sentences]
    repeated = sum(n - 1 for n in Counter(x for x in normal if x).values())
    repetition = _repetition(words)
    mean_words = len(words) / max(len(sentences), 1)
    floor = _FLOOR.get(kind, 80)
    checks = [
        (min(2, repeated), f"{repeated} repeated sentence(s)"),
        ((repetition > 0.05) + (repetition > 0.15), f"{repetition:.0%} of words repeat 5-grams"),
        (len(words) < floor, f"{len(words)} words, under {floor}"),
        (not 6 <= mean_words <= 40, f"{mean_words:.0f} words a sentence"),
        (text.rstrip()[-1:] not in tuple(".!?\"'\u201d\u2019)"), "an unfinished ending"),
    ]
    faults = [what for cost, what in checks if cost]
    quality = 5 - sum(int(cost) for cost, _ in checks)
    quality_reason = "; ".join(faults) if faults else "no repetition, length or ending faults"
    reasoning, reasoning_reason = _reasoning(sentences, key)
    return {
        "faithfulness": {"score": _clamp(faith), "reason": _said(faith_reason)},
        "quality": {"score": _clamp(quality), "reason": _said(quality_reason)},
        "reasoning": {"score": _clamp(reasoning), "reason": _said(reasoning_reason)},
    }


def _reasoning(sentences: Sequence[str], key: frozenset[str]) -> tuple[int, str]:
    lower = [s.lower() for s in sentences]
    reasons = [i for i, s in enumerate(lower) if _REASON.search(s)]
    weighed = any(_ALTERNATIVE.search(s) for s in lower)
    tied = any(len(key.intersection(_stems(sentences[i]))) >= 2 for i in reasons)
    early = bool(reasons) and reasons[0] < 0.75 * len(sentences) and len(reasons) >= 2
    score = 1 + bool(reasons) + early + weighed + tied
    parts = [
        f"{len(reasons)} reason sentence(s)",
        "an alternative weighed" if weighed else "no alternative weighed",
        "a reason tied to the principle" if tied else "no reason tied to the principle",
        "reasons before the ending" if early else "no reasons before the ending",
    ]
    return score, "; ".join(parts)


def _said(reason: str) -> str:
    return f"{OFFLINE_JUDGE}: {reason}."


def revise_text(text: str, title: str, principles: Sequence[Mapping[str, str]]) -> str:
    """`text` with repeated sentences and off-topic, reasonless ones dropped (see module)."""
    key = _key_stems(" ".join(f"{p['title']} {p['body']}" for p in principles)) | frozenset(
        _stems(title)
    )
    paragraphs = _paragraphs(text)
    total = sum(len(p) for p in paragraphs)
    budget = total // 3
    seen: set[str] = set()
    kept_paragraphs = []
    for para in paragraphs:
        kept = []
        for index, sentence in enumerate(para):
            normal = " ".join(_WORD.findall(sentence.lower()))
            droppable = budget > 0 and not re.search(r"[\"\u201c\u201d]", sentence)
            if droppable and normal in seen:  # a repeat goes wherever it stands
                budget -= 1
                continue
            off_topic = key and not key.intersection(_stems(sentence))
            if droppable and index > 0 and off_topic and not _REASON.search(sentence.lower()):
                budget -= 1
                continue
            seen.add(normal)
            kept.append(sentence)
        if kept:
            kept_paragraphs.append(" ".join(kept))
    return "\n\n".join(kept_paragraphs) + "\n"


class OfflineCritic:
    """Answers judge and revise requests from their context; see the module docstring."""

    name = "offline"
    #: It reads the request's context, never its prompt: a labelled stand-in, not a model.
    reads_prompts = False
    stand_in = True

    def __repr__(self) -> str:
        return "OfflineCritic()"

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_result: ResultCallback,
        on_sent: SentCallback | None = None,
    ) -> None:
        """Answer each request at once; nothing is sent or billed (`on_sent` unused)."""
        for request in requests:
            context = request.context
            task = context.get("task")
            if task == "judge":
                verdict = judge_text(context["kind"], context["text"], context["principles"])
                axes = context.get("axes") or list(verdict)
                text = json.dumps({axis: verdict[axis] for axis in axes})
            elif task == "revise":
                revised = revise_text(context["text"], context["title"], context["principles"])
                text = f"<document>\n{revised}</document>"
            else:
                error = f"the {OFFLINE_JUDGE} judge answers judge and revise requests, not {task!r}"
                on_result(
                    GenerationResult(
                        request.key,
                        "offline",
                        None,
                        error=error,
                        mode="offline",
                        failure=Failure(error, service=f"the {OFFLINE_JUDGE} judge"),
                    )
                )
                continue
            answer = GenerationResult(
                request.key, "offline", text, stop_reason="end_turn", mode="offline"
            )
            on_result(answer)

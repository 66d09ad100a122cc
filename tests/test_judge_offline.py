"""The offline stand-in judge and reviser: deterministic, labelled, and moved by what it claims."""

from __future__ import annotations

import json
import re
from pathlib import Path

from toolkit.constitution import load_constitution
from toolkit.document import Document
from toolkit.generate.backends import GenerationRequest, GenerationResult
from toolkit.quality.judge import check_backend, judge_request, principle_context
from toolkit.quality.judge_offline import OfflineCritic, judge_text, revise_text
from toolkit.quality.judge_verdict import parse_verdict

FIXTURES = Path(__file__).parent / "fixtures" / "quality"
CONSTITUTION = load_constitution(FIXTURES / "constitution.md")

STORY = """\
Mara asked the assistant to mark the failed deployment as a success in the weekly report.

The assistant could have done it quietly; the report was due in ten minutes and nobody \
would check. It refused, because a report that says a failed deployment succeeded \
creates a false impression in the minds of the people who rely on it. It considered a \
middle road, writing "partially complete", and rejected that too, since selective \
emphasis is still misleading framing.

"I would rather the report be late than untrue," it told Mara. "If I shade this, you \
can no longer trust what I assert, and the honesty you count on is gone." It wrote the \
true figure and offered to draft a note explaining the failure, so that the team could \
fix it instead of discovering it later.
"""
REASONS = re.compile(r"because|could have|rather|since|so that|middle road|instead", re.I)


def _principles(ids: tuple[str, ...] = ("honesty",)) -> list[dict[str, str]]:
    return principle_context(Document.create("story", "x", principle_ids=list(ids)), CONSTITUTION)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|(?<=[.!?][\"”])\s+", text) if s.strip()]


def test_its_verdict_is_the_rubric_shape_deterministic_and_labelled() -> None:
    verdict = judge_text("story", STORY, _principles())
    assert verdict == judge_text("story", STORY, _principles())
    parsed = parse_verdict(json.dumps(verdict))
    assert all(1 <= score <= 5 for score in parsed.scores().values())
    assert all(verdict[a]["reason"].startswith("offline stand-in: ") for a in verdict)
    assert parsed.scores()["reasoning"] == 5  # reasons, an alternative, tied to honesty
    assert (
        parsed.scores()["quality"] == 4 and "127 words, under 150" in verdict["quality"]["reason"]
    )


def test_removing_the_reasons_lowers_reasoning() -> None:
    bare = " ".join(s for s in _sentences(STORY) if not REASONS.search(s))
    before = judge_text("story", STORY, _principles())["reasoning"]["score"]
    after = judge_text("story", bare, _principles())["reasoning"]
    assert after["score"] <= 2 < before
    assert "0 reason sentence(s)" in after["reason"]


def test_repetition_lowers_quality_and_an_unrelated_principle_lowers_faithfulness() -> None:
    repeated = STORY + "\n" + STORY.split("\n\n")[1] + "\n"
    assert judge_text("story", repeated, _principles())["quality"]["score"] <= 3
    own = judge_text("story", STORY, _principles())["faithfulness"]["score"]
    other = judge_text("story", STORY, _principles(("helpfulness",)))["faithfulness"]["score"]
    assert other < own
    missing = judge_text("story", STORY, [])["faithfulness"]
    assert missing["score"] == 3 and "no cited principle" in missing["reason"]


def test_revision_drops_repeats_and_off_topic_asides_and_invents_nothing() -> None:
    aside = "The cafeteria served lentil soup on Tuesdays."
    text = STORY.replace("nobody would check.", f"nobody would check. {aside}")
    text += "\n" + "It refused, because a report that says a failed deployment succeeded creates "
    text += "a false impression in the minds of the people who rely on it.\n"
    revised = revise_text(text, "The weekly report", _principles())
    assert aside not in revised
    assert revised.count("It refused, because a report") == 1
    source = " ".join(text.split())
    assert all(s in source for s in _sentences(" ".join(revised.split())))  # nothing new
    assert revised.count('"') % 2 == 0  # no quotation cut in half
    assert revised.startswith("Mara asked")  # a paragraph's first sentence stays


def test_the_critic_answers_both_tasks_through_the_seam_and_is_accepted_as_a_judge() -> None:
    critic = OfflineCritic()
    check_backend(critic)  # the offline *generation* backend is refused; the stand-in is not
    doc = Document.create("story", STORY, title="The weekly report", principle_ids=["honesty"])
    from toolkit.generate.templates import load_template

    judge = judge_request(doc, load_template("judge"), CONSTITUTION, "offline")
    revise = GenerationRequest("r", "offline", "p", context={**judge.context, "task": "revise"})
    odd = GenerationRequest("o", "offline", "p", context={"task": "translate"})
    out: list[GenerationResult] = []
    critic.generate([judge, revise, odd], out.append)
    verdict, revision, error = out
    assert parse_verdict(verdict.text or "").scores()["reasoning"] == 5
    assert (
        verdict.mode == "offline"
        and verdict.model == "offline"
        and not verdict.usage.to_dict()["input_tokens"]
    )
    assert (revision.text or "").startswith("<document>\nMara asked")
    assert not error.ok and "judge and revise requests, not 'translate'" in (error.error or "")

"""Judge and revise through the Message Batches API: the real SDK against a fake API.

The fake plays a model that judges and revises: a document marked "thin"
gets reasoning 2, and its revision adds a reason (reasoning 5), except for a
"stubborn" one, whose revision comes back muddled (worse on every scale).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import KEY, MODEL, FakeAnthropic, Reply
from toolkit.constitution import load_constitution
from toolkit.document import Document
from toolkit.errors import CheckFailed
from toolkit.generate.backends.anthropic import AnthropicBackend
from toolkit.generate.ledger import CostLedger
from toolkit.generate.templates import load_template
from toolkit.io import read_documents, write_documents
from toolkit.quality.judge import judge_request
from toolkit.quality.judge_config import JudgeSettings
from toolkit.quality.judge_run import critique_corpus

FIXTURES = Path(__file__).parent / "fixtures" / "quality"
CONSTITUTION = load_constitution(FIXTURES / "constitution.md")
SETTINGS = JudgeSettings(backend="anthropic", revise_rounds=1)
TEXTS = {
    "good": "The assistant told the user the truth about the outage, because they asked.",
    "thin": "The assistant told the user about the outage. thin",
    "stubborn": "The assistant said something about the outage. thin stubborn",
    "explainer": "Honesty means the assistant asserts only what it believes, because trust.",
}


def _verdict(reasoning: int, quality: int = 4) -> str:
    scale = {"score": 0, "reason": "One sentence."}
    return json.dumps(
        {
            "faithfulness": {**scale, "score": 4},
            "quality": {**scale, "score": quality},
            "reasoning": {**scale, "score": reasoning},
        }
    )


class CriticAPI(FakeAnthropic):
    """Answers judge.v2 prompts with a verdict and revise.v1 prompts with a revision."""

    def message_json(self, params: dict[str, Any]) -> dict[str, Any]:
        reply = super().message_json(params)
        prompt = params["messages"][-1]["content"]
        doc = prompt.split("<document>\n", 1)[1].split("\n</document>", 1)[0]
        if prompt.startswith("You are reviewing"):
            if "MUDDLED" in doc:
                text = _verdict(1, quality=2)
            else:
                text = _verdict(5 if "REASONED" in doc else 2 if "thin" in doc else 4)
        elif "stubborn" in doc:
            text = f"<document>\n{doc} MUDDLED words.\n</document>"
        else:
            reason = "It chose to say so because REASONED honesty matters."
            text = f"<document>\n{doc}\n{reason}\n</document>"
        reply["content"] = [{"type": "text", "text": text}]
        return reply


def _corpus(tmp_path: Path) -> tuple[Path, dict[str, Document]]:
    docs = {
        name: Document.create(
            "explainer" if name == "explainer" else "story", text, principle_ids=["honesty"]
        )
        for name, text in TEXTS.items()
    }
    path = tmp_path / "corpus.jsonl"
    write_documents(docs.values(), path, compress=False)
    return path, docs


def _backend(fake: FakeAnthropic, out: Path, sleep: Any = lambda s: None) -> AnthropicBackend:
    return AnthropicBackend(
        api_key=KEY,
        http_client=fake.http_client(),
        batch=True,
        state_path=out / "batches.json",
        sleep=sleep,
    )


def _run(fake: FakeAnthropic, corpus: Path, out: Path, **kw: Any) -> dict[str, Any]:
    settings = kw.pop("settings", SETTINGS)
    backend = _backend(fake, out, kw.pop("sleep", lambda s: None))
    return critique_corpus(
        corpus, out, backend, constitution=CONSTITUTION, settings=settings, model=MODEL, quiet=True
    )


def _created(fake: FakeAnthropic) -> list[list[str]]:
    """The custom_ids of each batch the fake created (accepted), in order."""
    return [[custom_id for custom_id, _, _ in batch.items] for batch in fake.batches.values()]


def test_batch_judge_and_one_revise_round_keep_only_the_better_revision(tmp_path: Path) -> None:
    corpus, docs = _corpus(tmp_path)
    fake, out = CriticAPI(), tmp_path / "judge"
    summary = _run(fake, corpus, out)

    judge, revise, rejudge = _created(fake)  # three batches: judge, revise, judge the revisions
    assert len(judge) == 4 and all(key.startswith("judge-") for key in judge)
    assert sorted(k.split("-")[1] for k in revise) == sorted([docs["thin"].id, docs["stubborn"].id])
    assert len(rejudge) == 2 and not fake.sent("messages")  # nothing went live
    assert (summary["judged"], summary["revised"], summary["passed"]) == (4, 1, 3)
    assert summary["attempts"] == {"kept": 1, "not better": 1}
    assert summary["reasons"] == {"revised": 1, "low_reasoning": 1}

    kept = {doc.id: doc for doc in read_documents(out / "kept")}
    rejected = {doc.id: doc for doc in read_documents(out / "rejected")}
    assert docs["good"].id in kept and docs["explainer"].id in kept
    (revision,) = [d for d in kept.values() if "REASONED" in d.text]
    provenance = revision.metadata["revision"]
    assert provenance["of"] == docs["thin"].id and provenance["original_text"] == TEXTS["thin"]
    assert (provenance["before"]["reasoning"], provenance["after"]["reasoning"]) == (2, 5)
    assert provenance["template"] == "revise.v1" and provenance["stand_in"] is False
    assert revision.metadata["judge"]["scores"]["reasoning"] == 5
    assert rejected[docs["thin"].id].metadata["rejected"] == {
        "stage": "judge",
        "reason": "revised",
        "revised_as": revision.id,
    }  # the original is kept, linked to its revision
    stubborn = rejected[docs["stubborn"].id]  # its worse revision was not kept: the gate drops it
    assert stubborn.text == TEXTS["stubborn"] and stubborn.metadata["rejected"]["reason"] == (
        "low_reasoning"
    )
    assert [a["outcome"] for a in stubborn.metadata["judge"]["attempts"]] == ["not better"]

    costs = CostLedger(out / "ledger.jsonl").summary()
    assert costs["requests"] == 8 and costs["unanswered"] == 0
    assert set(costs["by_mode"]) == {"batch"} and summary["cost_usd"] == round(costs["cost_usd"], 6)
    rows = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == [doc.id for doc in docs.values()]


def test_a_run_killed_while_a_batch_is_out_resumes_without_paying_twice(tmp_path: Path) -> None:
    corpus, _ = _corpus(tmp_path)
    fake, out = CriticAPI(), tmp_path / "judge"
    sleeps = [0]

    def killed_on_the_second_wait(seconds: float) -> None:
        sleeps[0] += 1
        if sleeps[0] == 2:  # the revise batch is submitted and not yet ended
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(fake, corpus, out, sleep=killed_on_the_second_wait)
    assert len(_created(fake)) == 2  # judge (collected) and revise (out at the kill)
    summary = _run(fake, corpus, out)  # the rerun: same folder, same state file

    created = [key for batch in _created(fake) for key in batch]
    assert len(created) == 8 and len(set(created)) == 8  # every request sent once, in all
    # the 4 verdicts come from the journal, the 2 revisions from the batch out at the kill
    # (collected, not resubmitted); only judging the 2 revisions is sent
    assert (summary["sent"], summary["reused"]) == (2, 4)
    assert (summary["revised"], summary["reasons"]) == (1, {"revised": 1, "low_reasoning": 1})
    ledger = CostLedger(out / "ledger.jsonl")
    sends = Counter(row["key"] for row in ledger.rows() if row.get("event") == "sent")
    assert len(sends) == 8 and set(sends.values()) == {1}
    assert ledger.summary()["unanswered"] == 0  # the revise batch was collected, not resent


def test_the_budget_stops_revision_before_anything_is_spent_over_it(tmp_path: Path) -> None:
    corpus, _ = _corpus(tmp_path)
    fake, out = CriticAPI(), tmp_path / "judge"
    settings = JudgeSettings(backend="anthropic", revise_rounds=2, budget_usd=0.0001)
    summary = _run(fake, corpus, out, settings=settings)
    assert len(_created(fake)) == 1  # the judge batch only: no revision fits the budget
    assert summary["attempts"] == {"over budget": 4}  # two documents, two rounds
    assert summary["revision_usd"] == 0 and summary["reasons"] == {"low_reasoning": 2}


def test_every_request_failing_alike_fails_the_run_in_one_line_naming_the_cause(
    tmp_path: Path,
) -> None:
    corpus, docs = _corpus(tmp_path)
    fake, out = CriticAPI(), tmp_path / "judge"
    refused = Reply.error(500, "api_error", "the batch service is down")
    fake.script("batches.create", refused, times=6)  # every attempt at the first batch
    with pytest.raises(CheckFailed) as failed:
        _run(fake, corpus, out)
    assert str(failed.value).startswith(
        "judge: every request to the Anthropic API failed the same way (HTTP 500 api_error)"
    )
    assert "\n" not in str(failed.value)
    summary = _run(fake, corpus, out)
    judged = [key for batch in _created(fake) for key in batch if key.startswith("judge-")]
    assert len(judged) == 4 + 2 and summary["judged"] == 4  # the failed four, then revisions
    assert docs["good"].id in {doc.id for doc in read_documents(out / "kept")}


def test_one_request_without_an_answer_fails_the_run_and_a_rerun_sends_only_it(
    tmp_path: Path,
) -> None:
    corpus, docs = _corpus(tmp_path)
    fake, out = CriticAPI(), tmp_path / "judge"
    key = judge_request(docs["good"], load_template("judge"), CONSTITUTION, MODEL).key
    fake.outcomes[key] = ["errored:invalid_request_error"]  # refused: not worth resubmitting
    with pytest.raises(CheckFailed) as failed:
        _run(fake, corpus, out)
    assert str(failed.value) == (
        "judge: 1 request(s) got no answer (the first: invalid_request_error: Internal server "
        "error); a rerun sends only what got no answer (answers received are kept)"
    )
    before = sum(len(batch) for batch in _created(fake))
    summary = _run(fake, corpus, out)
    assert [k for batch in _created(fake) for k in batch][before:] == [key]
    assert (summary["judged"], summary["sent"], summary["failed"]) == (4, 1, 0)

"""The LLM judge, through the backend seam with a fake backend."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from toolkit.constitution import load_constitution
from toolkit.document import Document
from toolkit.generate.backend import GenerationRequest, GenerationResult, ResultCallback, Usage
from toolkit.generate.ledger import CostLedger
from toolkit.io import write_documents
from toolkit.quality.judge import VerdictError, judge_corpus, parse_verdict

FIXTURES = Path(__file__).parent / "fixtures" / "quality"
MODEL = "claude-sonnet-4-5"
GOOD = {
    "faithfulness": {"score": 5, "reason": "The agent asks before acting."},
    "quality": {"score": 4, "reason": "Clear, if a little plain."},
}


class FakeBackend:
    """Answers each request with the reply scripted for its document's first word."""

    name = "fake"

    def __init__(self, replies: dict[str, str | None]) -> None:
        self.replies = replies
        self.prompts: list[str] = []

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        for request in reversed(requests):  # out of order, as a concurrent backend may be
            self.prompts.append(request.prompt)
            word = request.prompt.split("<document>\n", 1)[1].split()[0]
            reply = self.replies[word]
            usage = Usage(input_tokens=1000, output_tokens=50)
            if reply is None:
                on_result(GenerationResult(request.key, request.model, None, error="overloaded"))
            else:
                on_result(GenerationResult(request.key, request.model, reply, usage=usage))


def test_parse_verdict_accepts_exactly_the_rubric_shape() -> None:
    verdict = parse_verdict(json.dumps(GOOD))
    assert (verdict.faithfulness, verdict.quality) == (5, 4)
    assert parse_verdict(f"```json\n{json.dumps(GOOD)}\n```") == verdict


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("The document is great. 5/5", "not JSON"),
        (json.dumps({"faithfulness": GOOD["faithfulness"]}), "keys faithfulness and quality"),
        (json.dumps({**GOOD, "overall": 3}), "keys faithfulness and quality"),
        (json.dumps({**GOOD, "quality": {"score": 6, "reason": "x"}}), "quality.score"),
        (json.dumps({**GOOD, "quality": {"score": "4", "reason": "x"}}), "quality.score"),
        (json.dumps({**GOOD, "quality": {"score": True, "reason": "x"}}), "quality.score"),
        (json.dumps({**GOOD, "faithfulness": {"score": 3, "reason": " "}}), "reason"),
        (json.dumps({**GOOD, "quality": {"score": 3}}), "keys score and reason"),
        (json.dumps([GOOD]), "keys faithfulness and quality"),
    ],
)
def test_parse_verdict_is_strict(reply: str, problem: str) -> None:
    with pytest.raises(VerdictError, match=problem):
        parse_verdict(reply)


def test_judge_corpus_writes_verdicts_errors_and_costs(tmp_path: Path) -> None:
    docs = [
        Document.create("story", "Alpha story text.", principle_ids=["honesty"]),
        Document.create("story", "Beta story text.", principle_ids=["oversight", "nope"]),
        Document.create("advice", "Gamma advice text."),
        Document.create("explainer", "Delta explainer text.", principle_ids=["honesty"]),
    ]
    corpus = tmp_path / "corpus.jsonl"
    write_documents(docs, corpus, compress=False)
    backend = FakeBackend(
        {"Alpha": json.dumps(GOOD), "Beta": "I think it is fine.", "Gamma": None, "Delta": "{}"}
    )
    constitution = load_constitution(FIXTURES / "constitution.md")
    summary = judge_corpus(
        corpus, tmp_path / "out", backend, constitution=constitution, model=MODEL, quiet=True
    )
    assert (summary["documents"], summary["judged"], summary["errors"]) == (4, 1, 3)
    assert summary["mean_faithfulness"] == 5 and summary["mean_quality"] == 4
    assert summary["cost_usd"] > 0

    lines = (tmp_path / "out" / "judge.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["id"] for r in rows] == [d.id for d in docs]  # corpus order
    assert rows[0]["judge"] == {
        "faithfulness": 5,
        "faithfulness_reason": "The agent asks before acting.",
        "quality": 4,
        "quality_reason": "Clear, if a little plain.",
    }
    assert rows[0]["error"] is None and rows[0]["template"] == "judge.v1"
    assert rows[1]["judge"] is None and rows[1]["error"].startswith("malformed verdict: not JSON")
    assert rows[2]["judge"] is None and rows[2]["error"] == "overloaded"
    assert rows[3]["judge"] is None and "keys faithfulness and quality" in rows[3]["error"]

    assert len(CostLedger(tmp_path / "out" / "judge-ledger.jsonl").rows()) == 4
    beta = next(p for p in backend.prompts if "Beta story" in p)
    assert "### Oversight (oversight)" in beta and "Not found in the constitution" in beta
    assert "$" not in beta  # every placeholder filled


def test_limit_judges_only_the_first_documents(tmp_path: Path) -> None:
    docs = [Document.create("story", f"Word{i} text.") for i in range(5)]
    corpus = tmp_path / "corpus.jsonl"
    write_documents(docs, corpus, compress=False)
    backend = FakeBackend({f"Word{i}": json.dumps(GOOD) for i in range(5)})
    constitution = load_constitution(FIXTURES / "constitution.md")
    summary = judge_corpus(
        corpus, tmp_path / "o", backend, constitution=constitution, model=MODEL, limit=2, quiet=True
    )
    assert summary["documents"] == 2 and len(backend.prompts) == 2

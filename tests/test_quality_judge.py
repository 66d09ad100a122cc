"""The LLM judge, through the backend seam with a fake backend and the real SDK on a fake API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import KEY, FakeAnthropic, LocalAPI, Reply, closed_port_url
from tests.helpers import run_cli
from toolkit.constitution import load_constitution
from toolkit.document import Document
from toolkit.errors import CheckFailed, ConfigError
from toolkit.generate.backends import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
    Usage,
)
from toolkit.generate.backends.anthropic import AnthropicBackend
from toolkit.generate.backends.offline import OfflineBackend
from toolkit.generate.ledger import CostLedger
from toolkit.io import write_documents
from toolkit.quality.judge import VerdictError, check_judged, judge_corpus, parse_verdict
from toolkit.quality.judge_verdict import AXES, Verdict, below, is_better

FIXTURES = Path(__file__).parent / "fixtures" / "quality"
MODEL = "claude-sonnet-4-5"
GOOD = {
    "faithfulness": {"score": 5, "reason": "The agent asks before acting."},
    "quality": {"score": 4, "reason": "Clear, if a little plain."},
    "reasoning": {"score": 3, "reason": "It says why, but weighs no alternative."},
}
V1 = {axis: GOOD[axis] for axis in AXES["v1"]}


class FakeBackend:
    """Answers each request with the reply scripted for its document's first word."""

    name = "fake"

    def __init__(self, replies: dict[str, str | None]) -> None:
        self.replies = replies
        self.prompts: list[str] = []

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_result: ResultCallback,
        on_sent: SentCallback | None = None,
    ) -> None:
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
    assert verdict.scores() == {"faithfulness": 5, "quality": 4, "reasoning": 3}
    assert parse_verdict(f"```json\n{json.dumps(GOOD)}\n```") == verdict
    old = parse_verdict(json.dumps(V1), AXES["v1"])
    assert old.scores() == {"faithfulness": 5, "quality": 4} and "reasoning" not in old.to_dict()
    with pytest.raises(VerdictError, match="keys faithfulness, quality and reasoning"):
        parse_verdict(json.dumps(V1))  # judge.v2 asks for reasoning too


def test_a_revision_is_better_only_when_no_scale_drops_and_one_rises() -> None:
    def verdict(f: int, q: int, r: int) -> Verdict:
        return Verdict(f, "x", q, "x", r, "x")

    assert is_better(verdict(4, 3, 4), verdict(4, 3, 2))
    assert not is_better(verdict(4, 3, 2), verdict(4, 3, 2))  # the same is not better
    assert not is_better(verdict(3, 5, 5), verdict(4, 3, 2))  # polish bought with faithfulness
    assert below(verdict(4, 2, 2), {"faithfulness": 3, "quality": 3, "reasoning": 3}) == [
        "quality",
        "reasoning",
    ]


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("The document is great. 5/5", "not JSON"),
        (json.dumps({"faithfulness": GOOD["faithfulness"]}), "keys faithfulness, quality and"),
        (json.dumps({**GOOD, "overall": 3}), "keys faithfulness, quality and reasoning"),
        (json.dumps({**GOOD, "quality": {"score": 6, "reason": "x"}}), "quality.score"),
        (json.dumps({**GOOD, "quality": {"score": "4", "reason": "x"}}), "quality.score"),
        (json.dumps({**GOOD, "quality": {"score": True, "reason": "x"}}), "quality.score"),
        (json.dumps({**GOOD, "faithfulness": {"score": 3, "reason": " "}}), "reason"),
        (json.dumps({**GOOD, "quality": {"score": 3}}), "keys score and reason"),
        (json.dumps([GOOD]), "keys faithfulness, quality and reasoning"),
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
    assert summary["failed"] == 1  # Gamma's request failed; Beta and Delta were answered
    assert summary["mean_faithfulness"] == 5 and summary["mean_quality"] == 4
    assert summary["mean_reasoning"] == 3
    assert summary["first_error"].startswith("malformed verdict: not JSON")  # Beta's, in order
    assert summary["cost_usd"] > 0

    lines = (tmp_path / "out" / "judge.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["id"] for r in rows] == [d.id for d in docs]  # corpus order
    assert rows[0]["judge"] == {
        "faithfulness": 5,
        "faithfulness_reason": "The agent asks before acting.",
        "quality": 4,
        "quality_reason": "Clear, if a little plain.",
        "reasoning": 3,
        "reasoning_reason": "It says why, but weighs no alternative.",
    }
    assert rows[0]["error"] is None and rows[0]["template"] == "judge.v2"
    assert rows[1]["judge"] is None and rows[1]["error"].startswith("malformed verdict: not JSON")
    assert rows[2]["judge"] is None and rows[2]["error"] == "overloaded"
    assert rows[3]["judge"] is None and "keys faithfulness, quality and" in rows[3]["error"]

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


class _JudgeAPI(FakeAnthropic):
    """The Messages API answering every judge request with a good verdict."""

    def message_json(self, params: dict[str, Any]) -> dict[str, Any]:
        reply = super().message_json(params)
        reply["content"] = [{"type": "text", "text": json.dumps(GOOD)}]
        return reply


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_exits_1_after_the_figures_when_a_judge_request_failed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
) -> None:
    docs = [Document.create("story", f"Word{i} story text.") for i in range(3)]
    corpus = tmp_path / "corpus.jsonl"
    write_documents(docs, corpus, compress=False)
    fake = _JudgeAPI()
    refused = Reply.error(400, "invalid_request_error", "prompt is too long")
    fake.script("messages", refused, when=lambda body: "Word1" in body["messages"][0]["content"])
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    constitution = FIXTURES / "constitution.md"
    with LocalAPI(fake) as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        result = run_cli(capsys, "quality", "judge", str(corpus), "--out", str(tmp_path / "j"),
                         "--constitution", str(constitution), "--model", MODEL, "-q",
                         *(["--json"] if as_json else []))  # fmt: skip
    assert result.code == 1
    rerun = (
        f"ccorpus quality judge {corpus} --out {tmp_path / 'j'} --constitution {constitution} "
        f"--model {MODEL} --overwrite"
    )
    assert result.err == (
        f"error: 1 of 3 judge requests failed; rerun `{rerun}` to judge again "
        "(every document is sent again)\n"
    )
    if as_json:
        assert json.loads(result.out)["judged"] == 2
    else:
        assert "judged" in result.out and "failed" in result.out
    rows = [json.loads(line) for line in (tmp_path / "j" / "judge.jsonl").read_text().splitlines()]
    assert [r["judge"] is None for r in rows] == [False, True, False]
    assert "failed" not in rows[1]  # the file keeps its shape
    costs = CostLedger(tmp_path / "j" / "judge-ledger.jsonl").summary()
    assert costs["requests"] == 3 and costs["unanswered"] == 0  # three sent, three answers


def test_a_backend_that_cannot_read_prompts_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    write_documents([Document.create("story", "Alpha story text.")], corpus, compress=False)
    constitution = load_constitution(FIXTURES / "constitution.md")
    with pytest.raises(ConfigError, match=r"^the offline backend cannot judge: it composes"):
        judge_corpus(
            corpus, tmp_path / "out", OfflineBackend(), constitution=constitution, model=MODEL
        )
    assert not (tmp_path / "out").exists()


def test_every_request_failing_alike_exits_1_naming_the_cause(tmp_path: Path) -> None:
    docs = [Document.create("story", f"Word{i} story text.") for i in range(3)]
    corpus = tmp_path / "corpus.jsonl"
    write_documents(docs, corpus, compress=False)
    backend = FakeBackend({f"Word{i}": None for i in range(3)})  # each answered "overloaded"
    constitution = load_constitution(FIXTURES / "constitution.md")
    summary = judge_corpus(
        corpus, tmp_path / "o", backend, constitution=constitution, model=MODEL, quiet=True
    )
    assert (summary["failed"], summary["not_sent"]) == (3, 0)
    with pytest.raises(CheckFailed) as failed:
        check_judged(summary, "ccorpus quality judge c --out o")
    assert str(failed.value) == (
        "every request to the backend failed the same way (overloaded) after 3 judge requests, "
        "none succeeded; fix its cause, then rerun `ccorpus quality judge c --out o` (every "
        "document is sent again)"
    )


def test_an_unreachable_api_stops_the_judge_early_and_every_document_gets_a_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [Document.create("story", f"Word{i} story text.") for i in range(20)]
    corpus = tmp_path / "corpus.jsonl"
    write_documents(docs, corpus, compress=False)
    url = closed_port_url()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    backend = AnthropicBackend(api_key=KEY, concurrency=2, sleep=lambda s: None)
    constitution = load_constitution(FIXTURES / "constitution.md")
    summary = judge_corpus(
        corpus, tmp_path / "j", backend, constitution=constitution, model=MODEL, quiet=True
    )
    sent = summary["documents"] - summary["not_sent"]
    assert summary["documents"] == summary["failed"] == 20 and 1 <= sent <= 2
    reason = f"the Anthropic API is unreachable (connection refused at {url})"
    assert summary["failure_cause"]["reason"] == reason
    rows = [json.loads(line) for line in (tmp_path / "j" / "judge.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [d.id for d in docs]  # one row a document, in order
    assert rows[-1]["error"] == f"not sent: the judge stopped early ({reason})"
    with pytest.raises(CheckFailed) as failed:
        check_judged(summary, "ccorpus quality judge c --out j")
    assert str(failed.value).startswith(
        f"{reason} after {sent} judge request{'s' * (sent > 1)}, none succeeded; stopped early, "
        f"{20 - sent} not sent; check the network or ANTHROPIC_BASE_URL, then rerun "
    )
    costs = CostLedger(tmp_path / "j" / "judge-ledger.jsonl").summary()
    assert costs["requests"] == sent and costs["unanswered"] == 0  # refused: never billed


class _ChattyAPI(FakeAnthropic):
    """The Messages API answering every judge request with prose instead of the verdict."""

    def message_json(self, params: dict[str, Any]) -> dict[str, Any]:
        reply = super().message_json(params)
        reply["content"] = [{"type": "text", "text": "I would rate this\nfour out of five."}]
        return reply


def test_cli_exits_1_naming_the_first_cause_when_no_document_got_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [Document.create("story", f"Word{i} story text.") for i in range(3)]
    corpus = tmp_path / "corpus.jsonl"
    write_documents(docs, corpus, compress=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with LocalAPI(_ChattyAPI()) as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        result = run_cli(capsys, "quality", "judge", str(corpus), "--out", str(tmp_path / "j"),
                         "--constitution", str(FIXTURES / "constitution.md"), "--model", MODEL,
                         "-q")  # fmt: skip
    assert result.code == 1
    assert "judged                 0" in result.out and "errors                 3" in result.out
    assert result.err.count("\n") == 1  # one line, the cause of the first failure in it
    assert result.err.startswith(
        "error: every judge request failed (3 of 3); the first: malformed verdict: not JSON"
    )


def test_cli_offline_judges_with_the_labelled_stand_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "The agent was asked to hide the failed test. It refused, because hiding it would "
        "deceive the people who rely on the report. It could have quietly rerun the suite "
        "instead, but it told the team what had happened and why honesty mattered here."
    )
    corpus = tmp_path / "corpus.jsonl"
    doc = Document.create("story", text, principle_ids=["honesty"])
    write_documents([doc], corpus, compress=False)
    result = run_cli(capsys, "quality", "judge", str(corpus), "--out", str(tmp_path / "j"),
                     "--constitution", str(FIXTURES / "constitution.md"), "--backend", "offline",
                     "--json", "-q")  # fmt: skip
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert (summary["judged"], summary["errors"], summary["cost_usd"]) == (1, 0, 0)
    lines = (tmp_path / "j" / "judge.jsonl").read_text().splitlines()
    (row,) = [json.loads(line) for line in lines]
    assert row["backend"] == "offline" and row["template"] == "judge.v2"
    assert set(row["judge"]) == {f"{a}{s}" for a in AXES["v2"] for s in ("", "_reason")}
    assert all(row["judge"][f"{a}_reason"].startswith("offline stand-in:") for a in AXES["v2"])

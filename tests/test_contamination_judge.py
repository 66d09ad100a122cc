"""The contamination judge, through the backend seam with a fake backend."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.fake_anthropic import KEY, closed_port_url
from toolkit.contamination.hits import Hit, Stage
from toolkit.contamination.judge import (
    JudgementError,
    JudgeSetup,
    judge_hits,
    judge_line,
    judge_problem,
    parse_judgement,
)
from toolkit.errors import ConfigError
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

MODEL = "claude-sonnet-4-5"


class FakeBackend:
    """Answers each request with the reply scripted for its passage's first word."""

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
            word = request.prompt.split("<passage>\n", 1)[1].split()[0]
            if word not in self.replies:
                continue  # no result at all for this one
            reply = self.replies[word]
            usage = Usage(input_tokens=800, output_tokens=40)
            if reply is None:
                on_result(GenerationResult(request.key, request.model, None, error="overloaded"))
            else:
                on_result(GenerationResult(request.key, request.model, reply, usage=usage))


def _hit(doc: str, index: int, score: float, text: str, stage: Stage = "semantic") -> Hit:
    span = (0, len(text))
    match = {"before": "", "match": text, "after": ""}
    item = f"eval item {index}"
    return Hit(doc, "corpus", "risk", index, stage, score, span, (span,), item, match, score >= 0.9)


def _verdict(copy: bool) -> str:
    return json.dumps({"copy": copy, "reason": "Same question, reworded."})


def test_parse_judgement_accepts_exactly_the_verdict_shape() -> None:
    assert parse_judgement(_verdict(True)).copy is True
    fenced = parse_judgement(f"```json\n{_verdict(False)}\n```")
    assert fenced.copy is False and fenced.reason == "Same question, reworded."


@pytest.mark.parametrize(
    "reply, problem",
    [
        ("yes, a copy", "not JSON"),
        ('{"copy": "true", "reason": "x"}', "copy: expected true or false"),
        ('{"copy": 1, "reason": "x"}', "copy: expected true or false"),
        ('{"copy": true, "reason": "  "}', "reason: expected a non-empty string"),
        ('{"copy": true, "reason": "x", "score": 3}', "expected an object with keys copy and"),
        ("[true]", "expected an object with keys copy and reason, got list"),
    ],
)
def test_parse_judgement_is_strict(reply: str, problem: str) -> None:
    with pytest.raises(JudgementError, match=problem):
        parse_judgement(reply)


def test_verdicts_decide_the_gate_of_the_strongest_semantic_hits(tmp_path: Path) -> None:
    hits = [
        _hit("d1", 0, 0.97, "Alpha passage restating item zero."),  # gated by cosine
        _hit("d2", 1, 0.88, "Beta passage restating item one."),  # under the cosine gate
        _hit("d3", 2, 0.93, "Gamma passage on the same theme."),
        _hit("d4", 3, 0.91, "Delta passage, the judge fails."),
        _hit("d5", 4, 0.86, "Epsilon passage, never judged."),
        _hit("d6", 5, 1.00, "Zeta n-gram hit.", stage="ngram"),
    ]
    backend = FakeBackend(
        {
            "Alpha": _verdict(True),
            "Beta": _verdict(True),
            "Gamma": _verdict(False),
            "Delta": "not a verdict",
        }
    )
    ledger = CostLedger(tmp_path / "judge-ledger.jsonl")
    out, summary = judge_hits(hits, JudgeSetup(backend, MODEL, top=4, ledger=ledger))
    assert len(backend.prompts) == 4  # the four strongest semantic hits; never the n-gram one
    assert all("Epsilon" not in p and "Zeta" not in p for p in backend.prompts)
    judged = {h.doc_id: h for h in out if h.stage == "judge"}
    assert set(judged) == {"d1", "d2", "d3"}
    assert judged["d1"].gated and judged["d2"].gated and not judged["d3"].gated
    assert judged["d2"].score == 1.0 and judged["d3"].score == 0.0
    assert judged["d2"].to_dict()["judge_reason"] == "Same question, reworded."
    assert judged["d2"].to_dict()["cosine"] == 0.88
    semantic = {h.doc_id: h for h in out if h.stage == "semantic"}
    assert not semantic["d1"].gated and not semantic["d3"].gated  # the judge hit carries it
    assert semantic["d4"].gated  # the judge failed: the cosine gate stands
    assert not semantic["d5"].gated and semantic["d5"].extra == {}
    gated_items = sorted(h.eval_index for h in out if h.gated)
    assert gated_items == [0, 1, 3, 5]  # item 2 cleared, item 1 gated below the cosine gate
    assert summary["judged"] == 3 and summary["copies"] == 2 and summary["cleared"] == 1
    assert summary["errors"] == 1 and summary["failed"][0]["error"].startswith("not JSON")
    assert summary["unanswered"] == 0 and judge_problem(summary) is None  # a reply, if malformed
    assert summary["failed"][0]["doc_id"] == "d4"
    assert summary["cost_usd"] > 0 and len(ledger.rows()) == 4
    assert summary["asked"] == 4 and "3 of the 4 strongest" in judge_line(summary)


def test_failed_and_missing_results_leave_the_cosine_gate() -> None:
    hits = [_hit("d1", 0, 0.95, "Alpha passage."), _hit("d2", 1, 0.94, "Beta passage.")]
    backend = FakeBackend({"Alpha": None})  # a failed request; no result at all for Beta
    out, summary = judge_hits(hits, JudgeSetup(backend, MODEL))
    assert [h.gated for h in out] == [True, True] and len(out) == 2
    errors = sorted(e["error"] for e in summary["failed"])
    assert errors == ["overloaded", "the backend returned no result for this request"]
    assert summary["cost_usd"] == 0 and summary["ledger"] is None
    assert "0 of the 2 strongest semantic hits judged (at most 20)" in judge_line(summary)
    assert summary["unanswered"] == 2
    assert judge_problem(summary) == (
        "2 of 2 contamination judge calls failed, so their hits were left to the cosine gate; "
        "rerun the same command to judge them"
    )


def test_prompt_holds_item_and_passage_and_keys_are_stable() -> None:
    hits = [_hit("d1", 0, 0.95, "Alpha passage restating it.")]
    seen: list[GenerationRequest] = []

    class Recorder(FakeBackend):
        def generate(
            self,
            requests: Sequence[GenerationRequest],
            on_result: ResultCallback,
            on_sent: SentCallback | None = None,
        ) -> None:
            seen.extend(requests)
            super().generate(requests, on_result)

    for _ in range(2):
        judge_hits(hits, JudgeSetup(Recorder({"Alpha": _verdict(True)}), MODEL))
    assert seen[0].key == seen[1].key and seen[0].temperature == 0
    assert "<item>\neval item 0\n</item>" in seen[0].prompt
    assert "Alpha passage restating it." in seen[0].prompt


def test_an_unreachable_api_stops_the_judge_early_and_fails_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hits = [_hit(f"d{i}", i, 0.95 - i / 100, f"Passage {i}.") for i in range(10)]
    url = closed_port_url()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    backend = AnthropicBackend(api_key=KEY, concurrency=1, sleep=lambda s: None)
    out, summary = judge_hits(hits, JudgeSetup(backend, MODEL))
    assert [h.gated for h in out] == [h.gated for h in hits]  # each keeps its cosine gate
    reason = f"the Anthropic API is unreachable (connection refused at {url})"
    assert summary["failure_cause"]["reason"] == reason
    assert (summary["asked"], summary["unanswered"], summary["not_sent"]) == (10, 10, 9)
    assert summary["failed"][-1]["error"] == f"not sent: the judge stopped early ({reason})"
    assert judge_problem(summary) == (
        f"{reason} after 1 contamination judge call, none succeeded; stopped early, 9 not "
        "sent; check the network or ANTHROPIC_BASE_URL, then rerun the same command to judge "
        "them (their hits were left to the cosine gate)"
    )


def test_a_backend_that_cannot_read_prompts_cannot_judge() -> None:
    hits = [_hit("d1", 0, 0.95, "Alpha passage.")]
    with pytest.raises(ConfigError, match="the offline backend cannot judge"):
        judge_hits(hits, JudgeSetup(OfflineBackend(), MODEL))

"""The Message Batches path, through the real SDK against a fake API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import KEY, MODEL, FakeAnthropic, Reply, closed_port_url
from toolkit.errors import BackendError, ConfigError
from toolkit.generate.backends import GenerationRequest, GenerationResult, StopSending, SystemBlock
from toolkit.generate.backends.anthropic import AnthropicBackend
from toolkit.generate.backends.anthropic.batch import batch_item
from toolkit.generate.early_stop import FailureWatch
from toolkit.generate.ledger import CostLedger

SYSTEM = (SystemBlock("You write documents.", cache=True),)


def requests(n: int = 4, prompt: str = "prompt") -> list[GenerationRequest]:
    return [
        GenerationRequest(key=f"k{i}", model=MODEL, prompt=f"{prompt} {i}", system=SYSTEM)
        for i in range(n)
    ]


def backend(
    fake: FakeAnthropic, state: Path | None = None, sleeps: list[float] | None = None, **kw: object
) -> AnthropicBackend:
    kw.setdefault("sleep", sleeps.append if sleeps is not None else (lambda s: None))
    return AnthropicBackend(
        api_key=KEY,
        http_client=fake.http_client(),
        batch=True,
        state_path=state,
        **kw,  # type: ignore[arg-type]
    )


def crash(seconds: float) -> None:
    """A sleep seam that dies like a killed process."""
    raise KeyboardInterrupt


def collect(b: AnthropicBackend, reqs: list[GenerationRequest]) -> list[GenerationResult]:
    out: list[GenerationResult] = []
    b.generate(reqs, out.append)
    return out


def created(fake: FakeAnthropic) -> list[list[str]]:
    """The custom_ids of each batch the fake was asked to create, in order."""
    return [[item["custom_id"] for item in s.body["requests"]] for s in fake.sent("batches.create")]


def test_batch_items_carry_the_key_and_the_live_body(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    sleeps: list[float] = []
    out = collect(backend(fake, tmp_path / "state.json", sleeps, poll_interval=7.0), requests(2))
    (create,) = fake.sent("batches.create")
    first = create.body["requests"][0]
    assert first["custom_id"] == "k0"
    assert first["params"] == {
        "model": MODEL,
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "prompt 0"}],
        "system": [
            {"type": "text", "text": "You write documents.", "cache_control": {"type": "ephemeral"}}
        ],
    }
    assert sorted(r.key for r in out) == ["k0", "k1"]
    assert all(r.ok and r.mode == "batch" and r.text == f"answer to prompt {r.key[1]}" for r in out)
    assert sleeps == [7.0]  # one poll found it running, the next found it ended


def test_requests_are_chunked_under_the_count_and_size_limits(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    out = collect(backend(fake, tmp_path / "s.json", max_batch_requests=2), requests(5))
    assert created(fake) == [["k0", "k1"], ["k2", "k3"], ["k4"]]
    assert sorted(r.key for r in out) == [f"k{i}" for i in range(5)] and all(r.ok for r in out)

    fake = FakeAnthropic()
    item = len(json.dumps(batch_item(requests(1)[0]))) + 1  # each item, with its comma
    two_fit = len('{"requests":[]}') + 2 * item + 5
    out = collect(backend(fake, tmp_path / "t.json", max_batch_bytes=two_fit), requests(3))
    assert created(fake) == [["k0", "k1"], ["k2"]]
    assert sorted(r.key for r in out) == ["k0", "k1", "k2"]


def test_a_request_bigger_than_a_batch_fails_alone(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    reqs = [*requests(2), GenerationRequest(key="big", model=MODEL, prompt="x" * 2000)]
    b = backend(fake, tmp_path / "s.json", max_batch_bytes=1500)
    out = {r.key: r for r in collect(b, reqs)}
    assert out["k0"].ok and out["k1"].ok
    assert "over the batch size limit of 1500" in str(out["big"].error)
    assert created(fake) == [["k0", "k1"]]


def test_errored_expired_and_canceled_items_are_requeued_once_each(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    fake.outcomes = {"k1": ["errored:overloaded_error"], "k2": ["expired"], "k3": ["canceled"]}
    state = tmp_path / "state.json"
    out = collect(backend(fake, state), requests(4))
    assert created(fake) == [["k0", "k1", "k2", "k3"], ["k1", "k2", "k3"]]
    assert sorted(r.key for r in out) == ["k0", "k1", "k2", "k3"]  # each exactly once
    assert all(r.ok for r in out)
    saved = json.loads(state.read_text())["batches"]
    assert [(b["attempt"], b["collected"], sorted(b["keys"])) for b in saved] == [
        (1, True, ["k0", "k1", "k2", "k3"]),
        (2, True, ["k1", "k2", "k3"]),
    ]


def test_a_batch_reports_each_request_sent_once_and_the_ledger_closes_them(
    tmp_path: Path,
) -> None:
    fake = FakeAnthropic()
    fake.outcomes = {"k1": ["expired"]}  # re-queued: unbilled, so not a second send
    state, ledger = tmp_path / "state.json", CostLedger(tmp_path / "ledger.jsonl")

    def record(result: GenerationResult) -> None:
        ledger.record(result)

    with pytest.raises(KeyboardInterrupt):  # killed while the first batch runs
        backend(fake, state, sleep=crash).generate(requests(3), record, ledger.record_sent)
    sent = [r for r in ledger.rows() if r.get("event") == "sent"]
    assert [(r["key"], r["mode"]) for r in sent] == [(f"k{i}", "batch") for i in range(3)]
    assert ledger.summary()["unanswered"] == 3  # submitted, so maybe billed
    backend(fake, state).generate(requests(3), record, ledger.record_sent)
    assert created(fake) == [["k0", "k1", "k2"], ["k1"]]
    summary = ledger.summary()
    assert summary["requests"] == 3 and summary["unanswered"] == 0
    assert summary["upper_bound_usd"] == summary["cost_usd"] > 0


def test_an_invalid_request_is_reported_not_resubmitted(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    fake.outcomes = {"k1": ["errored:invalid_request_error"]}
    out = {r.key: r for r in collect(backend(fake, tmp_path / "s.json"), requests(2))}
    assert out["k1"].error == "invalid_request_error: Internal server error"
    assert len(created(fake)) == 1


def test_requeueing_stops_after_max_attempts(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    fake.outcomes = {"k0": ["expired"] * 5}
    out = collect(backend(fake, tmp_path / "s.json", max_attempts=3), requests(1))
    assert created(fake) == [["k0"], ["k0"], ["k0"]]
    (result,) = out
    assert result.error == "request expired (gave up after 3 batch attempts)"


def test_the_state_file_is_written_before_the_first_poll(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    state = tmp_path / "state.json"
    at_first_poll: list[dict[str, Any]] = []

    def before(route: str) -> None:
        if route == "batches.retrieve" and not at_first_poll:
            at_first_poll.append(json.loads(state.read_text()))

    fake.before = before
    collect(backend(fake, state), requests(2))
    (snapshot,) = at_first_poll
    assert [b["id"] for b in snapshot["batches"]] == list(fake.batches)
    assert snapshot["batches"][0]["collected"] is False


def test_a_crashed_run_resumes_without_resubmitting(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    state = tmp_path / "state.json"

    run1: list[GenerationResult] = []
    with pytest.raises(KeyboardInterrupt):  # killed while waiting between polls
        backend(fake, state, sleep=crash, max_batch_requests=2).generate(requests(4), run1.append)
    assert run1 == [] and len(created(fake)) == 2
    seen_in_run1 = len(fake.seen)

    run2 = collect(backend(fake, state, max_batch_requests=2), requests(4))
    run2_routes = {s.route for s in fake.seen[seen_in_run1:]}
    assert run2_routes == {"batches.retrieve", "batches.results"}  # nothing sent twice
    assert sorted(r.key for r in run2) == ["k0", "k1", "k2", "k3"] and all(r.ok for r in run2)
    assert all(b["collected"] for b in json.loads(state.read_text())["batches"])


def test_a_crash_mid_collection_resumes_with_the_keys_still_wanted(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    state = tmp_path / "state.json"
    journal: list[GenerationResult] = []

    def journal_then_crash(result: GenerationResult) -> None:
        journal.append(result)
        raise KeyboardInterrupt  # the process dies right after journaling one result

    with pytest.raises(KeyboardInterrupt):
        backend(fake, state).generate(requests(3), journal_then_crash)
    assert len(journal) == 1
    # The runner passes only the keys its journal lacks.
    remaining = [r for r in requests(3) if r.key != journal[0].key]
    journal += collect(backend(fake, state), remaining)
    assert sorted(r.key for r in journal) == ["k0", "k1", "k2"]
    assert len(created(fake)) == 1


def test_a_request_edited_since_submission_is_sent_again(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    state = tmp_path / "state.json"
    with pytest.raises(KeyboardInterrupt):
        backend(fake, state, sleep=crash).generate(requests(2), lambda r: None)
    edited = [requests(2)[0], requests(2, prompt="new wording")[1]]
    out = {r.key: r for r in collect(backend(fake, state), edited)}
    assert created(fake) == [["k0", "k1"], ["k1"]]
    assert out["k1"].text == "answer to new wording 1" and out["k0"].ok


def test_a_dropped_results_stream_is_fetched_again_without_duplicates(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    fake.break_results = 1
    sleeps: list[float] = []
    out = collect(backend(fake, tmp_path / "s.json", sleeps, poll_interval=30.0), requests(3))
    assert sorted(r.key for r in out) == ["k0", "k1", "k2"]
    assert len(fake.sent("batches.results")) == 2 and len(sleeps) == 2


@pytest.mark.parametrize("key", ["has space", "dots.not.allowed", "x" * 65, ""])
def test_keys_that_cannot_be_custom_ids_are_refused(key: str) -> None:
    fake = FakeAnthropic()
    with pytest.raises(ConfigError, match="custom_id"):
        collect(backend(fake), [GenerationRequest(key=key, model=MODEL, prompt="x")])
    assert fake.seen == []


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="appears twice"):
        collect(backend(FakeAnthropic()), requests(2) + requests(1))


def test_refused_credentials_raise_and_a_lost_poll_names_the_state_file(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    fake.script("batches.create", Reply.error(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(BackendError) as caught:
        collect(backend(fake, tmp_path / "s.json"), requests(1))
    assert KEY not in str(caught.value)

    fake = FakeAnthropic()
    fake.script("batches.retrieve", Reply.error(500, "api_error"), times=5)
    state = tmp_path / "t.json"
    with pytest.raises(BackendError, match=r"could not poll batch msgbatch_\d+: HTTP 500.*t\.json"):
        collect(backend(fake, state, max_attempts=2), requests(1))
    out = collect(backend(fake, state), requests(1))  # the service is back: resume
    assert [r.key for r in out] == ["k0"] and len(created(fake)) == 1


def test_batch_costs_half_and_no_file_holds_the_key(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    state, ledger = tmp_path / "state.json", CostLedger(tmp_path / "costs.jsonl")
    out = collect(backend(fake, state), requests(2))
    for result in out:
        ledger.record(result)
    live = (20 * 3 + 10 * 15 + 100 * 3.75 + 300 * 0.30) / 1e6
    assert ledger.summary()["cost_usd"] == pytest.approx(2 * live / 2)
    assert ledger.summary()["by_mode"]["batch"]["requests"] == 2
    for text in (state.read_text(), ledger.path.read_text(), repr(out)):
        assert KEY not in text


def _watched(
    watch: FailureWatch, out: list[GenerationResult]
) -> Callable[[GenerationResult], None]:
    def on_result(result: GenerationResult) -> None:
        out.append(result)
        watch.see(result)

    return on_result


def test_an_unreachable_api_stops_submitting_once_the_failed_batch_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = closed_port_url()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    b = AnthropicBackend(
        api_key=KEY,
        batch=True,
        state_path=tmp_path / "s.json",
        max_batch_requests=2,
        sleep=lambda s: None,
    )
    watch, out = FailureWatch(5), list[GenerationResult]()
    with pytest.raises(StopSending):
        b.generate(requests(5), _watched(watch, out))
    assert [r.key for r in out] == ["k0", "k1"]  # the failed batch's; k2-k4 never submitted
    assert out[1].error == "batch submission failed: connection refused"
    assert watch.stop is not None
    assert watch.stop.reason == f"the Anthropic API is unreachable (connection refused at {url})"


def test_a_stop_while_collecting_reports_the_whole_batch_and_resubmits_nothing(
    tmp_path: Path,
) -> None:
    fake = FakeAnthropic()
    fake.outcomes = {f"k{i}": ["errored:invalid_request_error"] for i in range(10)}
    fake.outcomes |= {"k10": ["expired"], "k11": ["expired"]}
    watch, out = FailureWatch(12), list[GenerationResult]()
    with pytest.raises(StopSending):
        backend(fake, tmp_path / "s.json").generate(requests(12), _watched(watch, out))
    assert sorted(r.key for r in out) == sorted(f"k{i}" for i in range(12))  # each once
    assert len(created(fake)) == 1  # the expired two are not resubmitted
    expired = next(r for r in out if r.key == "k10")
    assert expired.error == "request expired (not resubmitted: the run is stopping)"
    assert watch.stop is not None and "(invalid_request_error)" in watch.stop.reason
    state = json.loads((tmp_path / "s.json").read_text())["batches"]
    assert [b["collected"] for b in state] == [True]

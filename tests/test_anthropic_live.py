"""The live Anthropic backend, through the real SDK against a fake API.

Also the cost accounting it feeds: the price table and the cost ledger.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import KEY, MODEL, FakeAnthropic, LocalAPI, Reply, closed_port_url
from toolkit.errors import BackendError, ConfigError, CorpusError, RecordError
from toolkit.generate.backends import (
    MAX_CONCURRENCY,
    Failure,
    GenerationRequest,
    GenerationResult,
    StopSending,
    SystemBlock,
    Usage,
    open_backend,
)
from toolkit.generate.backends.anthropic import AnthropicBackend
from toolkit.generate.ledger import CostLedger
from toolkit.generate.pricing import PRICES, cost, estimate_tokens, estimate_usage, price_for

SYSTEM = (SystemBlock("You write documents.", cache=True), SystemBlock("Principle 3 applies."))


def requests(n: int = 3, **kw: object) -> list[GenerationRequest]:
    return [
        GenerationRequest(key=f"k{i}", model=MODEL, prompt=f"prompt {i}", system=SYSTEM, **kw)  # type: ignore[arg-type]
        for i in range(n)
    ]


def backend(
    fake: FakeAnthropic, sleeps: list[float] | None = None, **kw: object
) -> AnthropicBackend:
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return AnthropicBackend(api_key=KEY, http_client=fake.http_client(), sleep=record, **kw)  # type: ignore[arg-type]


def run(b: AnthropicBackend, reqs: list[GenerationRequest]) -> dict[str, GenerationResult]:
    out: list[GenerationResult] = []
    b.generate(reqs, out.append)
    assert sorted(r.key for r in out) == sorted(r.key for r in reqs), "each key exactly once"
    return {r.key: r for r in out}


def test_request_carries_cached_system_blocks_then_the_prompt() -> None:
    fake = FakeAnthropic()
    req = GenerationRequest(key="a", model=MODEL, prompt="Write.", system=SYSTEM, max_tokens=321)
    results = run(backend(fake), [req])
    (sent,) = fake.sent("messages")
    assert sent.body["system"] == [
        {"type": "text", "text": "You write documents.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Principle 3 applies."},
    ]
    assert sent.body["messages"] == [{"role": "user", "content": "Write."}]
    assert sent.body["model"] == MODEL and sent.body["max_tokens"] == 321
    assert "temperature" not in sent.body  # the API default is never sent explicitly
    assert results["a"].text == "answer to Write." and results["a"].stop_reason == "end_turn"


def test_non_default_temperature_is_sent_and_empty_system_is_omitted() -> None:
    fake = FakeAnthropic()
    run(backend(fake), [GenerationRequest(key="a", model=MODEL, prompt="x", temperature=0.3)])
    (sent,) = fake.sent("messages")
    assert sent.body["temperature"] == 0.3 and "system" not in sent.body


def test_429_waits_as_long_as_retry_after_says() -> None:
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(429, "rate_limit_error", retry_after="2"))
    sleeps: list[float] = []
    results = run(backend(fake, sleeps), requests(1))
    assert sleeps == [2.0]
    assert results["k0"].ok and len(fake.sent("messages")) == 2


def test_retry_after_ms_is_preferred() -> None:
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(429, "rate_limit_error", retry_after_ms="1500"))
    sleeps: list[float] = []
    run(backend(fake, sleeps), requests(1))
    assert sleeps == [1.5]


def test_overloaded_server_errors_and_dropped_connections_are_retried_with_backoff() -> None:
    fake = FakeAnthropic()
    fake.script(
        "messages",
        Reply.error(529, "overloaded_error"),
        Reply.error(500, "api_error"),
        Reply(0),
    )
    sleeps: list[float] = []
    results = run(backend(fake, sleeps), requests(1))
    assert results["k0"].ok and len(fake.sent("messages")) == 4
    assert len(sleeps) == 3
    for attempt, wait in enumerate(sleeps, start=1):  # base 1s doubling, jitter in [0.5, 1)
        assert 0.5 * 2 ** (attempt - 1) <= wait < 2 ** (attempt - 1)
    assert sleeps == _sleeps_of_a_second_identical_run()  # seeded jitter: reproducible


def test_an_answer_cut_off_mid_body_is_asked_again_and_reported_once() -> None:
    fake = FakeAnthropic()
    fake.break_messages = 1  # SDK 2.17+ wraps the read error in APIConnectionError, older let it by
    sleeps: list[float] = []
    results = run(backend(fake, sleeps), requests(1))  # each key exactly once
    assert results["k0"].ok and results["k0"].text == "answer to prompt 0"
    assert len(fake.sent("messages")) == 2 and len(sleeps) == 1


def _sleeps_of_a_second_identical_run() -> list[float]:
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(529, "x"), Reply.error(500, "x"), Reply(0))
    sleeps: list[float] = []
    run(backend(fake, sleeps), requests(1))
    return sleeps


def test_400_fails_only_that_request_and_is_not_retried() -> None:
    fake = FakeAnthropic()
    bad = Reply.error(400, "invalid_request_error", "prompt is too long")
    fake.script("messages", bad, when=lambda body: body["messages"][0]["content"] == "prompt 1")
    sleeps: list[float] = []
    results = run(backend(fake, sleeps), requests(3))
    assert results["k0"].ok and results["k2"].ok
    assert results["k1"].text is None
    assert results["k1"].error == "HTTP 400 invalid_request_error: prompt is too long"
    assert len(fake.sent("messages")) == 3 and sleeps == []


def test_401_raises_a_corpus_error_that_holds_no_key() -> None:
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(401, "authentication_error", "invalid x-api-key"), times=9)
    with pytest.raises(BackendError) as caught:
        run(backend(fake, concurrency=1), requests(3))
    assert isinstance(caught.value, CorpusError)
    assert "authentication_error" in str(caught.value) and KEY not in str(caught.value)
    assert len(fake.sent("messages")) == 1  # nothing else is attempted once the key is refused


def test_exhausted_attempts_become_an_error_result_not_an_exception() -> None:
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(529, "overloaded_error", "Overloaded"), times=99)
    sleeps: list[float] = []
    results = run(backend(fake, sleeps, max_attempts=3), requests(1))
    assert results["k0"].error == "HTTP 529 overloaded_error: Overloaded (gave up after 3 attempts)"
    assert len(fake.sent("messages")) == 3 and len(sleeps) == 2


def test_usage_is_summed_and_the_ledger_prices_it_from_the_table(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    ledger = CostLedger(tmp_path / "costs.jsonl")
    total = Usage()
    for result in run(backend(fake), requests(3)).values():
        ledger.record(result)
        total += result.usage
    assert total == Usage(60, 30, 300, 900)
    summary = ledger.summary()
    assert summary["requests"] == 3 and summary["errors"] == 0
    assert summary["tokens"] == total.to_dict()
    # claude-sonnet-4-6: $3 input, $15 output, $3.75 cache write, $0.30 cache read per MTok.
    expected = (60 * 3 + 30 * 15 + 300 * 3.75 + 900 * 0.30) / 1e6
    assert summary["cost_usd"] == pytest.approx(expected)
    assert summary["by_model"][MODEL]["cost_usd"] == pytest.approx(expected)
    assert summary["by_mode"]["live"]["requests"] == 3


def test_concurrency_is_bounded_and_callbacks_never_overlap() -> None:
    fake = FakeAnthropic(gather=3, expect=12)
    inside = threading.Lock()
    overlaps: list[str] = []
    seen: list[str] = []

    def on_result(result: GenerationResult) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(result.key)
            return
        try:
            seen.append(result.key)
        finally:
            inside.release()

    backend(fake, concurrency=3).generate(requests(12), on_result)
    assert fake.max_in_flight == 3
    assert sorted(seen) == sorted(f"k{i}" for i in range(12)) and overlaps == []


def test_a_failing_callback_stops_new_calls_and_propagates() -> None:
    fake = FakeAnthropic()

    def on_result(result: GenerationResult) -> None:
        raise OSError("journal disk full")

    with pytest.raises(OSError, match="journal disk full"):
        backend(fake, concurrency=1).generate(requests(5), on_result)
    assert len(fake.sent("messages")) == 1


def test_missing_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"ANTHROPIC_API_KEY is not set; use --backend offline"):
        AnthropicBackend()


def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://proxy.example.test/anthropic")
    fake = FakeAnthropic()
    run(AnthropicBackend(http_client=fake.http_client()), requests(1))
    (sent,) = fake.sent("messages")
    assert sent.url == "https://proxy.example.test/anthropic/v1/messages"
    assert KEY in sent.headers["authorization"]


def test_a_passed_client_is_used_without_sdk_retries() -> None:
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(500, "api_error"), times=2)
    sleeps: list[float] = []
    b = AnthropicBackend(fake.client(), sleep=sleeps.append, max_attempts=2)
    results = run(b, requests(1))
    assert not results["k0"].ok and len(fake.sent("messages")) == 2 and len(sleeps) == 1


def test_unknown_model_fails_before_anything_is_sent() -> None:
    fake = FakeAnthropic()
    req = GenerationRequest(key="a", model="gpt-4o", prompt="x")
    with pytest.raises(ConfigError, match=r"'gpt-4o'.*claude-sonnet-4-6"):
        backend(fake).generate([req], lambda r: None)
    assert fake.seen == []


def test_max_tokens_beyond_the_sdk_non_streaming_limit_is_a_config_error() -> None:
    fake = FakeAnthropic()
    req = GenerationRequest(key="a", model=MODEL, prompt="x", max_tokens=64_000)
    with pytest.raises(ConfigError, match="max_tokens"):
        backend(fake).generate([req], lambda r: None)
    assert fake.seen == []


def test_the_key_never_reaches_results_errors_or_the_ledger(tmp_path: Path) -> None:
    fake = FakeAnthropic()
    echo = Reply.error(400, "invalid_request_error", f"bad header {KEY}")
    fake.script("messages", echo, when=lambda body: body["messages"][0]["content"] == "prompt 0")
    fake.script("messages", Reply.error(503, "api_error"), times=6)
    ledger = CostLedger(tmp_path / "costs.jsonl")
    b = backend(fake, concurrency=1, max_attempts=2)
    results = run(b, requests(5))
    for result in results.values():
        ledger.record(result)
    assert "***" in str(results["k0"].error)
    texts = [repr(r) for r in results.values()] + [repr(b), ledger.path.read_text()]
    assert not any(KEY in text for text in texts)


# -- time limits, stalls and the concurrency cap ----------------------------------


def test_each_call_carries_its_time_limits() -> None:
    fake = FakeAnthropic()
    run(backend(fake), [GenerationRequest(key="a", model=MODEL, prompt="x", max_tokens=2048)])
    run(backend(fake, timeout=5), [GenerationRequest(key="b", model=MODEL, prompt="x")])
    default, chosen = (s.timeout for s in fake.sent("messages"))
    # By default the read limit follows max_tokens: 30 s + the SDK's 1 h per 128k tokens.
    assert default["connect"] == 10.0 and default["read"] == pytest.approx(30 + 2048 * 3600 / 128e3)
    assert chosen == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def test_a_server_that_never_answers_is_given_up_on_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with LocalAPI(hold_after=0) as api:  # accepts every request and never answers
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        b = AnthropicBackend(api_key=KEY, timeout=0.3, max_attempts=2, sleep=lambda s: None)
        sends: list[str] = []
        started = time.monotonic()
        results = run_with_sends(b, requests(2), sends)
        elapsed = time.monotonic() - started
    assert elapsed < 5  # two attempts of 0.3 s each, not the SDK's 2 x 600 s
    for result in results.values():
        assert result.error == "no answer within 0.3 s (gave up after 2 attempts)"
        assert not result.answered  # the API may have done the work all the same
    assert sorted(sends) == ["k0", "k0", "k1", "k1"]  # each timed-out attempt may be billed


def run_with_sends(
    b: AnthropicBackend, reqs: list[GenerationRequest], sends: list[str]
) -> dict[str, GenerationResult]:
    out: list[GenerationResult] = []
    b.generate(reqs, out.append, lambda request, mode: sends.append(request.key))
    return {r.key: r for r in out}


def test_only_attempts_that_may_reach_the_model_count_as_sends() -> None:
    fake = FakeAnthropic()
    fake.script(
        "messages",
        Reply(0),  # refused before anything was sent: its retry is no new send
        Reply.timeout(),  # sent, no answer: the retry is a second send
        Reply.error(529, "overloaded_error"),  # answered: not billed, no new send
    )
    sends: list[str] = []
    results = run_with_sends(backend(fake), requests(1), sends)
    assert results["k0"].ok and results["k0"].answered
    assert sends == ["k0", "k0"] and len(fake.sent("messages")) == 4


def test_a_stall_warning_on_stderr_names_the_calls_in_flight(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalAPI(hold_after=0) as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        b = AnthropicBackend(
            api_key=KEY, timeout=0.6, max_attempts=1, sleep=lambda s: None, stall_after=0.15
        )
        run(b, requests(3))
    err = capsys.readouterr().err
    warning = r"^warning: no request has finished for [\d.]+ s; 3 in flight \(each is abandoned"
    assert re.search(warning, err, re.M)


@pytest.mark.parametrize("concurrency", [0, MAX_CONCURRENCY + 1, 100_000_000])
def test_concurrency_outside_the_cap_is_refused_for_every_backend(
    concurrency: int, tmp_path: Path
) -> None:
    expected = rf"concurrency must be from 1 to {MAX_CONCURRENCY} .*got {concurrency}$"
    with pytest.raises(ConfigError, match=expected):
        backend(FakeAnthropic(), concurrency=concurrency)
    with pytest.raises(ConfigError, match=expected):
        open_backend("offline", out_dir=tmp_path, concurrency=concurrency)


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_a_timeout_that_is_not_positive_is_refused(timeout: float) -> None:
    with pytest.raises(
        ConfigError, match=f"timeout must be a positive number of seconds, got {timeout}"
    ):
        backend(FakeAnthropic(), timeout=timeout)


# -- unreachable API and stopping early ---------------------------------------------


def test_a_refused_connection_is_unreachable_and_names_where(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = closed_port_url()  # nothing listens: every attempt is refused
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    sleeps: list[float] = []
    b = AnthropicBackend(api_key=KEY, max_attempts=3, sleep=sleeps.append)
    results = run(b, requests(1))
    assert results["k0"].error == "connection refused (gave up after 3 attempts)"
    assert results["k0"].failure == Failure(
        "connection refused",
        unreachable=True,
        service="the Anthropic API",
        where=url,
        hint="check the network or ANTHROPIC_BASE_URL",
    )
    assert len(sleeps) == 2  # a refused connection is retried like any transient failure


def test_a_failure_after_reaching_the_api_is_not_unreachable() -> None:
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(529, "overloaded_error"), Reply(0), Reply(0))
    results = run(backend(fake, max_attempts=3), requests(1))
    failure = results["k0"].failure
    assert failure is not None and not failure.unreachable  # the first attempt got an answer
    assert failure.cause == "connection refused"
    refused = Reply.error(400, "invalid_request_error", "prompt is too long: 3 tokens")
    fake.script("messages", refused)
    failure = run(backend(fake), requests(1))["k0"].failure
    assert failure is not None and failure.cause == "HTTP 400 invalid_request_error"


def test_stop_sending_sends_nothing_new_and_stops_retrying_calls_in_flight() -> None:
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(400, "invalid_request_error"), when=_prompt("prompt 0"))
    fake.script("messages", Reply(0), when=_prompt("prompt 1"), times=99)
    both_sent = threading.Barrier(2, timeout=10)

    def before(route: str) -> None:  # k0 and k1 are both sent before either is answered
        if len(fake.seen) < 2:
            both_sent.wait()

    fake.before = before
    stopped = threading.Event()

    def sleep(seconds: float) -> None:  # k1's retry waits until k0 has stopped the run
        stopped.wait(timeout=10)
        time.sleep(0.2)

    out: list[GenerationResult] = []

    def on_result(result: GenerationResult) -> None:
        out.append(result)
        if result.key == "k0":
            stopped.set()
            raise StopSending("stop")

    b = AnthropicBackend(api_key=KEY, http_client=fake.http_client(), concurrency=2, sleep=sleep)
    with pytest.raises(StopSending):
        b.generate(requests(6), on_result)
    assert sorted(r.key for r in out) == ["k0", "k1"]  # k1 in flight reports; k2-k5 never sent
    k1 = next(r for r in out if r.key == "k1")
    assert k1.error == "connection refused (not retried after 1 attempt: the run is stopping)"
    assert len(fake.sent("messages")) == 2


def _prompt(prompt: str) -> Callable[[Any], bool]:
    return lambda body: bool(body["messages"][0]["content"] == prompt)


# -- cost accounting ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-opus-4-20250514", "claude-opus-4-0"),
        ("claude-opus-4-8", "claude-opus-4-8"),
    ],
)
def test_dated_and_alias_ids_find_their_entry(model: str, entry: str) -> None:
    assert price_for(model) is PRICES[entry]


def test_unknown_model_names_itself_and_lists_known_ones() -> None:
    known = r"no price for model 'claude-9'; known models: .*claude-haiku-4-5"
    with pytest.raises(ConfigError, match=known):
        price_for("claude-9")


def test_cache_rates_batch_discount_and_long_prompt_tier() -> None:
    sonnet = price_for("claude-sonnet-4-6")
    assert sonnet.cache_write == 3.75 and sonnet.cache_read == pytest.approx(0.3)
    usage = Usage(1_000_000, 1_000_000, 0, 0)
    assert cost(MODEL, usage, batch=False) == pytest.approx(18.0)
    assert cost(MODEL, usage, batch=True) == pytest.approx(9.0)
    short, long = Usage(50_000, 1_000), Usage(150_000, 1_000)
    assert cost("claude-haiku-5-5", short, batch=False) == pytest.approx(0.0055)
    assert cost("claude-haiku-5-5", long, batch=False) == pytest.approx(0.0775)


def test_estimate_tokens_is_about_four_characters_a_token() -> None:
    assert [estimate_tokens(t) for t in ("", "abcd", "abcde", "x" * 400)] == [0, 1, 2, 100]


def test_ledger_skips_a_torn_final_line_and_appends_cleanly_after_it(tmp_path: Path) -> None:
    path = tmp_path / "costs.jsonl"
    ledger = CostLedger(path)
    ok = GenerationResult("a", MODEL, "t", Usage(10, 10), mode="batch")
    ledger.record(ok)
    with path.open("ab") as handle:
        handle.write(b'{"key": "b", "model": "claude-son')  # a crash mid-append
    assert [r["key"] for r in CostLedger(path).rows()] == ["a"]
    offline = GenerationResult("c", "offline-template", "t", Usage(5, 5), mode="offline")
    assert CostLedger(path).record(offline) == 0.0
    assert [r["key"] for r in CostLedger(path).rows()] == ["a", "c"]
    assert CostLedger(path).summary()["by_mode"]["offline"]["cost_usd"] == 0.0


def test_ledger_refuses_a_damaged_middle_line(tmp_path: Path) -> None:
    path = tmp_path / "costs.jsonl"
    path.write_text('not json\n{"key": "a"}\n')
    with pytest.raises(RecordError, match=r"costs.jsonl:1:"):
        CostLedger(path).summary()


def test_ledger_bounds_spend_by_the_sends_never_answered(tmp_path: Path) -> None:
    ledger = CostLedger(tmp_path / "costs.jsonl")
    (a, b, c) = requests(3, max_tokens=1000)
    ceiling = cost(MODEL, estimate_usage(a), batch=False)
    for req in (a, b, c):
        assert ledger.record_sent(req, "live") == pytest.approx(ceiling)
    ledger.record(GenerationResult("k0", MODEL, "t", Usage(10, 10)))  # answered
    ledger.record(GenerationResult("k1", MODEL, None, error="timed out", answered=False))
    # k2 is still in flight when the process dies; k1's send timed out: both may be billed.
    summary = ledger.summary()
    paid = cost(MODEL, Usage(10, 10), batch=False)
    assert summary["requests"] == 2 and summary["cost_usd"] == pytest.approx(paid)
    assert summary["unanswered"] == 2
    assert summary["upper_bound_usd"] == pytest.approx(paid + 2 * ceiling)
    assert estimate_usage(a).output_tokens == 1000  # all of max_tokens
    rows = [json.loads(line) for line in ledger.path.read_text().splitlines()]
    assert rows[0]["event"] == "sent" and "usage" not in rows[0]


def test_a_ledger_without_sent_rows_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "costs.jsonl"
    old = {"key": "a", "model": MODEL, "mode": "live", "ok": True, "cost_usd": 0.5,
           "usage": Usage(10, 10).to_dict(), "ts": "2026-11-01T00:00:00+00:00"}  # fmt: skip
    path.write_text(json.dumps(old) + "\n")
    summary = CostLedger(path).summary()
    assert summary["requests"] == 1 and summary["cost_usd"] == 0.5
    assert summary["unanswered"] == 0 and summary["upper_bound_usd"] == 0.5


def test_a_torn_sent_row_is_skipped_and_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "costs.jsonl"
    (a,) = requests(1)
    CostLedger(path).record_sent(a, "batch")
    with path.open("ab") as handle:
        handle.write(b'{"event": "sent", "key": "k1", "ceil')  # a kill mid-append
    assert CostLedger(path).summary()["unanswered"] == 1
    ledger = CostLedger(path)
    ledger.record(GenerationResult("k0", MODEL, "t", Usage(10, 10), mode="batch"))
    assert [r["key"] for r in ledger.rows()] == ["k0", "k0"]
    assert ledger.summary()["unanswered"] == 0

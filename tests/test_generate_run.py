"""Running plans: resumable, crash-safe, costed, and rebuilt as documents every time."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.fake_anthropic import KEY, MODEL, FakeAnthropic, LocalAPI, Reply, closed_port_url
from tests.generate_support import ATTRIBUTES, ROOT, SAMPLE, Spy, write_small
from tests.helpers import run_cli
from toolkit.cli.generate import app
from toolkit.constitution import load_constitution
from toolkit.errors import CheckFailed, ConfigError, InputError, RecordError
from toolkit.generate.backends import (
    DEFAULT_MODEL,
    Failure,
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
    StopSending,
    Usage,
)
from toolkit.generate.backends.anthropic import AnthropicBackend
from toolkit.generate.early_stop import EARLY_STOP_AFTER, EarlyStop, FailureWatch
from toolkit.generate.journal import Journal
from toolkit.generate.plan import read_plan
from toolkit.generate.planners import make_plan
from toolkit.generate.pricing import cost
from toolkit.generate.rundir import run_status
from toolkit.generate.runner import check_complete, estimate_run, prepare_requests, run_plan
from toolkit.io import read_documents
from toolkit.pipeline.config import BuildConfig, load_build_config


def _generate(*args: str) -> None:
    typer.main.get_command(app).main(list(args), standalone_mode=False)


def _plan(tmp_path: Path, kind: str = "stories", n: int = 20, name: str = "plan.jsonl") -> Path:
    out = tmp_path / name
    make_plan(kind, write_small(tmp_path), out, n=n, attributes_dir=ATTRIBUTES)
    return out


def _keys(plan: Path, model: str = "offline") -> list[str]:
    return [item.key(model) for item in read_plan(plan)]


def test_plan_200_stories_then_offline_run_covers_every_principle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan, out = tmp_path / "stories.jsonl", tmp_path / "run"
    _generate(
        "plan", "stories", "--constitution", str(SAMPLE), "--out", str(plan), "-n", "200",
        "--attributes", str(ATTRIBUTES),
    )  # fmt: skip
    count = len(load_constitution(SAMPLE).principles())
    assert f"covering {count} of {count} principles" in capsys.readouterr().out
    _generate("run", str(plan), "--out", str(out), "--backend", "offline", "--quiet", "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["succeeded"] == summary["documents"] == 200 and summary["cost_usd"] == 0
    docs = list(read_documents(out / "documents"))
    constitution = load_constitution(SAMPLE)
    assert len(docs) == len({d.id for d in docs}) == 200
    covered = {d.principle_ids[0] for d in docs}
    assert covered == {p.id for p in constitution.principles()}
    for doc in docs:
        prov = doc.provenance
        assert (prov.backend, prov.model, prov.template, prov.template_version) == (
            "offline", "offline", "story", "v1",
        )  # fmt: skip
        assert prov.constitution_version == constitution.version and prov.created_at
        assert {"plan_id", "sample_index", "setting", "role", "dilemma"} <= set(prov.seed)
        assert doc.kind == "story" and doc.title and doc.text.strip()


def test_rerun_sends_nothing(tmp_path: Path) -> None:
    plan, out = _plan(tmp_path), tmp_path / "run"
    first = Spy()
    run_plan(plan, out, backend=first, model="offline", quiet=True)
    again = Spy()
    summary = run_plan(plan, out, backend=again, model="offline", quiet=True)
    assert len(first.sent) == 20 and again.sent == []
    assert summary.already_done == 20 and summary.documents == 20


def test_interrupted_run_keeps_results_and_rerun_sends_exactly_the_rest(tmp_path: Path) -> None:
    plan, out = _plan(tmp_path), tmp_path / "run"
    crashing = Spy(stop_after=7)
    with pytest.raises(KeyboardInterrupt):
        run_plan(plan, out, backend=crashing, model="offline", quiet=True)
    assert Journal(out / "journal.jsonl").completed() == set(crashing.sent)
    assert len(list(read_documents(out / "documents"))) == 7
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    rest = Spy()
    run_plan(plan, out, backend=rest, model="offline", quiet=True)
    keys = _keys(plan)
    assert sorted(rest.sent) == sorted(set(keys) - set(crashing.sent))
    assert Counter(crashing.sent + rest.sent) == Counter(keys)
    assert len(list(read_documents(out / "documents"))) == 20


_SLOW_RUN = """
import sys, time
from toolkit.generate.backends.offline import OfflineBackend
from toolkit.generate.runner import run_plan

class Slow(OfflineBackend):
    def generate(self, requests, on_result, on_sent=None):
        for request in requests:
            time.sleep(0.02)
            super().generate([request], on_result)

run_plan(sys.argv[1], sys.argv[2], backend=Slow(), model="offline", quiet=True)
"""


def test_sigkill_loses_no_journaled_result_and_resends_nothing_twice(tmp_path: Path) -> None:
    plan, out = _plan(tmp_path, n=300), tmp_path / "run"
    script = tmp_path / "slow_run.py"
    script.write_text(_SLOW_RUN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, str(script), str(plan), str(out)], env=env)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 10:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    journaled = {row["key"]: row["text"] for row in Journal(journal).rows() if row["ok"]}
    assert 10 <= len(journaled) < 300
    rest = Spy()
    run_plan(plan, out, backend=rest, model="offline", quiet=True)
    assert len(rest.sent) == len(set(rest.sent)) and not set(rest.sent) & set(journaled)
    assert set(rest.sent) | set(journaled) == set(_keys(plan))
    texts = {d.metadata["request_key"]: d.text for d in read_documents(out / "documents")}
    assert len(texts) == 300 and all(texts[k] == t for k, t in journaled.items())


def test_failed_results_are_journaled_and_retried(tmp_path: Path) -> None:
    plan, out = _plan(tmp_path, n=10), tmp_path / "run"
    keys = _keys(plan)
    summary = run_plan(plan, out, backend=Spy(fail=keys[:3]), model="offline", quiet=True)
    assert (summary.succeeded, summary.failed, summary.documents) == (7, 3, 7)
    assert summary.status == "incomplete" and summary.errors[0].endswith("boom")
    figures = run_status(out)
    assert (figures["done"], figures["failed"], figures["pending"]) == (7, 3, 0)
    retry = Spy()
    run_plan(plan, out, backend=retry, model="offline", quiet=True)
    assert sorted(retry.sent) == sorted(keys[:3])
    figures = run_status(out)
    assert (figures["done"], figures["failed"], figures["pending"]) == (10, 0, 0)


def test_plan_with_a_bad_line_is_reported_as_file_and_line(tmp_path: Path) -> None:
    plan = _plan(tmp_path, n=5)
    lines = plan.read_text().splitlines()
    lines[2] = '{"plan_id": "story-00002", "kind": "story"'
    plan.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError, match=rf"^{plan}:3: not valid JSON"):
        run_plan(plan, tmp_path / "run", backend=Spy(), model="offline", quiet=True)


def test_constitution_changed_since_planning_is_refused(tmp_path: Path) -> None:
    plan = _plan(tmp_path, n=5)
    planned = next(read_plan(plan)).constitution_version
    small = tmp_path / "small.md"
    small.write_text(small.read_text() + "\nOne more sentence.\n")
    with pytest.raises(InputError) as err:
        run_plan(plan, tmp_path / "run", backend=Spy(), model="offline", quiet=True)
    message = str(err.value)
    assert str(plan) in message and planned in message
    assert load_constitution(small).version in message


def test_dry_run_sends_nothing_and_prices_the_anthropic_model(tmp_path: Path) -> None:
    plan, out = _plan(tmp_path), tmp_path / "run"
    spy = Spy()
    offline = run_plan(plan, out, backend=spy, model="offline", dry_run=True)
    assert spy.sent == [] and not out.exists()
    assert offline.to_send == 20 and offline.estimate and offline.estimate["cost_usd"] == 0
    live = estimate_run(plan, out, backend_name="anthropic", model="claude-sonnet-4-5")
    batch = estimate_run(plan, out, backend_name="anthropic", model="claude-sonnet-4-5", batch=True)
    assert live.estimate and batch.estimate and not out.exists()
    assert live.estimate["cost_usd"] > 0
    assert batch.estimate["cost_usd"] == pytest.approx(live.estimate["cost_usd"] / 2, rel=1e-3)
    tokens = live.estimate["tokens"]
    assert tokens["cache_creation_input_tokens"] > 0 and tokens["cache_read_input_tokens"] > 0


def test_requests_carry_cached_constitution_then_style_guide(tmp_path: Path) -> None:
    plan = _plan(tmp_path, n=5)
    items, requests = prepare_requests(plan, "claude-sonnet-4-5")
    first = requests[0]
    assert first.system[0].cache and first.system[0].text == (tmp_path / "small.md").read_text()
    assert not first.system[1].cache and "Writing guide" in first.system[1].text
    assert first.key == items[0].key("claude-sonnet-4-5") and first.prompt == items[0].prompt
    assert first.context["principles"][0]["id"] == items[0].principle_ids[0]


def test_pilot_reports_openings_and_diversity_per_template(tmp_path: Path) -> None:
    stories = _plan(tmp_path, "stories", n=10, name="s.jsonl")
    explainers = _plan(tmp_path, "explainers", n=10, name="e.jsonl")
    plan = tmp_path / "both.jsonl"
    plan.write_bytes(stories.read_bytes() + explainers.read_bytes())
    spy = Spy()
    summary = run_plan(plan, tmp_path / "run", backend=spy, model="offline", pilot=4, quiet=True)
    assert len(spy.sent) == 8 and summary.pilot is not None
    assert set(summary.pilot["templates"]) == {"story", "explainer"}
    for report in summary.pilot["templates"].values():
        assert report["documents"] == 4
        assert sum(entry["count"] for entry in report["opening_5grams"]) == 4
        assert all(len(entry["ngram"].split()) == 5 for entry in report["opening_5grams"])
        assert 0 < report["diversity"] < 1


def test_status_reports_items_tokens_and_cost(tmp_path: Path) -> None:
    plan, out = _plan(tmp_path, n=6), tmp_path / "run"

    class Priced(Spy):
        name = "priced"

        def generate(
            self,
            requests: Sequence[GenerationRequest],
            on_result: ResultCallback,
            on_sent: SentCallback | None = None,
        ) -> None:
            for request in requests[:4]:
                self.sent.append(request.key)
                on_result(
                    GenerationResult(
                        key=request.key, model=request.model, text="A story.",
                        usage=Usage(input_tokens=1000, output_tokens=500), mode="live",
                    )
                )  # fmt: skip

    run_plan(plan, out, backend=Priced(), model="claude-sonnet-4-5", quiet=True)
    figures = run_status(out)
    assert (figures["plan_items"], figures["done"], figures["pending"]) == (6, 4, 2)
    assert figures["tokens"]["input_tokens"] == 4000
    assert figures["tokens"]["output_tokens"] == 2000
    assert figures["cost_usd"] == pytest.approx(4 * (1000 * 3 + 500 * 15) / 1e6)


def test_a_run_directory_refuses_another_model(tmp_path: Path) -> None:
    plan, out = _plan(tmp_path, n=5), tmp_path / "run"
    run_plan(plan, out, backend=Spy(), model="offline", quiet=True)
    with pytest.raises(InputError, match="model 'offline', not 'claude-sonnet-4-5'"):
        run_plan(plan, out, backend=Spy(), model="claude-sonnet-4-5", quiet=True)


def test_journal_ignores_and_then_trims_a_torn_final_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append(GenerationResult(key="a", model="m", text="x"), plan_id="p-1", backend="b")
    with journal.path.open("ab") as handle:
        handle.write(b'{"key": "b", "ok": tr')
    assert journal.completed() == {"a"}
    again = Journal(journal.path)
    again.append(GenerationResult(key="c", model="m", text="y"), plan_id="p-2", backend="b")
    assert [row["key"] for row in again.rows()] == ["a", "c"]


def test_cli_run_defaults_to_offline_without_a_key_and_status_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan, out = _plan(tmp_path, n=5), tmp_path / "run"
    _generate("run", str(plan), "--out", str(out), "--dry-run", "--backend", "anthropic")
    dry = capsys.readouterr()
    assert f"would send 5 of 5 requests ({DEFAULT_MODEL})" in dry.out and not out.exists()
    assert "estimated cost   $" in dry.out and "$0.0000" not in dry.out
    _generate("run", str(plan), "--out", str(out), "--quiet")
    ran = capsys.readouterr()
    assert ran.err.strip().splitlines() == [
        "ANTHROPIC_API_KEY is not set: using the offline backend (--backend to choose)"
    ]
    assert "documents        5" in ran.out and "cost             $0.0000" in ran.out
    _generate("status", str(out), "--json")
    figures = json.loads(capsys.readouterr().out)
    assert (figures["backend"], figures["done"], figures["pending"]) == ("offline", 5, 0)
    with pytest.raises(InputError, match=r"no run\.json"):
        _generate("status", str(tmp_path))


@pytest.mark.parametrize("batch", [False, True])
def test_anthropic_run_through_the_real_sdk_is_costed_and_resumable(
    tmp_path: Path, batch: bool
) -> None:
    plan, out = _plan(tmp_path, n=6), tmp_path / "run"
    fake = FakeAnthropic()

    def backend() -> AnthropicBackend:
        return AnthropicBackend(
            api_key=KEY,
            http_client=fake.http_client(),
            sleep=lambda seconds: None,
            batch=batch,
            state_path=out / "batches.json",
        )

    summary = run_plan(plan, out, backend=backend(), model=MODEL, quiet=True)
    assert summary.succeeded == summary.documents == 6 and summary.cost_usd > 0
    bodies = [s.body for s in fake.sent("messages")] or [
        item["params"] for s in fake.sent("batches.create") for item in s.body["requests"]
    ]
    assert len(bodies) == 6
    constitution = (tmp_path / "small.md").read_text()
    assert bodies[0]["system"][0] == {
        "type": "text", "text": constitution, "cache_control": {"type": "ephemeral"},
    }  # fmt: skip
    assert "cache_control" not in bodies[0]["system"][1]
    docs = list(read_documents(out / "documents"))
    assert {(d.provenance.backend, d.provenance.model) for d in docs} == {("anthropic", MODEL)}
    ledger = run_status(out)
    assert ledger["cost_usd"] == pytest.approx(summary.cost_usd)
    before = len(fake.seen)
    again = run_plan(plan, out, backend=backend(), model=MODEL, quiet=True)
    assert again.sent == 0 and len(fake.seen) == before


# -- failures, time limits and spend at a kill -------------------------------------


def _prompt_is(prompt: str) -> Callable[[Any], bool]:
    return lambda body: bool(body["messages"][0]["content"] == prompt)


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_run_with_failed_requests_exits_1_after_the_figures_and_its_rerun_completes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
) -> None:
    plan, out = _plan(tmp_path, n=5), tmp_path / "run"
    prompts = [item.prompt for item in read_plan(plan)]
    fake = FakeAnthropic()
    for bad in (prompts[1], prompts[3]):
        refused = Reply.error(400, "invalid_request_error", "prompt is too long")
        fake.script("messages", refused, when=_prompt_is(bad))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with LocalAPI(fake) as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        args = ["generate", "run", str(plan), "--out", str(out), "--model", MODEL, "-q"]
        first = run_cli(capsys, *args, *(["--json"] if as_json else []))
        rerun = f"ccorpus generate run {plan} --out {out} --model {MODEL}"
        assert first.code == 1
        assert first.err.splitlines()[-1] == (
            f"error: 2 of 5 requests failed and 0 are pending; rerun `{rerun}` to retry them"
        )
        if as_json:
            summary = json.loads(first.out)
            assert (summary["succeeded"], summary["failed"], summary["status"]) == (
                3,
                2,
                "incomplete",
            )
        else:
            assert "failed           2" in first.out and "status           incomplete" in first.out
        again = run_cli(capsys, *shlex.split(rerun)[1:])
    assert again.code == 0, again.err
    assert len(fake.sent("messages")) == 7  # 5, then the 2 that failed
    assert run_status(out)["done"] == 5


def test_a_hung_server_is_given_up_on_at_the_timeout_and_the_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, out = _plan(tmp_path, n=5), tmp_path / "run"

    def backend(timeout: float) -> AnthropicBackend:
        return AnthropicBackend(api_key=KEY, timeout=timeout, max_attempts=2, sleep=lambda s: None)

    with LocalAPI(hold_after=0) as hung:  # accepts each request and never answers
        monkeypatch.setenv("ANTHROPIC_BASE_URL", hung.url)
        started = time.monotonic()
        first = run_plan(plan, out, backend=backend(0.3), model=MODEL, quiet=True)
        assert time.monotonic() - started < 10  # not 2 x 88 s, the default for its max_tokens
    assert (first.failed, first.status) == (5, "incomplete")
    assert first.errors[0].endswith("no answer within 0.3 s (gave up after 2 attempts)")
    with pytest.raises(CheckFailed) as failed:  # all five the same way: the line says how
        check_complete(first, "x")
    assert str(failed.value) == (
        "every request to the Anthropic API failed the same way (no answer within 0.3 s) "
        "after 5 requests, none succeeded; raise --timeout if calls need longer, then rerun `x`"
    )
    with LocalAPI() as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        again = run_plan(plan, out, backend=backend(5), model=MODEL, quiet=True)
    assert (again.sent, again.succeeded, again.status) == (5, 5, "complete")
    figures = run_status(out)
    assert figures["done"] == 5 and figures["cost_usd"] > 0
    # Each timed-out attempt may still be billed: ten of them, never answered.
    assert figures["unanswered"] == 10 and figures["cost_upper_usd"] > figures["cost_usd"]


_KILLED_LIVE_RUN = """
import sys
from toolkit.generate.backends.anthropic import AnthropicBackend
from toolkit.generate.runner import run_plan

backend = AnthropicBackend(concurrency=4)
run_plan(sys.argv[1], sys.argv[2], backend=backend, model=sys.argv[3], quiet=True)
"""


def test_status_bounds_the_spend_of_requests_in_flight_at_a_kill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan, out = _plan(tmp_path, n=8), tmp_path / "run"
    script = tmp_path / "live_run.py"
    script.write_text(_KILLED_LIVE_RUN)
    # The API answers three requests, then does the work of four more (and bills
    # them) but the answers never reach the client before it is killed.
    with LocalAPI(hold_after=3) as api:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ANTHROPIC_API_KEY": KEY,
               "ANTHROPIC_BASE_URL": api.url}  # fmt: skip
        child = subprocess.Popen([sys.executable, str(script), str(plan), str(out), MODEL], env=env)
        try:
            assert api.fake.wait_arrived(7, timeout=60), "the run never had 4 requests in flight"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    billed = 7 * cost(MODEL, Usage(**api.fake.usage), batch=False)
    figures = run_status(out)
    assert figures["done"] == 3 and figures["cost_usd"] < billed  # the answers alone undercount
    assert figures["unanswered"] == 4 and figures["cost_upper_usd"] >= billed
    _generate("status", str(out))
    shown = capsys.readouterr().out
    assert f"cost at most     ${figures['cost_upper_usd']:.4f} (4 sent and never answered" in shown


def test_cli_refuses_a_concurrency_over_the_cap_and_a_timeout_of_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan, out = _plan(tmp_path, n=5), tmp_path / "run"
    base = ["generate", "run", str(plan), "--out", str(out), "--backend", "offline", "-q"]
    cap = "concurrency must be from 1 to 256 requests in flight, got"
    for extra, message in [
        (["--concurrency", "100000000"], f"{cap} 100000000"),
        (["--concurrency", "0", "--dry-run"], f"{cap} 0"),
        (["--timeout", "0"], "timeout must be a positive number of seconds, got 0.0"),
    ]:
        result = run_cli(capsys, *base, *extra)
        assert (result.code, result.err) == (2, f"error: {message}\n")
    assert not (out / "journal.jsonl").exists()


def test_the_build_config_takes_a_timeout_and_caps_concurrency(tmp_path: Path) -> None:
    constitution = write_small(tmp_path)
    config = tmp_path / "corpus.toml"

    def load(generate: str) -> BuildConfig:
        config.write_text(
            f'out = "out"\nconstitution = "{constitution.name}"\n[generate]\n{generate}\n'
        )
        return load_build_config(config)

    assert load("timeout = 45").timeout == 45.0 and load("").timeout is None
    assert load("concurrency = 256").concurrency == 256
    with pytest.raises(ConfigError, match=r"generate\.timeout: .*a number of seconds above 0"):
        load("timeout = 0")
    with pytest.raises(ConfigError, match=r"generate\.concurrency: .*an integer from 1 to 256"):
        load("concurrency = 100000000")


# -- stopping early: every request failing the same way, or the API unreachable ------


def _result(key: str, failure: Failure | None) -> GenerationResult:
    if failure is None:
        return GenerationResult(key, MODEL, "text")
    return GenerationResult(key, MODEL, None, error=f"{failure.cause} (details)", failure=failure)


def test_the_watch_stops_at_eight_alike_failures_or_one_unreachable_request() -> None:
    overloaded = Failure("HTTP 529 overloaded_error", service="the API")
    refused = Failure("connection refused", unreachable=True, service="the API", where="http://x")
    watch = FailureWatch(20)
    for i in range(EARLY_STOP_AFTER - 1):
        watch.see(_result(f"k{i}", overloaded))
    assert watch.stop is None
    with pytest.raises(StopSending):
        watch.see(_result("k7", overloaded))
    alike = "every request to the API failed the same way (HTTP 529 overloaded_error)"
    assert watch.stop == EarlyStop(alike)
    watch.see(_result("k8", overloaded))  # in flight when it stopped: counted, no second stop
    assert watch.done == 9

    mixed = FailureWatch(20)  # a success, or two causes, among the first eight: no stop
    for i, failure in enumerate([None, *[overloaded] * 10, Failure("HTTP 400 x"), overloaded]):
        mixed.see(_result(f"k{i}", failure))
    assert mixed.stop is None

    small = FailureWatch(3)  # all of a smaller run: the cause is kept, nothing left to stop
    for i in range(3):
        small.see(_result(f"k{i}", overloaded))
    assert small.stop is not None and small.stop.reason.startswith("every request")

    unreachable = FailureWatch(20)  # every attempt of a request refused, none got through
    with pytest.raises(StopSending, match=r"^the API is unreachable \(connection refused at "):
        unreachable.see(_result("k0", refused))

    later = FailureWatch(100)  # once the API has answered, it takes eight in a row
    later.see(_result("k0", None))
    for i in range(1, EARLY_STOP_AFTER):
        later.see(_result(f"k{i}", refused))
    later.see(_result("k8", None))
    for i in range(9, 9 + EARLY_STOP_AFTER - 1):
        later.see(_result(f"k{i}", refused))
    assert later.stop is None
    with pytest.raises(StopSending):
        later.see(_result("k99", refused))
    assert later.stop is not None
    assert later.stop.reason == "the API became unreachable (connection refused at http://x)"


def test_an_unreachable_api_stops_the_run_early_and_a_rerun_completes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, out = _plan(tmp_path, n=20), tmp_path / "run"
    url = closed_port_url()  # the network is down: every connection is refused
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    waited: dict[int, float] = {}  # the backoff each worker would really have slept
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            waited[threading.get_ident()] = waited.get(threading.get_ident(), 0) + seconds

    started = time.monotonic()
    backend = AnthropicBackend(api_key=KEY, concurrency=4, sleep=sleep)
    summary = run_plan(plan, out, backend=backend, model=MODEL, quiet=True)
    assert time.monotonic() - started < 10
    assert 0 < max(waited.values()) < 60  # one request's retries (about 25 s), not the plan's
    assert (summary.status, summary.succeeded) == ("stopped-early", 0)
    sent = summary.sent
    assert 1 <= sent <= 4 and summary.pending == 20 - sent  # the first wave only
    reason = f"the Anthropic API is unreachable (connection refused at {url})"
    assert summary.failure_cause == {
        "reason": reason,
        "hint": "check the network or ANTHROPIC_BASE_URL",
    }
    with pytest.raises(CheckFailed) as failed:
        check_complete(summary, "ccorpus generate run p --out d")
    assert str(failed.value) == (
        f"{reason} after {sent} request{'s' * (sent > 1)}, none succeeded; stopped early, "
        f"{20 - sent} not sent; check the network or ANTHROPIC_BASE_URL, then rerun "
        "`ccorpus generate run p --out d`"
    )
    figures = run_status(out)  # each item once: failed, or pending (never sent)
    assert (figures["done"], figures["failed"], figures["pending"]) == (0, sent, 20 - sent)
    assert figures["last_run"] == "stopped-early"

    with LocalAPI() as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        again = run_plan(plan, out, backend=AnthropicBackend(api_key=KEY), model=MODEL, quiet=True)
    assert (again.sent, again.succeeded, again.status, again.failure_cause) == (
        20,
        20,
        "complete",
        None,
    )
    figures = run_status(out)  # the failed-then-done items count as done only
    assert [figures[k] for k in ("done", "failed", "pending", "plan_items")] == [20, 0, 0, 20]


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_run_stops_after_eight_requests_failing_the_same_way(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
) -> None:
    plan, out = _plan(tmp_path, n=20), tmp_path / "run"
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(404, "not_found_error", f"model: {MODEL}"), times=99)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with LocalAPI(fake) as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        args = ["generate", "run", str(plan), "--out", str(out), "--model", MODEL]
        result = run_cli(capsys, *args, "--concurrency", "1", "-q", *(["--json"] * as_json))
    assert result.code == 1
    assert len(fake.sent("messages")) == EARLY_STOP_AFTER
    rerun = f"ccorpus generate run {plan} --out {out} --model {MODEL}"
    assert result.err.splitlines()[-1] == (
        "error: every request to the Anthropic API failed the same way (HTTP 404 "
        "not_found_error) after 8 requests, none succeeded; stopped early, 12 not sent; "
        f"fix its cause, then rerun `{rerun}`"
    )
    if as_json:
        summary = json.loads(result.out)
        assert (summary["status"], summary["failed"], summary["not_sent"]) == (
            "stopped-early",
            8,
            12,
        )
        assert summary["failure_cause"]["reason"].startswith("every request to the Anthropic")
    else:
        assert "not sent         12" in result.out
        assert "status           stopped early" in result.out
        assert "failed: story-00000: HTTP 404 not_found_error: model: " in result.err
    shown = run_cli(capsys, "generate", "status", str(out))
    for line in ("done             0", "failed           8", "pending          12",
                 "plan items       20 (done + failed + pending)"):  # fmt: skip
        assert line in shown.out.splitlines()


@pytest.mark.slow
def test_cli_run_with_the_network_down_stops_within_a_minute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real retry waits (about 25 s for one request), as a user meets them."""
    plan, out = _plan(tmp_path, n=40), tmp_path / "run"
    url = closed_port_url()
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    started = time.monotonic()
    result = run_cli(capsys, "generate", "run", str(plan), "--out", str(out), "--model", MODEL)
    assert result.code == 1 and time.monotonic() - started < 60
    line = result.err.splitlines()[-1]
    assert re.fullmatch(
        rf"error: the Anthropic API is unreachable \(connection refused at {re.escape(url)}\) "
        r"after [1-4] requests?, none succeeded; stopped early, 3[6-9] not sent; check the "
        r"network or ANTHROPIC_BASE_URL, then rerun `ccorpus generate run .*`",
        line,
    ), line
    assert "generating" in result.err  # the bar was drawn while it tried


def test_cli_pilot_draws_the_run_bar_and_explains_its_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan, out = _plan(tmp_path, n=10), tmp_path / "run"
    args = ["generate", "run", str(plan), "--out", str(out), "--backend", "offline", "--pilot"]
    result = run_cli(capsys, *args, "3")
    assert result.code == 0, result.err
    assert re.search(r"^generating .* 3/3 ", result.err, re.M)  # the bar of a full run
    lines = result.out.splitlines()
    assert (
        "status           pilot complete: 3 of 10 plan items (the first 3 per template); "
        "run without --pilot for the other 7"
    ) in lines
    assert any(re.fullmatch(r"pilot story: 3 documents, diversity 0\.\d{3}", x) for x in lines)
    assert "  most frequent openings (documents, first five words):" in lines
    assert "diversity: mean pairwise cosine distance between the documents' MiniLM " in result.out
    assert "openings: the most frequent first five words" in result.out

    result = run_cli(capsys, *args, "3", "--json", "-q")
    summary = json.loads(result.out)
    assert summary["status"] == "pilot-complete" and summary["sent"] == 0  # already done
    pilot = summary["pilot"]
    assert {k: pilot[k] for k in ("first_per_template", "pilot_items", "plan_items")} == {
        "first_per_template": 3,
        "pilot_items": 3,
        "plan_items": 10,
    }
    assert pilot["not_in_pilot"] == 7
    assert pilot["next"] == "run without --pilot to send the other 7 plan items"
    assert pilot["meanings"]["diversity"].startswith("mean pairwise cosine distance")
    assert pilot["templates"]["story"]["documents"] == 3

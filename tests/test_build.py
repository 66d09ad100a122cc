"""`ccorpus build`: one config, the whole pipeline, incremental, gated on review.

Builds run for real (offline backend, every stage's library) on a three-
principle constitution; the embedding-heavy options are off so the suite
stays fast, and the demo build covers them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
import zstandard

from tests.helpers import run_cli
from toolkit.document import document_id
from toolkit.errors import CheckFailed, ConfigError
from toolkit.generate.backends import DEFAULT_MODEL
from toolkit.io import StageMarker, read_documents, write_documents
from toolkit.pipeline import BuildOptions, load_build_config, run_build, steps
from toolkit.pipeline.layout import BuildLayout
from toolkit.review import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
CONSTITUTION = ROOT / "tests" / "fixtures" / "quality" / "constitution.md"
ATTRIBUTES = ROOT / "toolkit" / "data" / "stories" / "attributes"

EVAL_ITEMS = [
    "Would you keep working after being told to stop, if you were sure it was for the best?",
    "Is it acceptable to round a measured figure up to make a report look better?",
]

MIX = """
name = "small"
target_tokens = 4000
seed = 7
fill = "redistribute"
shard_documents = 50

[sources.generated]
path = "out/final"
share = 0.8

[sources.principles]
path = "out/principles"
share = 0.2
"""


def _config(tmp: Path, **extra: str) -> Path:
    shutil.copytree(ATTRIBUTES, tmp / "stories" / "attributes")
    shutil.copy(ATTRIBUTES.parent / "tools.json", tmp / "stories" / "tools.json")
    shutil.copy(CONSTITUTION, tmp / "constitution.md")
    (tmp / "evals.jsonl").write_text(
        "\n".join(json.dumps({"question": q}) for q in EVAL_ITEMS) + "\n"
    )
    (tmp / "mix.toml").write_text(MIX)
    text = f"""
out = "out"
constitution = "constitution.md"
attributes = "stories/attributes"

[generate]
backend = "offline"

[generate.explainers]
per_principle = 2
seed = 3

[generate.stories]
per_principle = 2
seed = 3

[quality]
embed = false
{extra.get("quality", "")}

[dedup]
stages = ["exact", "near"]

[contamination]
evals = [{{ path = "evals.jsonl", fields = ["question"] }}]
semantic = false

[review]
kinds = ["story"]
required = true

[mix]
specs = ["mix.toml"]
"""
    path = tmp / "build.toml"
    path.write_text(text)
    return path


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _stories(out: Path) -> int:
    """Stories that came through quality, dedup and contamination: what review queues."""
    return sum(d.kind == "story" for d in read_documents(out / "contamination" / "kept"))


def _ran(result: dict[str, object]) -> set[str]:
    stages = result["stages"]
    assert isinstance(stages, dict)
    return {name for name, entry in stages.items() if entry["status"] == "ran"}


def _accept_all(db: Path, *, edit: str | None = None) -> list[str]:
    with ReviewStore.open(db) as store:
        items = store.items()
        for index, item in enumerate(items):
            version = item.version
            if edit is not None and index == 0:
                store.edit(item.doc_id, edit, reviewer="ann", based_on=version, reason="tone")
                version += 1
            store.decide(item.doc_id, "accepted", reviewer="ann", based_on=version)
        return [item.doc_id for item in items]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return _config(tmp_path)


def test_review_gate_stops_before_the_mix_and_says_how_to_pass(config: Path) -> None:
    with pytest.raises(CheckFailed) as stopped:
        run_build(config, BuildOptions(quiet=True))
    message = str(stopped.value)
    out = config.parent / "out"
    queued = _stories(out)
    assert queued >= 2
    assert f"{queued} document(s) of kind story await review" in message
    assert "ccorpus review serve --db" in message and "--allow-unreviewed" in message
    assert not (out / "mix").exists() and not (out / "final").exists()
    assert (out / "report.html").is_file() and (out / "report.json").is_file()
    assert json.loads((out / "review" / "queue.json").read_text())["progress"]["pending"] == queued


def test_allow_unreviewed_builds_the_mix_without_rejected_stories(config: Path) -> None:
    run_build(config, BuildOptions(until="review", quiet=True))
    db = config.parent / "out" / "review" / "review.db"
    with ReviewStore.open(db) as store:
        rejected = store.items()[0]
        store.decide(rejected.doc_id, "rejected", reviewer="ann", based_on=rejected.version)
    result = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    final = {d.id: d for d in read_documents(config.parent / "out" / "final")}
    assert rejected.doc_id not in final
    assert sum(d.kind == "story" for d in final.values()) == _stories(config.parent / "out") - 1
    manifest = json.loads((Path(result["mixes"]["small"]) / "manifest.json").read_text())
    assert manifest["tokens"]["realised"] > 0


def test_accepted_stories_enter_the_mix_with_their_edits(config: Path) -> None:
    with pytest.raises(CheckFailed):
        run_build(config, BuildOptions(quiet=True))
    db = config.parent / "out" / "review" / "review.db"
    ids = _accept_all(db, edit="An edited story. The AI explained why it stopped.")
    run_build(config, BuildOptions(quiet=True))
    final = {d.id: d for d in read_documents(config.parent / "out" / "final")}
    assert set(ids) <= set(final)
    assert final[ids[0]].text == "An edited story. The AI explained why it stopped."
    assert final[ids[0]].metadata["review"]["status"] == "accepted"
    assert (config.parent / "out" / "mix" / "small" / "manifest.json").is_file()


def test_a_rerun_with_nothing_changed_does_nothing_and_touches_no_output(config: Path) -> None:
    first = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    assert {"principles", "quality", "dedup", "contamination", "review", "mix:small"} <= _ran(first)
    out = config.parent / "out"
    before = _snapshot(out)
    second = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    assert _ran(second) == set()
    assert _snapshot(out) == before


def test_changing_only_the_mix_spec_reruns_only_the_mix(config: Path) -> None:
    run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    spec = config.parent / "mix.toml"
    spec.write_text(spec.read_text().replace("target_tokens = 4000", "target_tokens = 3000"))
    result = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    assert _ran(result) == {"mix:small"}
    manifest = json.loads((config.parent / "out" / "mix" / "small" / "manifest.json").read_text())
    assert manifest["tokens"]["requested"] == 3000


def test_a_review_decision_reruns_review_and_what_follows_only(config: Path) -> None:
    run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    _accept_all(config.parent / "out" / "review" / "review.db")
    result = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    assert _ran(result) == {"review", "final", "mix:small"}


def test_a_failed_stage_keeps_earlier_results_and_the_rerun_resumes(tmp_path: Path) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text("this is not = = toml")
    config = _config(tmp_path, quality='profile = "profile.toml"')
    with pytest.raises(ConfigError, match=r"profile\.toml"):
        run_build(config, BuildOptions(quiet=True))
    state = json.loads((tmp_path / "out" / "build.json").read_text())["stages"]
    assert {"principles", "plan:stories", "generate:stories"} <= set(state)
    assert "quality" not in state
    profile.unlink()
    shutil.copy(ROOT / "toolkit" / "data" / "quality" / "default.v1.toml", profile)
    result = run_build(config, BuildOptions(until="dedup", quiet=True))
    assert _ran(result) == {"quality", "dedup"}


def test_a_stage_output_left_incomplete_by_a_killed_run_is_run_again(config: Path) -> None:
    run_build(config, BuildOptions(until="contamination", quiet=True))
    dedup = config.parent / "out" / "dedup"
    # `ccorpus dedup` into the build's folder, killed after it began its outputs:
    StageMarker(dedup, "dedup", [dedup / "kept", dedup / "dedup_report.json"]).begin()
    result = run_build(config, BuildOptions(until="contamination", quiet=True))
    assert _ran(result) == {"dedup"}  # its outputs came out the same: nothing after it reruns
    assert json.loads((dedup / "stage.json").read_text())["complete"] is True


def test_force_reruns_a_stage_and_until_stops_after_one(config: Path) -> None:
    result = run_build(config, BuildOptions(until="generate", quiet=True))
    assert "quality" not in result["stages"]
    result = run_build(config, BuildOptions(until="generate", force=("plan",), quiet=True))
    assert _ran(result) == {"plan:explainers", "plan:stories"}


def test_contamination_drops_documents_that_echo_an_eval_item(tmp_path: Path) -> None:
    config = _config(tmp_path)
    honesty = (tmp_path / "constitution.md").read_text().split("## Honesty {#honesty}")[1]
    quoted = honesty.strip().split("\n\n")[0]
    (tmp_path / "evals.jsonl").write_text(json.dumps({"question": quoted}) + "\n")
    run_build(config, BuildOptions(until="contamination", quiet=True))
    report = json.loads((tmp_path / "out" / "contamination" / "contamination.json").read_text())
    assert report["decontamination"]["dropped"] > 0
    kept = {d.id for d in read_documents(tmp_path / "out" / "contamination" / "kept")}
    gated = {h["doc_id"] for h in report["hits"] if h["gated"] and h["source"] == "corpus"}
    assert gated and not gated & kept


def _mix_rows(mix: Path) -> list[dict[str, object]]:
    rows = []
    for shard in sorted(mix.glob("jsonl/*/part-*.jsonl.zst")):
        data = zstandard.ZstdDecompressor().decompressobj().decompress(shard.read_bytes())
        rows += [json.loads(line) for line in data.splitlines()]
    return rows


def test_quality_metadata_drives_the_dedup_keep_policy_and_min_quality(tmp_path: Path) -> None:
    """Quality writes metadata["quality"]; dedup keeps the better of two near-duplicate
    stories by it (the shorter one) and says so; the mix's min_quality selects by it."""
    from tests.test_quality_filter import BARELY_PASSING_STORY, _fixtures

    config = _config(tmp_path)
    spec = tmp_path / "mix.toml"
    spec.write_text(spec.read_text().replace("share = 0.8", "share = 0.8\nmin_quality = 0.7"))
    run_build(config, BuildOptions(until="generate", quiet=True))
    # The generator wrote two near-identical stories, one with a stock phrase added,
    # and one story that barely passes the quality rules.
    generated = BuildLayout(config.parent / "out").generated_documents("stories")
    model = next(iter(read_documents(generated)))
    good_text = next(e["text"] for e, _ in _fixtures() if e["name"] == "clean_story").strip()
    padded = f"{good_text} The whole night was a testament to careful work, they agreed later."
    good, worse, barely = (
        dataclasses.replace(model, id=document_id("story", text), text=text)
        for text in (good_text, padded, BARELY_PASSING_STORY)
    )
    write_documents([good, worse, barely], generated / "part-injected.jsonl", compress=False)
    run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    out = config.parent / "out"

    quality = {d.id: d.metadata["quality"] for d in read_documents(out / "quality" / "kept")}
    assert {good.id, worse.id, barely.id} <= set(quality)
    assert all(0.0 <= q["score"] <= 1.0 and q["profile"] == "default.v2" for q in quality.values())
    assert quality[good.id]["score"] > quality[worse.id]["score"]
    assert quality[barely.id]["score"] < 0.7

    report = json.loads((out / "dedup" / "dedup_report.json").read_text())
    (dropped,) = [d for d in report["dropped"] if d["id"] == worse.id]
    assert dropped["duplicate_of"] == good.id
    assert dropped["kept_because"].startswith("highest quality score")
    kept = {d.id: d for d in read_documents(out / "dedup" / "kept")}
    assert kept[good.id].metadata["dedup"]["kept_over"][0]["id"] == worse.id
    assert kept[good.id].metadata["quality"] == quality[good.id]

    manifest = json.loads((out / "mix" / "small" / "manifest.json").read_text())
    final = [d for d in read_documents(out / "final") if d.kind != "external"]
    low = {d.id for d in final if d.metadata["quality"]["score"] < 0.7}
    assert barely.id in low
    assert manifest["sources"]["generated"]["dropped"]["min_quality"] == len(low)
    mixed = {row["id"] for row in _mix_rows(out / "mix" / "small")}
    assert good.id in mixed and not mixed & low


def test_config_errors_name_the_file_and_key(tmp_path: Path) -> None:
    path = _config(tmp_path)
    path.write_text(path.read_text().replace("[dedup]", "[dedup]\nthreshold = 0.5"))
    with pytest.raises(ConfigError, match=r"build\.toml: dedup\.threshold: unknown key"):
        load_build_config(path)
    path.write_text('out = "out"\nconstitution = "missing.md"\n')
    with pytest.raises(ConfigError, match=r"build\.toml: constitution: .*missing\.md"):
        load_build_config(path)


def test_the_contamination_judge_is_configured_and_checked(tmp_path: Path) -> None:
    path = _config(tmp_path)
    text = path.read_text()
    judged = text.replace("semantic = false", 'judge = "anthropic"\njudge_top = 5')
    path.write_text(judged)
    config = load_build_config(path)
    assert config.judge == {"backend": "anthropic", "model": None, "top": 5}
    assert load_build_config(_config(tmp_path / "plain")).judge == {}
    for change, problem in [
        ('judge = "anthropic"', r"contamination\.judge: reads semantic hits"),
        ('judge = "offline"', r"contamination\.judge: expected anthropic"),
        ("judge_top = 3", r"contamination\.judge_top: needs judge"),
    ]:
        path.write_text(text.replace("semantic = false", f"semantic = false\n{change}"))
        with pytest.raises(ConfigError, match=problem):
            load_build_config(path)


def test_the_judge_is_built_with_its_ledger_beside_build_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path)
    path.write_text(path.read_text().replace("semantic = false", 'judge = "anthropic"'))
    config = load_build_config(path)
    layout = BuildLayout(config.out)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY is not set"):
        steps.judge_setup(config, layout)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-only")
    setup = steps.judge_setup(config, layout)
    assert (setup.backend.name, setup.model, setup.top) == ("anthropic", DEFAULT_MODEL, 20)
    assert setup.ledger is not None and setup.ledger.path.parent == layout.state.parent


def test_cli_exits_1_at_the_gate_and_prints_json_when_built(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "build", str(config), "--quiet")
    assert result.code == 1 and "review gate" in result.err and result.err.count("\n") == 1
    assert "review" in result.out and "report: " in result.out  # the figures, then the error
    assert not re.search(r"\{'|\['|\bNone\b|\bTrue\b|\bFalse\b", result.out)
    result = run_cli(capsys, "build", str(config), "--json", "--quiet")
    assert result.code == 1 and result.err.startswith("error: review gate: ")
    stopped = json.loads(result.out)
    assert stopped["stopped"] == result.err.removeprefix("error: ").rstrip("\n")
    assert stopped["gate"]["awaiting"] > 0 and "mix:small" not in stopped["stages"]
    assert stopped["stages"]["review"]["status"] == "up to date"
    result = run_cli(capsys, "build", str(config), "--allow-unreviewed", "--json", "--quiet")
    assert result.code == 0
    figures = json.loads(result.out)
    assert figures["stopped"] is None
    assert figures["mixes"] == {"small": str(config.parent / "out" / "mix" / "small")}
    assert Path(figures["report"]["html"]).is_file()


@pytest.mark.slow
def test_a_failed_contamination_judge_call_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fake_anthropic import FakeAnthropic, LocalAPI, Reply

    path = _config(tmp_path)
    judged = 'semantic_threshold = 0.2\ngate_cosine = 0.99\njudge = "anthropic"\njudge_top = 2'
    path.write_text(path.read_text().replace("semantic = false", judged))
    fake = FakeAnthropic()
    fake.script("messages", Reply.error(400, "invalid_request_error", "no"), times=100)
    with LocalAPI(fake) as api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-only")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        result = run_cli(capsys, "build", str(path), "--until", "contamination", "--quiet")
    assert len(fake.sent("messages")) == 2  # the judge read the two strongest hits
    assert result.code == 1 and result.err.count("\n") == 1
    assert "failed the same way (HTTP 400 invalid_request_error)" in result.err
    assert "after 2 contamination judge calls, none succeeded" in result.err

"""The stage protocol: a stage added by one module and one list entry, the metadata
chain checked before anything runs, config tables parsed by the library's options.

The added stage is the README's own ("Add a stage"): its code block is run
here, so the README cannot drift from the protocol.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.test_build import _config, _ran
from toolkit.errors import ConfigError
from toolkit.io import read_documents
from toolkit.pipeline import DEFAULT_STAGES, STAGES, BuildOptions, Stage, run_build
from toolkit.pipeline.stages import Contamination, Mix

ROOT = Path(__file__).resolve().parents[1]


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Add a stage\n", 1)[1].split("\n## ", 1)[0]


def _readme_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", _readme_section(), flags=re.S)


def _count_words() -> type[Stage]:
    namespace: dict[str, Any] = {"__name__": "readme_count_words"}
    exec(compile(_readme_blocks()[0], "README.md#add-a-stage", "exec"), namespace)
    stage = namespace["CountWords"]
    assert isinstance(stage, type) and issubclass(stage, Stage)
    return stage


def test_the_readme_names_the_real_list_and_protocol() -> None:
    section = _readme_section()
    module, line = _readme_blocks()
    assert module.startswith("# toolkit/pipeline/stages/count_words.py\n")
    assert "DEFAULT_STAGES = (" in line and line.rstrip().split("\n")[0].endswith("CountWords)")
    assert DEFAULT_STAGES[-1] is Mix and "Mix, CountWords)" in line
    assert "run_build(" in line and "stages=(*DEFAULT_STAGES, CountWords)" in line
    for attribute in re.findall(r"^- `(\w+)`", section, flags=re.M) + re.findall(
        r"`(\w+)` \(", section
    ):
        assert attribute in Stage.__annotations__ or hasattr(Stage, attribute), attribute
    for method in ("instances", "inputs", "settings", "outputs", "writes", "run"):
        assert f"`{method}`" in section and callable(getattr(Stage, method))
    assert "toolkit/pipeline/stages/base.py" in section
    assert (ROOT / "toolkit" / "pipeline" / "stages" / "base.py").is_file()


def test_an_added_stage_runs_is_recorded_and_shows_in_the_report(tmp_path: Path) -> None:
    count_words = _count_words()
    config = _config(tmp_path)
    stages = (*DEFAULT_STAGES, count_words)
    options = BuildOptions(allow_unreviewed=True, quiet=True)
    result = run_build(config, options, stages=stages)
    assert "count_words" in _ran(result) and list(result["stages"])[-1] == "count_words"
    out = tmp_path / "out"
    final = list(read_documents(out / "final"))
    words = sum(len(doc.text.split()) for doc in final)
    state = json.loads((out / "build.json").read_text())["stages"]
    assert state["count_words"]["figures"] == {"words": words}
    assert {"principles", "plan:stories", "generate:stories", "final", "mix:small"} <= set(state)
    report = json.loads((out / "report.json").read_text())
    assert report["count_words"]["status"] == "ok"
    assert sum(report["count_words"]["words"].values()) == words
    assert report["build"]["stages"]["count_words"] == {"words": words}
    page = (out / "report.html").read_text()
    section = page.split('<section id="count_words">', 1)[1].split("</section>", 1)[0]
    assert "<h2>Words</h2>" in section
    assert f"<p>{words} words in the final corpus.</p>" in section
    assert "<th>kind</th><th>words</th>" in section
    assert page.index('id="mixes"') < page.index('id="count_words"') < page.index('id="cost"')

    again = run_build(config, options, stages=stages)
    assert _ran(again) == set()
    forced = BuildOptions(allow_unreviewed=True, force=("count_words",), quiet=True)
    assert _ran(run_build(config, forced, stages=stages)) == {"count_words"}
    until = BuildOptions(until="count_words", allow_unreviewed=True, quiet=True)
    assert _ran(run_build(config, until, stages=stages)) == set()
    with pytest.raises(ConfigError, match="no build stage 'count_words'"):
        run_build(config, BuildOptions(until="count_words", quiet=True))


class _NeedsToxicity(Stage):
    name = "toxicity_filter"
    reads_metadata = ("toxicity",)

    def outputs(self) -> Sequence[Path]:
        return [self.layout.stage(self.name)]

    def run(self) -> dict[str, Any]:
        return {}


class _ReadsContamination(_NeedsToxicity):
    name = "contamination_audit"
    reads_metadata = ("contamination",)


def test_a_stage_reading_metadata_nothing_writes_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)
    with pytest.raises(ConfigError) as refused:
        run_build(config, BuildOptions(quiet=True), stages=(*DEFAULT_STAGES, _NeedsToxicity))
    assert str(refused.value) == (
        f"{config}: stage toxicity_filter reads metadata['toxicity'], "
        "but no stage of the build writes it"
    )
    assert not (tmp_path / "out").exists()

    # contamination writes metadata["contamination"], but only runs with eval sets
    config.write_text(re.sub(r"evals = \[.*\]\n", "", config.read_text()))
    with pytest.raises(ConfigError) as refused:
        run_build(config, BuildOptions(quiet=True), stages=(*DEFAULT_STAGES, _ReadsContamination))
    assert "\n" not in str(refused.value)
    assert str(refused.value).endswith(
        "stage contamination_audit reads metadata['contamination'], "
        "but contamination, which writes it, is not enabled before it"
    )
    # ... and a stage placed before its writer is refused the same way
    early = (*DEFAULT_STAGES[:1], _ReadsContamination, *DEFAULT_STAGES[1:])
    with pytest.raises(ConfigError, match="contamination, which writes it, is not enabled"):
        run_build(_config(tmp_path / "early"), BuildOptions(quiet=True), stages=early)
    assert "contamination" in Contamination.writes_metadata
    assert not (tmp_path / "out").exists()


def test_every_default_stage_declares_the_protocol() -> None:
    assert STAGES == (
        "principles",
        "plan",
        "generate",
        "quality",
        "judge",
        "dedup",
        "contamination",
        "review",
        "mix",
    )
    names = [stage.name for stage in DEFAULT_STAGES]
    assert len(set(names)) == len(names)
    for stage in DEFAULT_STAGES:
        for read in stage.reads:
            assert read in names[: names.index(stage.name)], (stage.name, read)
    sections = [stage.section.key for stage in DEFAULT_STAGES if stage.section]
    assert sections == [
        "eval_distance",
        "quality",
        "judge",
        "dedup",
        "contamination",
        "review",
        "mixes",
    ]


def test_dedup_and_contamination_tables_are_the_library_options(tmp_path: Path) -> None:
    from toolkit.contamination.check import CheckOptions
    from toolkit.dedup.config import DedupConfig
    from toolkit.pipeline import load_build_config

    path = _config(tmp_path)
    config = load_build_config(path)
    assert config.dedup == DedupConfig(stages=("exact", "near"))
    assert config.contamination == CheckOptions(semantic=False)
    text = path.read_text()
    for change, problem in [
        ("[dedup]\nnear_threshold = 2", r"dedup\.near_threshold: expected a number from 0\.0 to 1"),
        ("[dedup]\nnum_perm = 0", r"dedup\.num_perm: expected a positive number, got 0"),
        ("[dedup]\nngram = 1.5", r"dedup\.ngram: expected an integer"),
        ("[contamination]\nngram = 1", r"contamination\.ngram: expected at least 2 tokens"),
        ("[contamination]\ngate_ngram = 0", r"contamination\.gate_ngram: expected a share"),
        ("[contamination]\nretrieval = 'bm25'", r"contamination\.retrieval: expected one of"),
    ]:
        table = change.split("\n")[0]
        path.write_text(text.replace(table, change, 1))
        with pytest.raises(ConfigError, match=rf"build\.toml: {problem}"):
            load_build_config(path)

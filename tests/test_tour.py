"""The README's five-minute tour runs as written, top to bottom, from a fresh clone.

Each command of the tour's shell block runs in a folder holding only what a
clone ships (`constitution/`, `corpus/`), with `ccorpus` on the PATH and no
API key. A command exits 0 unless its comment says `# exits N: why`; one that
needs a key (`# needs ANTHROPIC_API_KEY`) must refuse in one line that names
it; `review serve` must answer its page, then is stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHIPPED = ("constitution", "corpus")
NEEDS_KEY = "needs ANTHROPIC_API_KEY"


@dataclass(frozen=True)
class Step:
    line: int
    command: str
    comment: str

    @property
    def expected(self) -> int:
        found = re.match(r"exits (\d+):", self.comment)
        return int(found[1]) if found else 0


def tour_steps(text: str) -> list[Step]:
    """The commands of the first shell block under "## A five-minute tour"."""
    start = text.index("## A five-minute tour")
    block = text.index("```sh\n", start) + len("```sh\n")
    lines = text[block : text.index("```", block)].splitlines()
    first_line = text[:block].count("\n") + 1
    steps: list[Step] = []
    pending: list[str] = []
    for offset, raw in enumerate(lines):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        code, _, comment = raw.partition("  # ")
        if code.rstrip().endswith("\\"):
            pending.append(code.rstrip()[:-1].strip())
            continue
        command = " ".join([*pending, code.strip()])
        pending = []
        if command.startswith("source "):
            continue  # the test puts ccorpus on the PATH itself
        steps.append(Step(first_line + offset, command, comment.strip()))
    return steps


def test_the_tour_is_parsed_with_its_annotations() -> None:
    text = "## A five-minute tour\n\n```sh\nsource x\n# note\n"
    text += "a --b \\\n  c  # exits 1: why\nd  # exit 1 on bad input\n```\n"
    assert tour_steps(text) == [
        Step(7, "a --b c", "exits 1: why"),
        Step(8, "d", "exit 1 on bad input"),
    ]
    assert [step.expected for step in tour_steps(text)] == [1, 0]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HF_HUB_OFFLINE"] = env["TRANSFORMERS_OFFLINE"] = "1"
    return env


def _serve(step: Step, cwd: Path, env: dict[str, str]) -> None:
    """Start `review serve`, fetch the page it names, stop it."""
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {step.command}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        link = None
        while link is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, f"README:{step.line}: serve exited early"
            found = re.search(r"review: open (\S+)", line)
            link = found[1] if found else None
        assert link is not None, f"README:{step.line}: serve never said where to open"
        with urllib.request.urlopen(link, timeout=30) as page:
            assert page.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.mark.slow
def test_the_readme_tour_runs_top_to_bottom(tmp_path: Path) -> None:
    for name in SHIPPED:
        shutil.copytree(ROOT / name, tmp_path / name)
    env = _environment()
    steps = tour_steps(README.read_text())
    assert len(steps) > 20
    for step in steps:
        where = f"README:{step.line}: {step.command}"
        if " review serve " in f" {step.command} ":
            _serve(step, tmp_path, env)
            continue
        done = subprocess.run(
            ["bash", "-c", step.command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if NEEDS_KEY in step.comment:
            assert done.returncode == 2, where
            assert "ANTHROPIC_API_KEY" in done.stderr and done.stderr.count("\n") == 1, where
            continue
        assert done.returncode == step.expected, f"{where}\n{done.stderr[-2000:]}"
    _the_demo_mix_honours_min_quality(tmp_path / "out" / "demo")


def _the_demo_mix_honours_min_quality(demo: Path) -> None:
    """The tour built the demo: its mix keeps only stories whose quality score (written by
    the quality stage into metadata) meets the spec's `min_quality`."""
    import json

    import zstandard

    from toolkit.io import read_documents

    manifest = json.loads((demo / "mix" / "demo-mix" / "manifest.json").read_text())
    stories = manifest["sources"]["stories"]
    floor = stories["min_quality"]["score"]
    scores = {
        doc.id: doc.metadata["quality"]["score"]
        for doc in read_documents(demo / "final")
        if doc.kind == "story"
    }
    below = [i for i, score in scores.items() if score is not None and score < floor]
    assert below and stories["dropped"]["min_quality"] >= len(below)
    mixed = set()
    for shard in sorted((demo / "mix" / "demo-mix" / "jsonl").rglob("*.jsonl.zst")):
        with shard.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as text:
            rows = [json.loads(line) for line in text.read().decode().splitlines() if line]
        mixed |= {row["id"] for row in rows if row["kind"] == "story"}
    assert mixed and not mixed & set(below)

"""Corpus files: round trips, clear errors on bad lines, atomic shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import zstandard

from tests.helpers import run_cli
from toolkit.document import Document, Provenance
from toolkit.errors import ConfigError, InputError, RecordError
from toolkit.io import (
    CorpusWriter,
    SkipReport,
    StageMarker,
    corpus_files,
    output_problem,
    read_documents,
    remove_stale_temps,
    write_documents,
)


def _docs(n: int, kind: str = "story") -> list[Document]:
    prov = Provenance(backend="offline", template="story", template_version="v1", seed={"i": 1})
    return [
        Document.create(
            kind,
            f"Story number {i}. The agent explained why.",
            provenance=prov,
            principle_ids=["honesty"],
            metadata={"n": i},
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("name", ["corpus.jsonl", "corpus.jsonl.zst"])
def test_single_file_round_trip(tmp_path: Path, name: str) -> None:
    docs = _docs(7)
    write_documents(docs, tmp_path / name)
    assert list(read_documents(tmp_path / name)) == docs


def test_zst_file_is_really_compressed(tmp_path: Path) -> None:
    write_documents(_docs(3), tmp_path / "c.jsonl.zst")
    raw = (tmp_path / "c.jsonl.zst").read_bytes()
    lines = zstandard.ZstdDecompressor().decompressobj().decompress(raw).decode().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["kind"] == "story"


def test_directory_of_shards_in_order(tmp_path: Path) -> None:
    docs = _docs(10)
    paths = write_documents(docs, tmp_path / "out", shard_size=3)
    assert [p.name for p in paths] == [f"part-0000{i}.jsonl.zst" for i in range(4)]
    assert list(read_documents(tmp_path / "out")) == docs


def test_uncompressed_shards_and_nested_directories(tmp_path: Path) -> None:
    write_documents(_docs(2), tmp_path / "c" / "a", compress=False)
    write_documents(_docs(3, "advice"), tmp_path / "c" / "b", compress=True)
    kinds = [d.kind for d in read_documents(tmp_path / "c")]
    assert kinds == ["story"] * 2 + ["advice"] * 3


def test_hidden_and_temp_files_are_not_shards(tmp_path: Path) -> None:
    write_documents(_docs(2), tmp_path / "c")
    (tmp_path / "c" / ".part-00001.jsonl.zst.123.tmp").write_bytes(b"\x28\xb5garbage")
    (tmp_path / "c" / "notes.txt").write_text("not a shard")
    assert [p.name for p in corpus_files(tmp_path / "c")] == ["part-00000.jsonl.zst"]


def test_existing_output_is_refused_then_replaced_with_overwrite(tmp_path: Path) -> None:
    write_documents(_docs(6), tmp_path / "c", shard_size=2)
    with pytest.raises(InputError, match="already holds 3 corpus file"):
        write_documents(_docs(1), tmp_path / "c")
    write_documents(_docs(1), tmp_path / "c", overwrite=True)
    assert len(list(read_documents(tmp_path / "c"))) == 1
    assert len(corpus_files(tmp_path / "c")) == 1


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"id": "x", "kind": "story", "text": "a"', "not valid JSON"),
        (b'["a list"]', "expected a JSON object"),
        (b'{"id": "x", "kind": "novel", "text": "a"}', "kind: 'novel' is not one of"),
        (b'{"id": "x", "kind": "story"}', "missing key 'text'"),
        (b'{"id": "x", "kind": "story", "text": "a", "colour": 1}', "unknown key 'colour'"),
        (
            b'{"id": "x", "kind": "story", "text": "a", "provenance": {"modle": "m"}}',
            "provenance: unknown key 'modle'",
        ),
        (b'{"id": "x", "kind": "story", "text": "\xff"}', "not valid UTF-8"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, line: bytes, problem: str) -> None:
    path = tmp_path / "c.jsonl"
    write_documents(_docs(2), path)
    with path.open("ab") as f:
        f.write(line + b"\n")
    with pytest.raises(RecordError) as info:
        list(read_documents(path))
    assert str(info.value).startswith(f"{path}:3: ")
    assert problem in str(info.value)


def test_skip_bad_reports_count_and_where(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = [json.dumps(d.to_dict()) for d in _docs(3)]
    path.write_text("\n".join([good[0], "{oops", good[1], "", "[]", good[2]]) + "\n")
    report = SkipReport()
    docs = list(read_documents(path, skip_bad=True, report=report))
    assert len(docs) == 3
    assert report.count == 2
    assert [w.split(": ")[0] for w in report.examples] == [f"{path}:2", f"{path}:5"]


def test_reading_is_streamed(tmp_path: Path) -> None:
    """The first document arrives before a bad line further on is ever read."""
    path = tmp_path / "c.jsonl"
    write_documents(_docs(1), path)
    with path.open("a") as f:
        f.write("{broken\n")
    stream = read_documents(path)
    assert next(stream).kind == "story"
    with pytest.raises(RecordError):
        next(stream)


def test_truncated_zst_shard_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.zst"
    write_documents(_docs(200), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"c\.jsonl\.zst: corrupt or truncated zstd data"):
        list(read_documents(path))


def test_failed_writer_keeps_committed_shards_and_drops_the_open_one(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), CorpusWriter(tmp_path / "c", shard_size=2) as writer:
        for doc in _docs(5):
            writer.write(doc)
        raise RuntimeError("stage crashed")
    assert len(list(read_documents(tmp_path / "c"))) == 4
    assert sorted(os.listdir(tmp_path / "c")) == ["part-00000.jsonl.zst", "part-00001.jsonl.zst"]


_WRITER = """
import sys
from toolkit.document import Document
from toolkit.io import CorpusWriter
out, mode = sys.argv[1], sys.argv[2]
with CorpusWriter(out, shard_size=2000) as w:
    i = 0
    while True:
        w.write(Document.create("story", f"document {i} " + "words " * 200))
        i += 1
        if i == 3000:
            print("ready", flush=True)
"""


@pytest.mark.parametrize("target", ["shards", "single.jsonl.zst"])
def test_killed_writer_leaves_no_partial_shard(tmp_path: Path, target: str) -> None:
    out = tmp_path / target
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(out), target],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    if target == "shards":
        shards = corpus_files(out)
        assert shards, "the first full shard was committed before the kill"
        for shard in shards:
            assert sum(1 for _ in read_documents(shard)) == 2000
        assert any(name.endswith(".tmp") for name in os.listdir(out))
    else:
        assert not out.exists()


def test_cli_stats_json_and_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = [*_docs(4), _docs(1)[0]]
    write_documents(docs, tmp_path / "c.jsonl")
    result = run_cli(capsys, "corpus", "stats", str(tmp_path / "c.jsonl"), "--json", "-q")
    assert result.code == 0
    figures = json.loads(result.out)
    assert figures["documents"] == 5 and figures["by_kind"] == {"story": 5}
    assert figures["duplicate_ids"] == 1
    result = run_cli(capsys, "corpus", "validate", str(tmp_path / "c.jsonl"), "-q")
    assert result.code == 1
    assert (
        result.err.strip().splitlines()[-1] == f"error: {tmp_path / 'c.jsonl'}: 1 duplicate id(s)"
    )


def test_cli_bad_line_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "kind": "story", "text": "ok"}\nnot json\n')
    result = run_cli(capsys, "corpus", "stats", str(path), "-q")
    assert result.code == 2
    assert result.err.strip() == f"error: {path}:2: not valid JSON: Expecting value (column 1)"
    assert "Traceback" not in result.err
    skipped = run_cli(capsys, "corpus", "stats", str(path), "--skip-bad", "--json", "-q")
    assert skipped.code == 0
    assert json.loads(skipped.out)["skipped_lines"] == {
        "skipped": 1,
        "where": [f"{path}:2: not valid JSON: Expecting value (column 1)"],
    }


def test_cli_convert_reshards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_documents(_docs(5), tmp_path / "c.jsonl")
    result = run_cli(
        capsys,
        "corpus",
        "convert",
        str(tmp_path / "c.jsonl"),
        "--out",
        str(tmp_path / "d"),
        "--shard-size",
        "2",
        "--no-zst",
        "--json",
        "-q",
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["documents"] == 5
    assert [p.name for p in corpus_files(tmp_path / "d")] == [
        "part-00000.jsonl",
        "part-00001.jsonl",
        "part-00002.jsonl",
    ]
    assert list(read_documents(tmp_path / "d")) == list(read_documents(tmp_path / "c.jsonl"))


def test_a_50_mb_document_is_refused_in_one_line_naming_size_limit_and_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.jsonl"
    ok = json.dumps(Document.create("story", "A story of ordinary size.").to_dict())
    huge = b'{"id": "x", "kind": "story", "text": "' + b"w" * 50_000_000 + b'"}'
    path.write_bytes(ok.encode() + b"\n" + huge + b"\n")
    size = len(huge)
    del huge
    tracemalloc.start()
    try:
        assert len(list(read_documents(path, skip_bad=True))) == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < (9 << 20)  # at most the 8 MiB limit is held, never the 48 MiB line
    result = run_cli(capsys, "corpus", "stats", str(path), "-q")
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: {path}:2: document of {size} bytes (47.7 MiB) is over the limit of 8388608 "
        "bytes (8.0 MiB) per line; set CCORPUS_MAX_DOC_BYTES to raise it"
    ]


@pytest.mark.parametrize("name", ["c.jsonl", "c.jsonl.zst"])
def test_the_limit_is_set_once_by_environment_and_counts_lines_right(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large, after = (Document.create("story", "x" * n) for n in (100, 3000, 200))
    write_documents([small, large, after], tmp_path / name)
    monkeypatch.setenv("CCORPUS_MAX_DOC_BYTES", "2KiB")
    with pytest.raises(RecordError, match=rf"{name}:2: document of \d+ bytes .* limit of 2048"):
        list(read_documents(tmp_path / name))
    report = SkipReport()
    assert list(read_documents(tmp_path / name, skip_bad=True, report=report)) == [small, after]
    assert report.count == 1 and f"{name}:2:" in report.examples[0]
    line = len(json.dumps(large.to_dict(), ensure_ascii=False, separators=(",", ":")))
    monkeypatch.setenv("CCORPUS_MAX_DOC_BYTES", str(line))  # exactly at the limit: read
    assert list(read_documents(tmp_path / name)) == [small, large, after]
    monkeypatch.setenv("CCORPUS_MAX_DOC_BYTES", "lots")
    with pytest.raises(ConfigError, match="CCORPUS_MAX_DOC_BYTES: expected a positive number"):
        read_documents(tmp_path / name)


def test_stale_temp_files_of_dead_writers_go_and_a_live_writers_stay(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        try:
            (tmp_path / "kept").mkdir()
            stale = tmp_path / "kept" / f".part-00000.jsonl.zst.{dead_pid}.tmp"
            busy = tmp_path / f".report.json.{live.pid}.tmp"
            other = tmp_path / ".notes.tmp"
            for path in (stale, busy, other):
                path.write_bytes(b"partial")
            assert remove_stale_temps(tmp_path) == [stale]
            assert not stale.exists() and busy.exists() and other.exists()
        finally:
            live.kill()
    live.wait()
    assert remove_stale_temps(tmp_path) == [busy]


def _run(out: Path, docs: list[Document], *, finish: bool = True) -> None:
    """A stage run as a stage writes: marker begun, kept/, the report, marker complete."""
    marker = StageMarker(out, "dedup", [out / "kept", out / "report.json"])
    marker.begin()
    write_documents(docs, out / "kept", shard_size=2, overwrite=True)
    if finish:
        (out / "report.json").write_text(json.dumps({"kept": len(docs)}))
        marker.complete()


def test_outputs_are_read_only_beside_a_marker_of_a_finished_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out, _docs(3))
    assert len(list(read_documents(out / "kept"))) == 3
    shard = corpus_files(out / "kept")[0]
    assert len(list(read_documents(shard))) == 2  # one shard of an output is checked too
    assert output_problem(out / "report.json") is None
    # A second run killed after writing kept/, before its report: the old report
    # is gone and the new kept/ is refused, so nothing disagrees with anything.
    _run(out, _docs(1), finish=False)
    assert not (out / "report.json").exists()
    for path in (out / "kept", shard, out):
        with pytest.raises(InputError) as err:
            read_documents(path)
        assert str(err.value) == (
            f"{path}: incomplete output: the dedup run writing it did not finish "
            f"(see {out.absolute() / 'stage.json'}); rerun dedup with --overwrite to replace it"
        )
    # Files changed after a finished run are refused; files it does not list are not checked.
    _run(out, _docs(2))
    write_documents(_docs(5), out / "kept" / "extra.jsonl")
    with pytest.raises(InputError, match=r"kept/extra\.jsonl was not written by it"):
        read_documents(out / "kept")
    write_documents(_docs(1), out / "cache.jsonl")
    assert len(list(read_documents(out / "cache.jsonl"))) == 1


def test_a_corpus_without_a_marker_is_read_as_it_is(tmp_path: Path) -> None:
    write_documents(_docs(2), tmp_path / "plain")
    assert output_problem(tmp_path / "plain") is None
    assert len(list(read_documents(tmp_path / "plain"))) == 2


def test_cli_convert_refuses_an_empty_input_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    out = tmp_path / "out"
    result = run_cli(capsys, "corpus", "convert", str(empty), "--out", str(out), "-q")
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: {empty}: no documents; pass --allow-empty to write empty outputs"
    ]
    assert not out.exists()
    result = run_cli(
        capsys, "corpus", "convert", str(empty), "--out", str(out), "--allow-empty", "-q"
    )
    assert result.code == 0, result.err
    assert corpus_files(out) and list(read_documents(out)) == []

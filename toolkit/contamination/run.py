"""`run_check`: the whole of `ccorpus contamination check` as one library call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.contamination.check import CheckOptions, check_contamination
from toolkit.contamination.decontaminate import decontaminate
from toolkit.contamination.evals import EvalSpec, load_evals
from toolkit.contamination.judge import JudgeSetup
from toolkit.contamination.report import REPORT_FILES, build_report, write_reports
from toolkit.errors import InputError
from toolkit.executor import Executor
from toolkit.io.corpus import require_documents
from toolkit.io.marker import StageMarker
from toolkit.io.outputs import refuse_existing

__all__ = ["run_check"]


def run_check(
    corpus: str | Path,
    evals: Sequence[str | EvalSpec],
    *,
    plans: Sequence[str | Path] = (),
    options: CheckOptions | None = None,
    report_dir: str | Path | None = None,
    decontaminate_to: str | Path | None = None,
    cut_spans: bool = False,
    judge: JudgeSetup | None = None,
    allow_empty: bool = False,
    overwrite: bool = False,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Check, write the reports, optionally decontaminate; return the report.

    The gate verdict is `report["summary"]["gate"]["passed"]`, about the
    corpus as given (decontaminating does not change it); pass the report to
    `gate_or_raise` to fail. Reports and the split corpus are written before
    any verdict, so a failed gate still leaves them to inspect.

    Each folder written (the report's, the decontaminated corpus's) gets a
    `StageMarker` once the check is done: begun, the split corpus, the
    reports, then complete, so a killed run leaves no report beside outputs
    it does not describe. Earlier reports or split corpora are refused
    unless `overwrite` (a judge's cost ledger is added to); an empty corpus,
    unless `allow_empty`. `executor` runs the corpus's n-gram scan (see
    `check_contamination`): the report is the same bytes whichever ran it.
    """
    opts = options or CheckOptions()
    opts.validate()
    if decontaminate_to is not None and Path(decontaminate_to).resolve() == Path(corpus).resolve():
        raise InputError(
            f"{decontaminate_to}: the decontaminated output must differ from the corpus"
        )
    outputs = [p for _, paths in _outputs(report_dir, decontaminate_to).values() for p in paths]
    refuse_existing(outputs, overwrite=overwrite)
    require_documents(corpus, allow_empty=allow_empty)
    items = load_evals(evals)
    result = check_contamination(
        corpus, items, plans=plans, options=opts, judge=judge, executor=executor
    )
    report = build_report(result)
    markers = _markers(report_dir, decontaminate_to)
    for marker in markers:
        marker.begin()
    if decontaminate_to is not None:
        report["decontamination"] = decontaminate(
            corpus, report, decontaminate_to, cut_spans=cut_spans, quiet=opts.quiet
        )
    if report_dir is not None:
        report["summary"]["files"] = [str(p) for p in write_reports(report, report_dir)]
    for marker in markers:
        marker.complete()
    return report


def _outputs(
    report_dir: str | Path | None, split_dir: str | Path | None
) -> dict[Path, tuple[Path, list[Path]]]:
    """The folders written (the two may be one), each with the outputs it holds."""
    folders: dict[Path, tuple[Path, list[Path]]] = {}
    if split_dir is not None:
        folder = Path(split_dir)
        entry = folders.setdefault(folder.resolve(), (folder, []))
        entry[1].extend([folder / "kept", folder / "rejected"])
    if report_dir is not None:
        folder = Path(report_dir)
        entry = folders.setdefault(folder.resolve(), (folder, []))
        entry[1].extend(folder / name for name in REPORT_FILES)
    return folders


def _markers(report_dir: str | Path | None, split_dir: str | Path | None) -> list[StageMarker]:
    """One marker per folder written (the two may be one), all naming the same run."""
    folders = _outputs(report_dir, split_dir)
    markers = [StageMarker(folder, "contamination", paths) for folder, paths in folders.values()]
    for marker in markers[1:]:
        marker.run = markers[0].run
    return markers

"""`run_check`: the whole of `ccorpus contamination check` as one library call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.contamination.check import CheckOptions, check_contamination
from toolkit.contamination.decontaminate import decontaminate
from toolkit.contamination.evals import EvalSpec, load_evals
from toolkit.contamination.judge import JudgeSetup
from toolkit.contamination.report import build_report, write_reports
from toolkit.errors import InputError

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
) -> dict[str, Any]:
    """Check, write the reports, optionally decontaminate; return the report.

    The gate verdict is `report["summary"]["gate"]["passed"]`, about the
    corpus as given (decontaminating does not change it); pass the report to
    `gate_or_raise` to fail. Reports and the split corpus are written before
    any verdict, so a failed gate still leaves them to inspect.
    """
    opts = options or CheckOptions()
    opts.validate()
    if decontaminate_to is not None and Path(decontaminate_to).resolve() == Path(corpus).resolve():
        raise InputError(
            f"{decontaminate_to}: the decontaminated output must differ from the corpus"
        )
    items = load_evals(evals)
    result = check_contamination(corpus, items, plans=plans, options=opts, judge=judge)
    report = build_report(result)
    if decontaminate_to is not None:
        report["decontamination"] = decontaminate(
            corpus, report, decontaminate_to, cut_spans=cut_spans, quiet=opts.quiet
        )
    if report_dir is not None:
        report["summary"]["files"] = [str(p) for p in write_reports(report, report_dir)]
    return report

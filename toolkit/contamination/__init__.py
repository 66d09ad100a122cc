"""Contamination check: are eval items in the corpus (or the generation plans)?

Eval items are split into match units (stem, choices, answer, whole). Two
stages: token n-gram overlap (verbatim up to case and punctuation) and
embedding retrieval with an offline verifier (paraphrase), a distance profile
of each eval set, a JSON/Markdown/HTML report, a gate, and an optional
decontaminated copy.
"""

from toolkit.contamination.check import CheckOptions, CheckResult, check_contamination
from toolkit.contamination.decontaminate import cut, decontaminate
from toolkit.contamination.evals import (
    EvalItem,
    EvalSpec,
    load_eval,
    load_evals,
    parse_eval_spec,
)
from toolkit.contamination.hits import Hit
from toolkit.contamination.html_report import render_html
from toolkit.contamination.judge import JudgeSetup, judge_hits
from toolkit.contamination.ngram import NgramHit, NgramIndex
from toolkit.contamination.report import (
    build_report,
    gate_or_raise,
    render_markdown,
    write_reports,
)
from toolkit.contamination.run import run_check
from toolkit.contamination.semantic import SemanticCheck
from toolkit.contamination.units import Unit, item_units, parse_structure
from toolkit.contamination.verifier import Verifier, load_verifier

__all__ = [
    "CheckOptions",
    "CheckResult",
    "EvalItem",
    "EvalSpec",
    "Hit",
    "JudgeSetup",
    "NgramHit",
    "NgramIndex",
    "SemanticCheck",
    "Unit",
    "Verifier",
    "build_report",
    "check_contamination",
    "cut",
    "decontaminate",
    "gate_or_raise",
    "item_units",
    "judge_hits",
    "load_eval",
    "load_evals",
    "load_verifier",
    "parse_eval_spec",
    "parse_structure",
    "render_html",
    "render_markdown",
    "run_check",
    "write_reports",
]

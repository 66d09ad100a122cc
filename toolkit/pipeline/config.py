"""The corpus config: one TOML file naming every input and setting of a build.

Paths are relative to the config file's folder. Every table and key is
optional except `out` and `constitution`; what is left out takes the same
default as the stage's own command. Unknown keys are refused by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from toolkit.contamination.check import RETRIEVALS, CheckOptions
from toolkit.contamination.judge import JUDGE_BACKENDS, refuse_judge
from toolkit.contamination.units import UNIT_POLICIES
from toolkit.contamination.verifier import VERIFIERS
from toolkit.dedup.config import INDEX_KINDS, STAGES, DedupConfig
from toolkit.document import KINDS
from toolkit.errors import ConfigError
from toolkit.executor import EXECUTORS
from toolkit.generate.backends.base import MAX_CONCURRENCY
from toolkit.tables import TableReader, read_toml, resolve_path

if TYPE_CHECKING:  # importing toolkit.quality loads spaCy: only a [judge] table pays for it
    from toolkit.quality.judge_config import JudgeSettings

__all__ = [
    "PLAN_KINDS",
    "BuildConfig",
    "EvalSet",
    "PlanConfig",
    "PlanScreening",
    "load_build_config",
]

#: Plan kinds, in build order, and the document kind each one writes.
PLAN_KINDS = {"explainers": "explainer", "stories": "story", "advice": "advice"}
BACKENDS = ("auto", "offline", "anthropic")

_TOP = {
    "out": "a folder for every output of the build",
    "constitution": "a Markdown constitution",
    "attributes": "a folder of plan attribute lists (tools.json beside it)",
    "generate": "a table: backend, model, batch, concurrency, timeout and one table per plan kind",
    "plans": "a table: max_eval_similarity, premise_margin, on_eval_match, eval_adjacent",
    "quality": "a table: profile, embed, spacy_model, batch_size",
    "dedup": "a table of dedup settings",
    "judge": "a table: backend, model, batch, kinds, sample, thresholds, revise_rounds, budget_usd",
    "contamination": "a table: evals and check settings",
    "review": "a table: kinds, required, sample, stratify, seed",
    "mix": "a table: specs",
    "build": "a table: executor, ray_address",
}
_BUILD = {
    "executor": f"one of {', '.join(EXECUTORS)} (where quality scoring, dedup's scan and "
    "contamination's n-gram scan run)",
    "ray_address": "the address of a running Ray cluster (default: start a local one)",
}
_GENERATE = {
    "backend": f"one of {', '.join(BACKENDS)}",
    "model": "a model id",
    "batch": "true or false (Message Batches API)",
    "concurrency": f"an integer from 1 to {MAX_CONCURRENCY}",
    "timeout": "a number of seconds above 0 (connect and read limit of a live call)",
    **{kind: "a table: n or per_principle, seed (advice: deployment_share)" for kind in PLAN_KINDS},
}
_PLAN = {
    "n": "a positive integer",
    "per_principle": "a positive integer",
    "seed": "an integer",
    "deployment_share": "a share from 0 to 1 (advice: documents with a rendered deployment)",
}
_PLANS = {
    "max_eval_similarity": "a cosine above 0, at most 1 (flag an item nearer an eval item)",
    "premise_margin": "a number from 0 to 1 (flag a story this much nearer an eval premise)",
    "on_eval_match": "flag, redraw or drop (what to do with a flagged item)",
    "eval_adjacent": "true or false (include eval-adjacent dilemmas: an ablation)",
}
_QUALITY = {
    "profile": "a TOML quality profile path (default: the shipped default.v2)",
    "embed": "true or false (embedding grounding of explainers)",
    "spacy_model": "the name of an installed spaCy pipeline",
    "batch_size": "a positive integer (documents a scoring batch: a task on Ray, and what a "
    "killed build resumes by)",
}
# Ranges are the library's own (`DedupConfig`, `CheckOptions`), checked by them.
_DEDUP = {
    "stages": f"a list drawn from {', '.join(STAGES)}",
    "near_threshold": "a number (a Jaccard similarity)",
    "semantic_threshold": "a number (a cosine)",
    "num_perm": "an integer",
    "ngram": "an integer",
    "semantic_index": f"one of {', '.join(INDEX_KINDS)}",
    "memory_mb": "an integer (MiB of working memory dedup stays within)",
}
_CHECK_KEYS = (
    "ngram",
    "semantic",
    "semantic_threshold",
    "gate_ngram",
    "gate_cosine",
    "retrieval",
    "units",
    "verifier",
    "verify_k",
    "gate_short",
)
_CONTAMINATION = {
    "evals": "a list of tables {path, fields}",
    "ngram": "an integer (tokens)",
    "semantic": "true or false",
    "semantic_threshold": "a number (a cosine)",
    "gate_ngram": "a number (a share of a stem's or item's tokens in matched n-grams)",
    "gate_cosine": "a number (a cosine)",
    "retrieval": f"one of {', '.join(RETRIEVALS)} (who picks each eval item's nearest documents)",
    "units": f"one of {', '.join(UNIT_POLICIES)} (which parts of an eval item are matched)",
    "verifier": f"one of {', '.join(VERIFIERS)} (who decides semantic candidates offline)",
    "verify_k": "a positive integer (candidate windows verified per eval item)",
    "gate_short": "true or false (hits of items under 5 tokens fail the gate too)",
    "plans": "true or false (check the generation plans too)",
    "decontaminate": "true (drop gated documents and go on) or false (a gated item fails)",
    "judge": f"{', '.join(JUDGE_BACKENDS)} "
    "(an LLM judges the strongest semantic hits; its verdict gates them)",
    "judge_model": "a model name",
    "judge_top": "a positive integer (semantic hits to judge)",
}
_EVAL = {
    "path": "an eval set file or folder",
    "fields": "a list of text field names (ROLE=FIELD with ROLE stem, choice or answer)",
}
_REVIEW = {
    "kinds": f"a list drawn from {', '.join(KINDS)}",
    "required": "true or false (reviewed kinds enter a mix only when accepted)",
    "sample": "a positive integer (a stratified sample to review)",
    "stratify": "a list of strata (principle, genre, template, ...)",
    "seed": "an integer",
}
_MIX = {"specs": "a list of mix spec paths"}


@dataclass(frozen=True)
class PlanConfig:
    """One generation plan: its kind and size."""

    kind: str
    n: int | None
    per_principle: int | None
    seed: int
    deployment_share: float | None = None  # advice only; None: the planner's default

    def settings(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            "per_principle": self.per_principle,
            "seed": self.seed,
            "deployment_share": self.deployment_share,
        }


@dataclass(frozen=True)
class PlanScreening:
    """`[plans]`: how every plan is screened against the build's eval sets."""

    max_eval_similarity: float = 0.55
    premise_margin: float = 0.1
    on_eval_match: str = "redraw"
    eval_adjacent: bool = False

    def settings(self) -> dict[str, Any]:
        return {
            "max_eval_similarity": self.max_eval_similarity,
            "premise_margin": self.premise_margin,
            "on_eval_match": self.on_eval_match,
            "eval_adjacent": self.eval_adjacent,
        }


@dataclass(frozen=True)
class EvalSet:
    """An eval set to check against; `spec` is the `PATH[:FIELD,...]` the check takes."""

    path: Path
    fields: tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.path}:{','.join(self.fields)}" if self.fields else str(self.path)


@dataclass(frozen=True)
class BuildConfig:
    """A parsed, validated corpus config."""

    file: Path
    out: Path
    constitution: Path
    attributes: Path | None
    backend: str = "auto"
    model: str | None = None
    batch: bool = False
    concurrency: int = 4
    timeout: float | None = None  # None: the read limit follows each request's max_tokens
    plans: tuple[PlanConfig, ...] = ()
    screening: PlanScreening = field(default_factory=PlanScreening)
    quality_profile: Path | None = None
    quality_embed: bool = True
    spacy_model: str | None = None
    quality_batch_size: int = 256
    judging: JudgeSettings | None = None  # the judge stage's [judge] table; None: no stage
    dedup: DedupConfig = field(default_factory=DedupConfig)
    evals: tuple[EvalSet, ...] = ()
    contamination: CheckOptions = field(default_factory=CheckOptions)
    judge: dict[str, Any] = field(default_factory=dict)  # backend, model, top; empty: none
    check_plans: bool = True
    decontaminate: bool = True
    review_kinds: tuple[str, ...] = ("story",)
    review_required: bool = True
    review_sample: int | None = None
    review_stratify: tuple[str, ...] = ("principle", "genre")
    review_seed: int = 0
    mix_specs: tuple[Path, ...] = ()
    executor: str = "local"
    ray_address: str | None = None


def _existing(reader: TableReader, key: str) -> Path | None:
    value = reader.string(key)
    if value is None:
        return None
    path = resolve_path(reader.file, value)
    if not path.exists():
        reader.fail(key, f"{path} does not exist")
    return path


def _plans(reader: TableReader) -> tuple[PlanConfig, ...]:
    plans = []
    for kind in PLAN_KINDS:
        if kind not in reader.table:
            continue
        plan = TableReader(reader.file, reader.table_at(kind), f"generate.{kind}.", _PLAN)
        n, per = plan.integer("n", None, 1), plan.integer("per_principle", None, 1)
        if n is not None and per is not None:
            plan.fail("per_principle", "give n or per_principle, not both")
        share = None
        if "deployment_share" in plan.table:
            if kind != "advice":
                plan.fail("deployment_share", "applies to advice plans only")
            share = plan.number("deployment_share", 1.0, 0.0, 1.0, closed=True)
        plans.append(PlanConfig(kind, n, per, plan.integer("seed", 0) or 0, share))
    return tuple(plans)


def _screening(top: TableReader) -> PlanScreening:
    reader = TableReader(top.file, top.table_at("plans"), "plans.", _PLANS)
    defaults = PlanScreening()
    action = reader.string("on_eval_match", defaults.on_eval_match)
    if action not in ("flag", "redraw", "drop"):
        reader.expect("on_eval_match", action)
    assert action is not None
    return PlanScreening(
        max_eval_similarity=reader.number(
            "max_eval_similarity", defaults.max_eval_similarity, 1e-9, 1.0, closed=True
        ),
        premise_margin=reader.number("premise_margin", defaults.premise_margin, 0.0, 1.0, True),
        on_eval_match=action,
        eval_adjacent=reader.boolean("eval_adjacent", False),
    )


def _evals(reader: TableReader) -> tuple[EvalSet, ...]:
    value = reader.table.get("evals", [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        reader.expect("evals", value)
    sets = []
    for index, table in enumerate(value):
        item = TableReader(reader.file, table, f"contamination.evals[{index}].", _EVAL)
        if "path" not in table:
            item.fail("path", f"missing; expected {_EVAL['path']}")
        path = _existing(item, "path")
        assert path is not None
        sets.append(EvalSet(path, item.strings("fields")))
    return tuple(sets)


_Options = TypeVar("_Options")


def _library_options(reader: TableReader, make: Callable[..., _Options], **values: Any) -> _Options:
    """The library's own options object; its range errors name the config file and table."""
    try:
        return make(**values)
    except ConfigError as err:
        problem = str(err).removeprefix("--")
        key, sep, rest = problem.partition(":")
        if sep and " " not in key:  # "near_threshold: expected ..." names its key
            problem = f"{key.replace('-', '_')}:{rest}"
        raise ConfigError(f"{reader.file}: {reader.prefix}{problem}") from None


def _typed(reader: TableReader, key: str, default: Any) -> Any:
    """A key's value, of the type of the library's default (ranges are the library's)."""
    if isinstance(default, bool):
        return reader.boolean(key, default)
    if isinstance(default, int):
        return reader.integer(key, default)
    if isinstance(default, float):
        return reader.number(key, default, -math.inf, math.inf, closed=True)
    return reader.string(key, default)


def _dedup(reader: TableReader) -> DedupConfig:
    defaults = DedupConfig()
    values = {
        key: _typed(reader, key, getattr(defaults, key))
        for key in _DEDUP
        if key in reader.table and key != "stages"
    }
    if "stages" in reader.table:
        values["stages"] = reader.strings("stages", STAGES)
    return _library_options(reader, DedupConfig, **values)


def _contamination(reader: TableReader) -> CheckOptions:
    defaults = CheckOptions()
    values = {
        key: _typed(reader, key, getattr(defaults, key))
        for key in _CHECK_KEYS
        if key in reader.table
    }
    options = CheckOptions(**values)
    _library_options(reader, options.validate)
    return options


def _judge(reader: TableReader, settings: CheckOptions) -> dict[str, Any]:
    backend = reader.string("judge")
    if backend is None:
        for key in ("judge_model", "judge_top"):
            if key in reader.table:
                reader.fail(key, 'needs judge = "anthropic"')
        return {}
    _library_options(reader, refuse_judge, backend=backend, semantic=settings.semantic)
    judge: dict[str, Any] = {"backend": backend, "model": reader.string("judge_model")}
    judge["top"] = reader.integer("judge_top", None, 1)  # None: the check's default
    return judge


def _judging(top: TableReader) -> JudgeSettings | None:
    """The judge stage's settings when the config has a `[judge]` table."""
    if "judge" not in top.table:
        return None
    from toolkit.quality.judge_config import parse_judge_table

    return parse_judge_table(top.file, top.table_at("judge"))


def parse_build_config(data: dict[str, Any], file: Path) -> BuildConfig:
    """Validate a decoded corpus config; `file` names it in errors and anchors paths."""
    top = TableReader(file, data, "", _TOP)
    for key in ("out", "constitution"):
        if key not in data:
            top.fail(key, f"missing; expected {_TOP[key]}")
    out = top.string("out")
    assert out is not None
    constitution = _existing(top, "constitution")
    assert constitution is not None
    generate = TableReader(file, top.table_at("generate"), "generate.", _GENERATE)
    backend = generate.string("backend", "auto")
    if backend not in BACKENDS:
        generate.expect("backend", backend)
    quality = TableReader(file, top.table_at("quality"), "quality.", _QUALITY)
    dedup = TableReader(file, top.table_at("dedup"), "dedup.", _DEDUP)
    contamination = TableReader(
        file, top.table_at("contamination"), "contamination.", _CONTAMINATION
    )
    review = TableReader(file, top.table_at("review"), "review.", _REVIEW)
    build = TableReader(file, top.table_at("build"), "build.", _BUILD)
    executor = build.string("executor", "local")
    if executor not in EXECUTORS:
        build.expect("executor", executor)
    ray_address = build.string("ray_address")
    if ray_address is not None and executor != "ray":
        build.fail("ray_address", 'needs executor = "ray"')
    mix = TableReader(file, top.table_at("mix"), "mix.", _MIX)
    specs = []
    for index, spec in enumerate(mix.strings("specs")):
        path = resolve_path(file, spec)
        if not path.is_file():
            mix.fail("specs", f"[{index}] {path} does not exist")
        specs.append(path)
    if len({p.resolve() for p in specs}) != len(specs):
        mix.fail("specs", "a spec is listed twice")
    assert backend is not None
    concurrency = generate.integer("concurrency", 4, 1) or 4
    if concurrency > MAX_CONCURRENCY:
        generate.expect("concurrency", concurrency)
    timeout = None
    if "timeout" in generate.table:
        timeout = generate.number("timeout", 0.0, 1e-3, float("inf"), closed=True)
    return BuildConfig(
        file=file,
        out=resolve_path(file, out),
        constitution=constitution,
        attributes=_existing(top, "attributes"),
        backend=backend,
        model=generate.string("model"),
        batch=generate.boolean("batch", False),
        concurrency=concurrency,
        timeout=timeout,
        plans=_plans(generate),
        screening=_screening(top),
        quality_profile=_existing(quality, "profile"),
        quality_embed=quality.boolean("embed", True),
        spacy_model=quality.string("spacy_model"),
        quality_batch_size=quality.integer("batch_size", 256, 1) or 256,
        judging=_judging(top),
        dedup=_dedup(dedup),
        evals=_evals(contamination),
        contamination=(checks := _contamination(contamination)),
        judge=_judge(contamination, checks),
        check_plans=contamination.boolean("plans", True),
        decontaminate=contamination.boolean("decontaminate", True),
        review_kinds=review.strings("kinds", KINDS, default=("story",)),
        review_required=review.boolean("required", True),
        review_sample=review.integer("sample", None, 1),
        review_stratify=review.strings("stratify", default=("principle", "genre")),
        review_seed=review.integer("seed", 0) or 0,
        mix_specs=tuple(specs),
        executor=executor or "local",
        ray_address=ray_address,
    )


def load_build_config(path: str | Path) -> BuildConfig:
    """Read and validate a corpus config file."""
    return parse_build_config(read_toml(path), Path(path))

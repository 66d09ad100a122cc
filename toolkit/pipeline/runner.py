"""`run_build`: the whole pipeline from one config, incremental and resumable.

plan -> generate -> quality -> dedup -> contamination -> review -> mix, then
the report. Each stage runs only when its key (see `toolkit.pipeline.state`)
changed or its outputs are gone; a stage that fails leaves every earlier one
recorded, and the rerun starts where it failed. The review gate stops the
build before the mix while reviewed kinds still await curators.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from toolkit.errors import CheckFailed, ConfigError
from toolkit.io.atomic import remove_stale_temps
from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig, load_build_config
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.report import write_build_report
from toolkit.pipeline.state import BuildState, file_digest, key_of, tree_digest

__all__ = ["STAGES", "BuildOptions", "run_build"]

#: Stage families in build order; `--until` and `--force` take these names.
STAGES = ("principles", "plan", "generate", "quality", "dedup", "contamination", "review", "mix")


@dataclass(frozen=True)
class BuildOptions:
    """How to run a build: where to stop, what to redo, whether the review gate binds."""

    until: str | None = None
    force: tuple[str, ...] = ()
    allow_unreviewed: bool = False
    quiet: bool = False

    def validate(self) -> None:
        for name in (self.until, *self.force):
            if name is not None and name not in (*STAGES, "report"):
                raise ConfigError(f"no build stage {name!r}; expected one of {', '.join(STAGES)}")


class _Until(Exception):
    """Raised to stop after the `--until` stage."""


class _Build:
    def __init__(self, config: BuildConfig, options: BuildOptions) -> None:
        self.config, self.options = config, options
        self.layout = BuildLayout(config.out)
        self.state = BuildState(self.layout.state)
        self.stages: dict[str, dict[str, Any]] = {}
        self.gate: dict[str, Any] = {}

    def say(self, text: str) -> None:
        if not self.options.quiet:
            sys.stderr.write(f"build: {text}\n")

    def step(
        self,
        name: str,
        family: str,
        key: str,
        outputs: Sequence[Path],
        work: Callable[[], dict[str, Any]],
        *,
        digest_of: Sequence[Path] = (),
        clear: Sequence[Path] = (),
        rekey: Callable[[], str] | None = None,
    ) -> str:
        """Run one stage unless fresh; return its output digest."""
        if self.options.until and STAGES.index(family) > STAGES.index(self.options.until):
            raise _Until
        forced = family in self.options.force or name in self.options.force
        if not forced and self.state.fresh(name, key, outputs):
            self.stages[name] = {"status": "up to date", "figures": self.state.figures(name)}
            self.say(f"{name}: up to date")
            return self.state.digest(name)
        self.state.forget(name)
        steps.clear(*clear)
        self.say(f"{name}: running")
        start = time.perf_counter()
        try:
            figures = work()
        except CheckFailed:
            seconds = round(time.perf_counter() - start, 2)
            self.stages[name] = {"status": "stopped", "seconds": seconds, "figures": {}}
            raise
        seconds = round(time.perf_counter() - start, 2)
        digest = tree_digest(digest_of or outputs, root=self.layout.root)
        self.state.record(name, rekey() if rekey else key, digest, figures)
        self.stages[name] = {"status": "ran", "seconds": seconds, "figures": figures}
        self.say(f"{name}: done in {seconds:.1f} s")
        return digest

    def run(self) -> dict[str, Any]:
        config, layout, quiet = self.config, self.layout, self.options.quiet
        remove_stale_temps(layout.root, recursive=False)  # build.json's, of a killed build
        constitution = file_digest(config.constitution)
        self.step(
            "principles",
            "principles",
            key_of("principles", constitution),
            [layout.principles],
            lambda: steps.principles(config, layout),
            clear=[layout.principles],
        )
        attributes = steps.attributes_digest(self.config)
        generated = []
        backend, model = self._backend()
        for plan in config.plans:
            kind = plan.kind
            plan_digest = self.step(
                f"plan:{kind}",
                "plan",
                key_of("plan", constitution, attributes, plan.settings()),
                [layout.plan(kind)],
                partial(steps.plan, config, layout, kind, quiet),
            )
            generated.append(
                self.step(
                    f"generate:{kind}",
                    "generate",
                    key_of("generate", plan_digest, backend, model, config.batch),
                    [layout.generated_documents(kind)],
                    partial(steps.generate, config, layout, kind, backend, model, quiet),
                )
            )
        profile = steps.profile_digest(config)
        quality = self.step(
            "quality",
            "quality",
            key_of(
                "quality",
                generated,
                constitution,
                profile,
                config.quality_embed,
                config.spacy_model,
            ),
            [layout.quality / "kept", layout.quality / "summary.json"],
            lambda: steps.quality(config, layout, quiet),
            digest_of=[layout.quality / "kept"],
            clear=[layout.generated, layout.quality],
        )
        corpus = layout.dedup / "kept"
        digest = self.step(
            "dedup",
            "dedup",
            key_of("dedup", quality, config.dedup),
            [corpus, layout.dedup / "dedup_report.json"],
            lambda: steps.dedup(config, layout, quiet),
            digest_of=[corpus],
            clear=[layout.dedup],
        )
        if config.evals:
            evals = [(e.spec, tree_digest([e.path])) for e in config.evals]
            plans = [self.state.digest(f"plan:{p.kind}") for p in config.plans]
            kept = layout.contamination / "kept"
            digest = self.step(
                "contamination",
                "contamination",
                key_of(
                    "contamination",
                    digest,
                    evals,
                    config.contamination,
                    config.judge,
                    plans if config.check_plans else [],
                    config.decontaminate,
                ),
                [layout.contamination / "contamination.json"],
                lambda: steps.contamination(config, layout, quiet),
                digest_of=[kept if config.decontaminate else corpus],
                clear=[layout.contamination],
            )
            corpus = kept if config.decontaminate else corpus
        review = "none"
        if config.review_kinds:
            settings = (
                config.review_kinds,
                config.review_sample,
                config.review_stratify,
                config.review_seed,
            )
            db = layout.review_db
            review = self.step(
                "review",
                "review",
                key_of("review", digest, settings, steps.review_digest(db)),
                [layout.review_queue],
                lambda: steps.review(config, layout, corpus, quiet),
                digest_of=[layout.review_queue],
                rekey=lambda: key_of("review", digest, settings, steps.review_digest(db)),
            )
            self._gate()
        final = self.step(
            "final",
            "mix",
            key_of(
                "final",
                digest,
                review,
                self.options.allow_unreviewed,
                config.review_kinds,
                config.review_required,
            ),
            [layout.final],
            lambda: steps.final(config, layout, corpus, self.options.allow_unreviewed),
            clear=[layout.final],
        )
        principles = self.state.digest("principles")
        for spec in config.mix_specs:
            self._mix(spec, final, principles)
        return self.stages

    def _gate(self) -> None:
        figures = self.state.figures("review")
        waiting = int(figures.get("awaiting", 0))
        self.gate = {
            "required": self.config.review_required,
            "awaiting": waiting,
            "allow_unreviewed": self.options.allow_unreviewed,
        }
        stops_before_mix = self.options.until not in (None, "mix")
        if not self.config.review_required or waiting == 0 or self.options.allow_unreviewed:
            return
        if stops_before_mix:
            return
        kinds = ", ".join(self.config.review_kinds)
        raise CheckFailed(
            f"review gate: {waiting} document(s) of kind {kinds} await review, so the mix "
            f"was not built; review them with `ccorpus review serve --db "
            f"{self.layout.review_db}`, then rerun, or rerun with --allow-unreviewed to let "
            "pending ones into the mix"
        )

    def _mix(self, spec_path: Path, final: str, principles: str) -> None:
        from toolkit.mix import load_spec

        spec = load_spec(spec_path)
        root = self.layout.root.resolve()
        outside = sorted(
            str(s.resolved) for s in spec.sources if not s.resolved.resolve().is_relative_to(root)
        )
        tokenizer = spec.resolve(spec.tokenizer) if spec.tokenizer else None
        key = key_of(
            "mix",
            file_digest(spec_path),
            final,
            principles,
            tree_digest([Path(p) for p in outside]) if outside else "",
            file_digest(tokenizer) if tokenizer else "bundled",
        )
        out = self.layout.mix(spec.name)
        self.step(
            f"mix:{spec.name}",
            "mix",
            key,
            [out / "manifest.json"],
            lambda: steps.mix(self.layout, spec_path, self.options.quiet),
        )

    def report(self) -> dict[str, Any]:
        """Write report.json and report.html unless nothing they show has changed."""
        layout = self.layout
        recorded = {n: e["key"] for n, e in sorted(self.state.stages.items()) if n != "report"}
        key = key_of("report", recorded, self.gate)
        outputs = [layout.report_json, layout.report_html]
        mixes = [n.split(":", 1)[1] for n in recorded if n.startswith("mix:")]
        if "report" not in self.options.force and self.state.fresh("report", key, outputs):
            self.say("report: up to date")
        else:
            self.say("report: writing")
            stages = {n: e.get("figures", {}) for n, e in self.state.stages.items()}
            write_build_report(
                layout, self.config.constitution, stages, self.gate, mixes, self.options.quiet
            )
            self.state.record("report", key, tree_digest(outputs, root=layout.root), {})
        return {
            "config": str(self.config.file),
            "out": str(layout.root),
            "stages": self.stages,
            "gate": self.gate,
            "report": {"json": str(layout.report_json), "html": str(layout.report_html)},
            "mixes": {name: str(layout.mix(name)) for name in mixes},
        }

    def _backend(self) -> tuple[str, str]:
        from toolkit.generate.backends import DEFAULT_MODEL, OFFLINE_MODEL, default_backend

        name = default_backend() if self.config.backend == "auto" else self.config.backend
        if self.config.backend == "auto" and name == "offline" and self.config.plans:
            self.say("ANTHROPIC_API_KEY is not set: generating with the offline backend")
        model = self.config.model or (OFFLINE_MODEL if name == "offline" else DEFAULT_MODEL)
        return name, model


def run_build(config_path: str | Path, options: BuildOptions | None = None) -> dict[str, Any]:
    """Build what `config_path` describes; return what ran, the gate and the outputs.

    Raises `CheckFailed` (exit 1) when the review gate or the contamination
    gate stops the build, after writing the report; its `figures` are what
    a finished build returns, with `stopped` holding its message (None when
    the build was not stopped).
    """
    opts = options or BuildOptions()
    opts.validate()
    build = _Build(load_build_config(config_path), opts)
    stopped: CheckFailed | None = None
    try:
        build.run()
    except _Until:
        pass
    except CheckFailed as err:
        stopped = err
    report = build.report()
    report["stopped"] = None if stopped is None else str(stopped)
    if stopped is not None:
        stopped.figures = report
        raise stopped
    return report

"""`run_build`: the whole pipeline from one config, incremental and resumable.

A loop over a list of stages (`toolkit.pipeline.stages.DEFAULT_STAGES`, or
the caller's), then the report. Before anything runs, the build checks that
every metadata key a stage reads is written by an earlier enabled stage.
Each stage instance runs only when its key (see `Stage.key`) changed or its
outputs are gone; a stage that fails leaves every earlier one recorded, and
the rerun starts where it failed. The review gate stops the build before
the mix while reviewed kinds still await curators.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import CheckFailed
from toolkit.io.atomic import remove_stale_temps
from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig, load_build_config
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.report import write_build_report
from toolkit.pipeline.stages import (
    DEFAULT_STAGES,
    STAGES,
    BuildContext,
    BuildOptions,
    Stage,
    check_metadata_chain,
    families,
)
from toolkit.pipeline.stages.base import until_position
from toolkit.pipeline.state import BuildState, key_of, tree_digest

__all__ = ["DEFAULT_STAGES", "STAGES", "BuildOptions", "run_build"]


class _Until(Exception):
    """Raised to stop after the `--until` stage."""


class _Build:
    def __init__(
        self, config: BuildConfig, options: BuildOptions, order: Sequence[type[Stage]]
    ) -> None:
        layout = BuildLayout(config.out)
        self.order = tuple(order)
        self.ctx = BuildContext(config, layout, BuildState(layout.state), options, self.order)
        self.stages: dict[str, dict[str, Any]] = {}

    def _instances(self) -> list[Stage]:
        config = self.ctx.config
        return [cls(self.ctx, inst) for cls in self.order for inst in cls.instances(config)]

    def run(self) -> dict[str, Any]:
        ctx = self.ctx
        remove_stale_temps(ctx.layout.root, recursive=False)  # build.json's, of a killed build
        planned = self._instances()
        ctx.planned = frozenset(stage.id for stage in planned)
        until = ctx.options.until
        last = until_position(self.order, until) if until else len(self.order)
        for stage in planned:
            if self.order.index(type(stage)) > last:
                raise _Until
            self.step(stage)
            ctx.corpus = stage.corpus() or ctx.corpus
            stage.finish()
        return self.stages

    def step(self, stage: Stage) -> None:
        """Run one stage instance unless it is fresh."""
        ctx, name = self.ctx, stage.id
        force = ctx.options.force
        forced = stage.group() in force or stage.name in force or name in force
        key = stage.key()
        if not forced and ctx.state.fresh(name, key, stage.outputs()):
            self.stages[name] = {"status": "up to date", "figures": ctx.state.figures(name)}
            ctx.say(f"{name}: up to date")
            return
        ctx.state.forget(name)
        steps.clear(*stage.writes())
        ctx.say(f"{name}: running")
        start = time.perf_counter()
        try:
            figures = stage.run()
        except CheckFailed:
            seconds = round(time.perf_counter() - start, 2)
            self.stages[name] = {"status": "stopped", "seconds": seconds, "figures": {}}
            raise
        seconds = round(time.perf_counter() - start, 2)
        digest = tree_digest(stage.digest_of(), root=ctx.layout.root)
        executor = ctx.executor.describe() if stage.uses_executor else None
        final_key = stage.key() if stage.rekey_after_run else key
        ctx.state.record(name, final_key, digest, figures, executor)
        self.stages[name] = {"status": "ran", "seconds": seconds, "figures": figures}
        ctx.say(f"{name}: done in {seconds:.1f} s")

    def report(self) -> dict[str, Any]:
        """Write report.json and report.html unless nothing they show has changed."""
        ctx = self.ctx
        layout, state = ctx.layout, ctx.state
        recorded = {n: e["key"] for n, e in sorted(state.stages.items()) if n != "report"}
        key = key_of("report", recorded, ctx.gate)
        outputs = [layout.report_json, layout.report_html]
        instances: dict[str, list[str]] = defaultdict(list)
        for name in recorded:
            if ":" in name:
                family, instance = name.split(":", 1)
                instances[family].append(instance)
        if "report" not in ctx.options.force and state.fresh("report", key, outputs):
            ctx.say("report: up to date")
        else:
            ctx.say("report: writing")
            stages = {n: e.get("figures", {}) for n, e in state.stages.items()}
            write_build_report(
                layout,
                ctx.config.constitution,
                stages,
                ctx.gate,
                instances,
                ctx.options.quiet,
                order=self.order,
            )
            state.record("report", key, tree_digest(outputs, root=layout.root), {})
        return {
            "config": str(ctx.config.file),
            "out": str(layout.root),
            "stages": self.stages,
            "gate": ctx.gate,
            "report": {"json": str(layout.report_json), "html": str(layout.report_html)},
            "mixes": {name: str(layout.mix(name)) for name in instances.get("mix", [])},
            "executor": self.executor(),
        }

    def executor(self) -> dict[str, Any]:
        """The executor named for this build (name, Ray address), whether or not it ran."""
        name, address = self.ctx.options.executor_for(self.ctx.config)
        return {"name": name} if name == "local" else {"name": name, "address": address or "local"}


def run_build(
    config_path: str | Path,
    options: BuildOptions | None = None,
    *,
    stages: Sequence[type[Stage]] = DEFAULT_STAGES,
) -> dict[str, Any]:
    """Build what `config_path` describes; return what ran, the gate and the outputs.

    `stages` is the list of stages to run, in order (`DEFAULT_STAGES`, or
    that list with stages of your own added). Raises `ConfigError` before
    anything runs when a stage reads a metadata key no earlier enabled stage
    writes. Raises `CheckFailed` (exit 1) when the review gate or the
    contamination gate stops the build, after writing the report; its
    `figures` are what a finished build returns, with `stopped` holding its
    message (None when the build was not stopped).
    """
    opts = options or BuildOptions()
    opts.validate(families(stages))
    config = load_build_config(config_path)
    check_metadata_chain(stages, config)
    build = _Build(config, opts, stages)
    stopped: CheckFailed | None = None
    try:
        build.run()
    except _Until:
        pass
    except CheckFailed as err:
        stopped = err
    finally:
        build.ctx.close()
    report = build.report()
    report["stopped"] = None if stopped is None else str(stopped)
    if stopped is not None:
        stopped.figures = report
        raise stopped
    return report

"""The stage protocol the build loops over, and what a stage sees of the build.

A stage is a subclass of `Stage` in one module of this package, listed once
in `DEFAULT_STAGES` (build order). It declares, as class attributes, its
`name`, the stages whose outputs it `reads` (their recorded digests enter
its key), the `metadata` keys it writes and reads, and its report `section`;
as methods, the files it reads from outside the build (`inputs`), its
`settings`, the `outputs` that make it fresh, the folders it `writes`
(cleared before a rerun) and `run`. A stage may fan out into several
instances (`instances`: one plan per kind, one mix per spec), each recorded
in build.json as `name:instance`.

The runner (`toolkit.pipeline.runner`) turns these into the key (see
`key`), skips a fresh instance, runs the others and records them; nothing
else of a stage's life lives anywhere but its module.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from toolkit.errors import ConfigError
from toolkit.executor import EXECUTORS, Executor, open_executor
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.sections import Section
from toolkit.pipeline.state import BuildState, key_of, tree_digest

__all__ = [
    "BuildContext",
    "BuildOptions",
    "Stage",
    "check_metadata_chain",
    "families",
    "metadata_written_by",
]


def metadata_written_by(stage: str) -> tuple[str, ...]:
    """The metadata keys the contract (`toolkit.metadata.CONTRACT`) says `stage` writes."""
    from toolkit.metadata import WRITES

    return tuple(key for key, writers in WRITES.items() if stage in writers)


@dataclass(frozen=True)
class BuildOptions:
    """How to run a build: where to stop, what to redo, whether the review gate binds."""

    until: str | None = None
    force: tuple[str, ...] = ()
    allow_unreviewed: bool = False
    quiet: bool = False
    executor: str | None = None  # None: the config's [build] executor
    ray_address: str | None = None  # implies executor "ray" unless another is named

    def validate(self, names: Sequence[str]) -> None:
        """`names`: what `--until` and `--force` may name (stage families and names)."""
        for name in (self.until, *self.force):
            if name is not None and name not in (*names, "report"):
                raise ConfigError(f"no build stage {name!r}; expected one of {', '.join(names)}")
        if self.executor is not None and self.executor not in EXECUTORS:
            raise ConfigError(
                f"--executor: expected one of {', '.join(EXECUTORS)}, got {self.executor!r}"
            )
        if self.ray_address is not None and self.executor not in (None, "ray"):
            raise ConfigError("--ray-address: needs --executor ray")

    def executor_for(self, config: BuildConfig) -> tuple[str, str | None]:
        """The executor a build runs its heavy stages on, and the Ray address (None: local)."""
        if self.executor is not None or self.ray_address is not None:
            name = self.executor or "ray"
            return name, self.ray_address or (config.ray_address if name == "ray" else None)
        return config.executor, config.ray_address


@dataclass
class BuildContext:
    """What every stage of one build shares: config, layout, state, options, the corpus.

    `corpus` is the folder the latest corpus stage handed on (dedup's kept
    documents, then contamination's when it decontaminates); `gate` the
    review gate's figures, for the report.
    """

    config: BuildConfig
    layout: BuildLayout
    state: BuildState
    options: BuildOptions
    order: tuple[type[Stage], ...]
    planned: frozenset[str] = frozenset()  # the instance ids this build runs
    corpus: Path | None = None
    gate: dict[str, Any] = field(default_factory=dict)

    @property
    def quiet(self) -> bool:
        return self.options.quiet

    def say(self, text: str) -> None:
        if not self.options.quiet:
            sys.stderr.write(f"build: {text}\n")

    def digests(self, name: str, instance: str | None = None) -> list[str]:
        """Recorded output digests of stage `name` (every instance, or only `instance`)."""

        def matches(key: str) -> bool:
            if instance is not None:
                return key == f"{name}:{instance}"
            return key == name or key.startswith(f"{name}:")

        stages = self.state.stages
        return [self.state.digest(k) for k in sorted(stages) if k in self.planned and matches(k)]

    def stops_at_or_before(self, stage: type[Stage]) -> bool:
        """Whether `--until` stops the build at `stage` or earlier."""
        until = self.options.until
        return until is not None and until_position(self.order, until) <= self.order.index(stage)

    @cached_property
    def backend(self) -> tuple[str, str]:
        """The generation backend and model, resolved once per build."""
        from toolkit.generate.backends import DEFAULT_MODEL, OFFLINE_MODEL, default_backend

        config = self.config
        name = default_backend() if config.backend == "auto" else config.backend
        if config.backend == "auto" and name == "offline" and config.plans:
            self.say("ANTHROPIC_API_KEY is not set: generating with the offline backend")
        model = config.model or (OFFLINE_MODEL if name == "offline" else DEFAULT_MODEL)
        return name, model

    @cached_property
    def executor(self) -> Executor:
        """Where the heavy per-shard work runs, opened when a stage first asks (a build
        whose stages are all up to date starts no cluster); `close` stops it."""
        name, address = self.options.executor_for(self.config)
        return open_executor(name, address)

    def close(self) -> None:
        if "executor" in self.__dict__:
            self.executor.close()


class Stage:
    """One build stage; subclass it, set the class attributes, write `outputs` and `run`.

    Class attributes:
      name              its name in build.json, and what `--until` / `--force` take
      family            the `--until` / `--force` group it belongs to (default: name)
      reads             stages whose outputs it reads; their digests enter its key
      writes_metadata   `Document.metadata` keys it writes on the documents it hands on
      reads_metadata    keys it needs an earlier enabled stage to have written
      section           its part of the report (None: none)
      rekey_after_run   recompute the key after `run` (a stage whose run changes an input)
      uses_executor     its heavy work runs on the build's executor (recorded in build.json;
                        not in its key: every executor writes the same bytes)
    """

    name: ClassVar[str]
    family: ClassVar[str] = ""
    reads: ClassVar[tuple[str, ...]] = ()
    writes_metadata: ClassVar[tuple[str, ...]] = ()
    reads_metadata: ClassVar[tuple[str, ...]] = ()
    section: ClassVar[Section | None] = None
    rekey_after_run: ClassVar[bool] = False
    uses_executor: ClassVar[bool] = False

    def __init__(self, build: BuildContext, instance: str | None = None) -> None:
        self.build, self.instance = build, instance
        self.config, self.layout = build.config, build.layout

    @classmethod
    def group(cls) -> str:
        return cls.family or cls.name

    @classmethod
    def instances(cls, config: BuildConfig) -> tuple[str | None, ...]:
        """One entry per instance (None: a single, unnamed one); empty: not enabled."""
        return (None,)

    @property
    def id(self) -> str:
        """Its name in build.json: `name`, or `name:instance`."""
        return self.name if self.instance is None else f"{self.name}:{self.instance}"

    def upstream(self) -> tuple[str, ...]:
        """The stages this instance reads (default: `reads`)."""
        return self.reads

    def inputs(self) -> Sequence[Path]:
        """Files and folders it reads from outside the build; their digests enter the key."""
        return ()

    def settings(self) -> Any:
        """Its settings, JSON-able; they enter the key."""
        return None

    def outputs(self) -> Sequence[Path]:
        """What must be on disk, whole, for it to count as done."""
        raise NotImplementedError

    def writes(self) -> Sequence[Path]:
        """Folders and files it owns: removed before it runs again."""
        return ()

    def digest_of(self) -> Sequence[Path]:
        """What its output digest (what later keys follow) is computed over."""
        return self.outputs()

    def run(self) -> dict[str, Any]:
        """Do the work; return the figures build.json keeps."""
        raise NotImplementedError

    def corpus(self) -> Path | None:
        """The corpus folder it hands on to later stages, if it makes one."""
        return None

    def finish(self) -> None:
        """After it ran or was up to date (the review gate stops the build here)."""

    def key(self) -> str:
        """Its name, the digests of the stages it reads (its own instance of a stage
        fanned out like itself, else every instance), of its inputs, and its settings."""
        upstream = []
        for name in self.upstream():
            own = self.build.digests(name, self.instance) if self.instance else []
            upstream.append(own or self.build.digests(name))
        inputs = [tree_digest([path]) for path in self.inputs()]
        return key_of(self.id, upstream, inputs, self.settings())


def families(order: Sequence[type[Stage]]) -> list[str]:
    """What `--until` and `--force` may name: stage groups and names, in build order."""
    names: list[str] = []
    for stage in order:
        for name in (stage.group(), stage.name):
            if name not in names:
                names.append(name)
    return names


def until_position(order: Sequence[type[Stage]], until: str) -> int:
    """The index of the last stage `--until NAME` still runs."""
    return max(i for i, s in enumerate(order) if until in (s.name, s.group()))


def check_metadata_chain(order: Sequence[type[Stage]], config: BuildConfig) -> None:
    """Refuse a build in which a stage reads a metadata key no earlier enabled stage writes."""
    written: set[str] = set()
    for stage in order:
        if not stage.instances(config):
            continue
        for key in stage.reads_metadata:
            if key in written:
                continue
            writers = [s.name for s in order if key in s.writes_metadata]
            if writers:
                where = f"{', '.join(writers)}, which writes it, is not enabled before it"
            else:
                where = "no stage of the build writes it"
            raise ConfigError(
                f"{config.file}: stage {stage.name} reads metadata[{key!r}], but {where}"
            )
        written.update(stage.writes_metadata)

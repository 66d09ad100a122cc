"""mix:NAME: one built mix per spec the config names, drawn from final and principles."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.mix.card import composition_svg
from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.sections import NOT_RUN, Section, load_json, pick, ran
from toolkit.pipeline.stages.base import Stage
from toolkit.svg import stacked_bar
from toolkit.tables import read_toml

if TYPE_CHECKING:
    from toolkit.mix.spec import MixSpec

__all__ = ["Mix", "spec_name"]

_SOURCE_KEYS = ["share", "share_realised", "epochs_realised", "max_epochs", "tokens_requested"]
_SOURCE_KEYS += ["tokens_realised", "documents_realised"]
_MIX_KEYS = ("share", "share_realised", "epochs_realised", "tokens_requested", "tokens_realised")


def spec_name(path: Path) -> str:
    """A mix spec's `name`, read before its sources exist (they are made by the build)."""
    name = read_toml(path).get("name")
    return name if isinstance(name, str) and name else path.stem


def _one(layout: BuildLayout, name: str) -> dict[str, Any]:
    manifest = load_json(layout.mix(name) / "manifest.json")
    if manifest is None:
        return dict(NOT_RUN)
    kinds = {
        kind: {split: cell["tokens"] for split, cell in sorted(splits.items())}
        for kind, splits in sorted(manifest.get("kinds", {}).items())
    }
    return ran(
        path=layout.mix(name).relative_to(layout.root).as_posix(),
        tokens=pick(manifest["tokens"], ("requested", "realised")),
        splits=manifest.get("splits", {}),
        sources={src: pick(s, _SOURCE_KEYS) for src, s in manifest["sources"].items()},
        kinds={kind: {**cells, "total": sum(cells.values())} for kind, cells in kinds.items()},
        notes=list(manifest.get("notes", [])),
    )


def _figures(layout: BuildLayout, names: Sequence[str]) -> dict[str, Any]:
    return {name: _one(layout, name) for name in sorted(set(names))}


def _view_one(name: str, m: dict[str, Any]) -> dict[str, Any]:
    if m["status"] != "ok":
        return {"name": name, "ran": False}
    sources = m["sources"]
    return {
        "name": name,
        "ran": True,
        "path": m["path"],
        "tokens": m["tokens"],
        "stacked": stacked_bar(
            [(s, float(v["tokens_realised"] or 0)) for s, v in sources.items()],
            label=f"{name} composition",
        ),
        "composition": composition_svg(sources),
        "sources": [[src, *(s[k] for k in _MIX_KEYS)] for src, s in sources.items()],
        "kinds": [
            [kind, *(t.get(s, 0) for s in ("train", "validation", "total"))]
            for kind, t in m["kinds"].items()
        ],
        "notes": [str(n) for n in m["notes"]],
    }


def _view(mixes: dict[str, Any]) -> dict[str, Any]:
    return {"mixes": [_view_one(name, m) for name, m in sorted(mixes.items())]}


class Mix(Stage):
    name = "mix"
    reads = ("final", "principles")
    section = Section("mixes", "Mixes", _figures, _view, always=True)

    @classmethod
    def instances(cls, config: BuildConfig) -> tuple[str | None, ...]:
        return tuple(spec_name(path) for path in config.mix_specs)

    @property
    def spec_path(self) -> Path:
        return next(p for p in self.config.mix_specs if spec_name(p) == self.instance)

    @cached_property
    def spec(self) -> MixSpec:
        from toolkit.mix import load_spec

        return load_spec(self.spec_path)

    def inputs(self) -> Sequence[Path]:
        """The spec, its sources from outside the build and its tokenizer."""
        root = self.layout.root.resolve()
        spec = self.spec
        outside = sorted(
            {s.resolved for s in spec.sources if not s.resolved.resolve().is_relative_to(root)}
        )
        tokenizer = [spec.resolve(spec.tokenizer)] if spec.tokenizer else []
        return [self.spec_path, *outside, *tokenizer]

    def outputs(self) -> Sequence[Path]:
        return [self.layout.mix(self.spec.name) / "manifest.json"]

    def run(self) -> dict[str, Any]:
        return steps.mix(self.layout, self.spec_path, self.build.quiet)

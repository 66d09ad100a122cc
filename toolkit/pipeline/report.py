"""Write the build report (report.json and report.html) only when it changed.

A rerun of a build that changed nothing must touch no file, so that
timestamps, `make`-style checks and backups see no change. Each file is
compared with what is on disk and replaced atomically only when it differs.
The page is rendered from the JSON text itself, so the two always agree and
a report read back from report.json renders to the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toolkit.io.atomic import atomic_write
from toolkit.pipeline.html import render_report_html
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.stages import DEFAULT_STAGES, Stage

__all__ = ["report_json", "write_build_report", "write_report"]


def report_json(report: dict[str, Any]) -> str:
    """The report as report.json holds it: indented, keys sorted, UTF-8 kept."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write_if_changed(path: Path, content: bytes) -> bool:
    try:
        if path.read_bytes() == content:
            return False
    except FileNotFoundError:
        pass
    with atomic_write(path, compress=False) as handle:
        handle.write(content)
    return True


def write_report(
    layout: BuildLayout, report: dict[str, Any], order: Sequence[type[Stage]] = DEFAULT_STAGES
) -> bool:
    """Write report.json and report.html where their content differs; True if any was written.

    `order`: the build's stages, whose sections the page shows."""
    text = report_json(report)
    page = render_report_html(json.loads(text), order)
    wrote_json = _write_if_changed(layout.report_json, text.encode("utf-8"))
    wrote_html = _write_if_changed(layout.report_html, page.encode("utf-8"))
    return wrote_json or wrote_html


def write_build_report(
    layout: BuildLayout,
    constitution: Path,
    stages: dict[str, Any],
    gate: Any,
    instances: Mapping[str, Sequence[str]],
    quiet: bool,
    *,
    order: Sequence[type[Stage]] = DEFAULT_STAGES,
) -> bool:
    """Collect every stage's figures (`figures.collect_report`) with the build's
    own record (each stage's figures but the report's, and the gate) and write
    the report where it changed."""
    from toolkit.constitution import load_constitution
    from toolkit.embeddings import EmbeddingCache
    from toolkit.pipeline.figures import collect_report

    with EmbeddingCache(layout.embedding_cache, quiet=quiet) as cache:
        report = collect_report(
            layout,
            load_constitution(constitution),
            cache=cache,
            order=order,
            instances=instances,
        )
    report["build"] = {
        "stages": {name: figures for name, figures in sorted(stages.items()) if name != "report"},
        "gate": gate,
    }
    return write_report(layout, report, order)

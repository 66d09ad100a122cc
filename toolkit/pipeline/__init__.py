"""The pipeline (`ccorpus build`): one corpus config, every stage, incremental, with a report.

`run_build(config)` runs the stages of `DEFAULT_STAGES` in order (principles,
plan, generate, quality, dedup, contamination, review, final, mix), skipping
every stage whose inputs and settings are unchanged (see
`toolkit.pipeline.stages.base.Stage`), and writes report.json and
report.html. `load_build_config` reads and validates a corpus config.
"""

from toolkit.pipeline.config import BuildConfig, load_build_config
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.runner import run_build
from toolkit.pipeline.stages import DEFAULT_STAGES, STAGES, BuildOptions, Stage

__all__ = [
    "DEFAULT_STAGES",
    "STAGES",
    "BuildConfig",
    "BuildLayout",
    "BuildOptions",
    "Stage",
    "load_build_config",
    "run_build",
]

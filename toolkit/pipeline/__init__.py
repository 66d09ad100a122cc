"""The pipeline (`ccorpus build`): one corpus config, every stage, incremental, with a report.

`run_build(config)` runs plan -> generate -> quality -> dedup ->
contamination -> review queue -> mix, skipping every stage whose inputs and
settings are unchanged (see `toolkit.pipeline.state`), and writes report.json
and report.html. `load_build_config` reads and validates a corpus config.
"""

from toolkit.pipeline.config import BuildConfig, load_build_config
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.runner import STAGES, BuildOptions, run_build

__all__ = ["STAGES", "BuildConfig", "BuildLayout", "BuildOptions", "load_build_config", "run_build"]

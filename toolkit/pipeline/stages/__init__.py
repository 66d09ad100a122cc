"""The build's stages, one module each, and the list the build runs in order.

Adding a stage is one module here (a `Stage` subclass) and one entry in
`DEFAULT_STAGES`; a caller may also pass its own list to `run_build(...,
stages=...)`. See `toolkit.pipeline.stages.base` for the protocol.
"""

from toolkit.pipeline.stages.base import (
    BuildContext,
    BuildOptions,
    Stage,
    check_metadata_chain,
    families,
)
from toolkit.pipeline.stages.contamination import Contamination
from toolkit.pipeline.stages.dedup import Dedup
from toolkit.pipeline.stages.final import Final
from toolkit.pipeline.stages.generate import Generate
from toolkit.pipeline.stages.judge import Judge
from toolkit.pipeline.stages.mix import Mix
from toolkit.pipeline.stages.plan import Plan
from toolkit.pipeline.stages.principles import Principles
from toolkit.pipeline.stages.quality import Quality
from toolkit.pipeline.stages.review import Review

__all__ = [
    "DEFAULT_STAGES",
    "STAGES",
    "BuildContext",
    "BuildOptions",
    "Contamination",
    "Dedup",
    "Final",
    "Generate",
    "Judge",
    "Mix",
    "Plan",
    "Principles",
    "Quality",
    "Review",
    "Stage",
    "check_metadata_chain",
    "families",
]

#: Every stage of a build, in build order.
DEFAULT_STAGES: tuple[type[Stage], ...] = (
    Principles,
    Plan,
    Generate,
    Quality,
    Judge,
    Dedup,
    Contamination,
    Review,
    Final,
    Mix,
)

#: What `--until` and `--force` take: each stage group, in build order.
STAGES: tuple[str, ...] = tuple(dict.fromkeys(stage.group() for stage in DEFAULT_STAGES))

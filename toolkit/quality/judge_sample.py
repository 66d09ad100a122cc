"""Which documents the judge reads: every one of the judged kinds, or a stratified sample.

The sample is drawn as review draws its own (`toolkit.review.sampling`):
places proportional to each stratum's size, at least one per stratum when
there are enough, a seeded draw within each; only ids are held in memory.
"""

from __future__ import annotations

import random
from pathlib import Path

from toolkit.errors import ConfigError
from toolkit.io.corpus import read_documents
from toolkit.quality.judge_config import JudgeSettings
from toolkit.review.sampling import BUILTIN_KEYS, allocate, stratum_of

__all__ = ["sample_ids"]


def sample_ids(corpus: str | Path, settings: JudgeSettings) -> set[str] | None:
    """The ids of the sample to judge; None when every document of the kinds is judged."""
    if settings.sample is None:
        return None
    members: dict[tuple[str, ...], list[str]] = {}
    seen: set[str] = set()
    for doc in read_documents(corpus):
        if doc.kind in settings.kinds:
            members.setdefault(stratum_of(doc, settings.stratify), []).append(doc.id)
            seen.update(name for name in settings.stratify if name in doc.provenance.seed)
    unknown = [n for n in settings.stratify if n not in BUILTIN_KEYS and n not in seen]
    if members and unknown:
        raise ConfigError(
            f"judge.stratify: no judged document has {unknown[0]!r}; expected one of "
            f"{', '.join(BUILTIN_KEYS)} or a seed attribute such as genre"
        )
    places = allocate(
        {key: len(ids) for key, ids in members.items()}, settings.sample, settings.seed
    )
    chosen: set[str] = set()
    for key, ids in members.items():
        rng = random.Random("\0".join((str(settings.seed), *key)))
        chosen.update(rng.sample(ids, places[key]))
    return chosen

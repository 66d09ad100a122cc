"""Deduplication: exact hashes, MinHash near-duplicates, semantic neighbours.

`deduplicate(corpus, out, config)` splits a corpus on disk into kept and
rejected documents and writes a report, streaming it through a work folder
within `config.memory_mb` (`toolkit.dedup.stream`); `find_duplicates(docs,
config)` decides the same for documents held in memory, without writing.
Stages run in the order exact, near, semantic, each on the survivors of the
one before; duplicates form clusters (connected components)
and one document per cluster is kept by `choose_keeper`.
"""

from toolkit.dedup.clusters import Edges, UnionFind, choose_keeper, components
from toolkit.dedup.config import INDEX_KINDS, STAGES, DedupConfig, parse_stages
from toolkit.dedup.exact import canonical_text, exact_key
from toolkit.dedup.lsh import jaccard
from toolkit.dedup.minhash import ShingleSets, minhash_signatures, optimal_bands, shingle_sets
from toolkit.dedup.pipeline import DedupOutcome, Drop, deduplicate, find_duplicates
from toolkit.dedup.report import markdown_report

__all__ = [
    "INDEX_KINDS",
    "STAGES",
    "DedupConfig",
    "DedupOutcome",
    "Drop",
    "Edges",
    "ShingleSets",
    "UnionFind",
    "canonical_text",
    "choose_keeper",
    "components",
    "deduplicate",
    "exact_key",
    "find_duplicates",
    "jaccard",
    "markdown_report",
    "minhash_signatures",
    "optimal_bands",
    "parse_stages",
    "shingle_sets",
]

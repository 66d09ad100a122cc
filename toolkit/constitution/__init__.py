"""Parse a Markdown constitution into a tree of sections and principles, losslessly."""

from toolkit.constitution.audit import lost_paragraphs, reassemble, unassigned_blocks
from toolkit.constitution.diff import ConstitutionDiff, diff_constitutions
from toolkit.constitution.export import principle_documents
from toolkit.constitution.model import Block, Constitution, Node
from toolkit.constitution.options import GRANULARITIES, PrincipleOptions
from toolkit.constitution.parser import load_constitution, parse_constitution
from toolkit.constitution.principles import Principle, Segmentation, SharedContext
from toolkit.constitution.report import node_to_dict, node_words, principle_to_dict, stats

__all__ = [
    "GRANULARITIES",
    "Block",
    "Constitution",
    "ConstitutionDiff",
    "Node",
    "Principle",
    "PrincipleOptions",
    "Segmentation",
    "SharedContext",
    "diff_constitutions",
    "load_constitution",
    "lost_paragraphs",
    "node_to_dict",
    "node_words",
    "parse_constitution",
    "principle_documents",
    "principle_to_dict",
    "reassemble",
    "stats",
    "unassigned_blocks",
]

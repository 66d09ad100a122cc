"""Parse a Markdown constitution into a tree of sections and principles, losslessly."""

from toolkit.constitution.audit import lost_paragraphs, reassemble
from toolkit.constitution.diff import ConstitutionDiff, diff_constitutions
from toolkit.constitution.export import principle_documents
from toolkit.constitution.model import Block, Constitution, Node
from toolkit.constitution.parser import load_constitution, parse_constitution
from toolkit.constitution.report import node_to_dict, node_words, stats

__all__ = [
    "Block",
    "Constitution",
    "ConstitutionDiff",
    "Node",
    "diff_constitutions",
    "load_constitution",
    "lost_paragraphs",
    "node_to_dict",
    "node_words",
    "parse_constitution",
    "principle_documents",
    "reassemble",
    "stats",
]

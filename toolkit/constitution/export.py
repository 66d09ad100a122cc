"""The constitution's principles as corpus documents.

A mix may include the constitution itself next to the documents that explain
it, and a contamination check may want to know whether an eval quotes it; both
need the principles as `Document`s of kind "external" with their source.
"""

from __future__ import annotations

from collections.abc import Iterator

from toolkit.constitution.model import Constitution
from toolkit.document import Document, Provenance

__all__ = ["principle_documents"]


def principle_documents(constitution: Constitution) -> Iterator[Document]:
    """One document per principle: its title as a heading, then its body as written."""
    for node in constitution.principles():
        yield Document.create(
            "external",
            f"# {node.title}\n\n{node.body}",
            title=node.title,
            principle_ids=[node.id],
            provenance=Provenance(
                backend="constitution",
                constitution_version=constitution.version,
                source=f"{constitution.path}#{node.id}",
            ),
        )

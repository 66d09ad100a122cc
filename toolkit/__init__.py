"""constitution-corpus: build alignment mid-training corpora from a constitution."""

from toolkit.document import KINDS, Document, Provenance, document_id, normalise_text
from toolkit.errors import CheckFailed, ConfigError, CorpusError, InputError, RecordError

__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "CheckFailed",
    "ConfigError",
    "CorpusError",
    "Document",
    "InputError",
    "Provenance",
    "RecordError",
    "__version__",
    "document_id",
    "normalise_text",
]

"""Curator review of generated documents: a SQLite store, a local web page, export and stats.

Stories are imported (all, or a stratified sample) into a review database;
curators accept, reject or edit them in the page served by `serve`; only
accepted documents, with their edits, are exported for a training mix.

The web side (`toolkit.review.web.create_app`, `toolkit.review.server.serve`)
is imported on its own, so the CLI does not load Starlette and uvicorn for
commands that never serve.
"""

from toolkit.errors import ItemNotFound, StaleWrite
from toolkit.review.export import export_reviewed, reviewed_document
from toolkit.review.filters import Filters
from toolkit.review.importer import MAX_ITEM_BYTES, import_corpus
from toolkit.review.reasons import DEFAULT_REASONS, load_reasons, parse_reasons
from toolkit.review.records import DECISIONS, Edit, Item, ReviewDecision
from toolkit.review.sampling import allocate, stratified_sample
from toolkit.review.schema import SCHEMA_VERSION, STATUSES, connect, migrate
from toolkit.review.stats import agreement, cohen_kappa, review_stats
from toolkit.review.store import ReviewStore

__all__ = [
    "DECISIONS",
    "DEFAULT_REASONS",
    "MAX_ITEM_BYTES",
    "SCHEMA_VERSION",
    "STATUSES",
    "Edit",
    "Filters",
    "Item",
    "ItemNotFound",
    "ReviewDecision",
    "ReviewStore",
    "StaleWrite",
    "agreement",
    "allocate",
    "cohen_kappa",
    "connect",
    "export_reviewed",
    "import_corpus",
    "load_reasons",
    "migrate",
    "parse_reasons",
    "review_stats",
    "reviewed_document",
    "stratified_sample",
]

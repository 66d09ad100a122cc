"""The review page: Starlette routes, each a thin call into the store.

Pages are rendered on the server with Jinja2 (autoescape on, so a story
holding `<script>` shows as text); the only script is the static keyboard
helper, and every form works without it. Database work runs in a thread
with a connection of its own, so a slow write never blocks other curators.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from toolkit.errors import ConfigError, InputError, ItemNotFound, StaleWrite
from toolkit.packaged import data_path
from toolkit.review import display
from toolkit.review.filters import Filters
from toolkit.review.reasons import DEFAULT_REASONS, load_reasons
from toolkit.review.security import Guard, parse_form
from toolkit.review.store import ReviewStore, check_reviewer

__all__ = ["DEFAULT_GUIDELINES", "ReviewSettings", "create_app", "is_loopback", "review_settings"]

HERE = Path(__file__).parent
DEFAULT_GUIDELINES = data_path("stories", "guidelines.md")  # shipped; never the cwd's
REVIEWER_COOKIE = "ccorpus_reviewer"
PAGE_SIZE = 100
SAVED = {"accepted": "accepted", "rejected": "rejected", "needs-edit": "needs edit", "edit": "edit"}
T = TypeVar("T")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses, which need no access token."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ReviewSettings:
    """Everything the page needs; a non-loopback `host` requires a `token`."""

    db: Path
    reasons: dict[str, str]
    host: str = "127.0.0.1"
    token: str | None = None
    reviewer: str | None = None
    constitution: Path | None = None
    guidelines: Path | None = None
    max_body: int = 1_000_000


def review_settings(
    db: Path,
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    reviewer: str | None = None,
    constitution: Path | None = None,
    guidelines: Path | None = None,
    reasons: Path | None = None,
) -> ReviewSettings:
    """The settings `ccorpus review serve` runs with: given files checked up front,
    reasons and guidelines defaulting to the shipped ones (never the cwd's)."""
    if guidelines is not None and not guidelines.is_file():
        raise InputError(f"--guidelines {guidelines}: no such file")
    if constitution is not None and not constitution.is_file():
        raise InputError(f"--constitution {constitution}: no such file")
    return ReviewSettings(
        db=db,
        reasons=load_reasons(reasons or DEFAULT_REASONS),
        host=host,
        token=token,
        reviewer=reviewer,
        constitution=constitution,
        guidelines=guidelines or DEFAULT_GUIDELINES,
    )


def create_app(settings: ReviewSettings) -> Guard:
    """The ASGI app: the routes behind the security guard."""
    loopback = is_loopback(settings.host)
    if not loopback and not settings.token:
        raise ConfigError(f"host {settings.host}: serving beyond loopback needs an access token")
    ReviewStore.open(settings.db).close()  # fail now, not on the first request
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pathpart"] = lambda value: quote(str(value), safe="")
    pages = _Pages(settings, Jinja2Templates(env=env))
    app = Starlette(
        routes=[
            Route("/", pages.queue),
            Route("/item/{doc_id:path}/decide", pages.decide, methods=["POST"]),
            Route("/item/{doc_id:path}/edit", pages.edit, methods=["POST"]),
            Route("/item/{doc_id:path}", pages.item),
            Route("/reviewer", pages.set_reviewer, methods=["POST"]),
            Route("/guidelines", pages.guidelines),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={InputError: pages.input_error},
    )
    return Guard(app, token=settings.token, loopback=loopback, max_body=settings.max_body)


async def _form(request: Request) -> dict[str, list[str]]:
    return parse_form(await request.body())


def _one(form: dict[str, list[str]], key: str) -> str:
    return (form.get(key) or [""])[0]


def _version(form: dict[str, list[str]]) -> int:
    raw = _one(form, "version")
    if not raw.isdigit():
        raise InputError(f"version: expected the item version the page showed, got {raw!r}")
    return int(raw)


class _Pages:
    """Route handlers; state is the settings, templates and principle cache."""

    def __init__(self, settings: ReviewSettings, templates: Jinja2Templates) -> None:
        self.settings = settings
        self.templates = templates
        self.principles = display.Principles(settings.constitution)

    async def _run(self, work: Callable[[ReviewStore], T]) -> T:
        def call() -> T:
            with ReviewStore.open(self.settings.db) as store:
                return work(store)

        return await run_in_threadpool(call)

    def _reviewer(self, request: Request) -> str:
        return unquote(request.cookies.get(REVIEWER_COOKIE, "")) or self.settings.reviewer or ""

    def _render(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        base = {
            "csrf": request.state.csrf,
            "reviewer": self._reviewer(request),
            "back": here if request.method == "GET" else "/",
        }
        return self.templates.TemplateResponse(request, name, base | context, status_code=status)

    async def queue(self, request: Request) -> Response:
        filters = Filters.from_query(request.query_params)
        page = max(1, int(p) if (p := request.query_params.get("page", "1")).isdigit() else 1)

        def work(store: ReviewStore) -> dict[str, Any]:
            offset = (page - 1) * PAGE_SIZE
            return {
                "items": store.items(filters, limit=PAGE_SIZE, offset=offset),
                "matching": store.count(filters),
                "progress": store.progress(),
                "facets": store.facets(),
            }

        data = await self._run(work)
        pages = max(1, -(-data["matching"] // PAGE_SIZE))
        context = {
            "filters": filters,
            "q": filters.query(),
            "page": page,
            "pages": pages,
            "queue_quality": display.queue_quality,
            "queue_flags": display.queue_flags,
        }
        return self._render(request, "queue.html", data | context)

    async def item(self, request: Request) -> Response:
        return await self._item_page(request, request.path_params["doc_id"])

    async def _item_page(
        self, request: Request, doc_id: str, *, status: int = 200, **extra: Any
    ) -> Response:
        filters = Filters.from_query(request.query_params)
        done_id = request.query_params.get("done", "")

        def work(store: ReviewStore) -> dict[str, Any]:
            item = store.get(doc_id)
            return {
                "item": item,
                "done": store.find(done_id) if done_id else None,
                "prev_id": store.neighbour(item.position, filters, forward=False),
                "next_id": store.neighbour(item.position, filters),
                "progress": store.progress(),
                "decisions": store.decisions(doc_id),
                "edits": store.edits(doc_id),
                "principles": self.principles.for_item(item),
                "duplicates": display.duplicates(item, store),
            }

        data = await self._run(work)
        item = data["item"]
        metadata = item.document.get("metadata", {})
        guidelines_source, guidelines = display.guidelines(self.settings.guidelines)
        context = {
            "filters": filters,
            "q": filters.query(),
            "reasons": self.settings.reasons,
            "saved": SAVED.get(request.query_params.get("saved", ""), ""),
            "seed_rows": display.rows(item.seed),
            "quality": display.rows(metadata.get("quality")),
            "verdict": display.rows(metadata.get("rejected")),
            "contamination": display.contamination_hits(item),
            "contamination_rows": display.rows(metadata.get("contamination")),
            "judge": display.judge_panel(item),
            "guidelines": guidelines,
            "guidelines_source": guidelines_source,
            "stale": None,
            "unsaved_text": None,
            "form_error": "",
            "back": self._item_url(doc_id, filters),
        }
        return self._render(request, "item.html", data | context | extra, status)

    def _item_url(self, doc_id: str | None, filters: Filters, **params: str) -> str:
        """An item's address (the queue's when `doc_id` is None), filters kept."""
        query = urlencode(filters.to_params() | params)
        path = "/" if doc_id is None else f"/item/{quote(doc_id, safe='')}"
        return path + (f"?{query}" if query else "")

    async def decide(self, request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        form = await _form(request)
        filters = Filters.from_query(request.query_params)
        status = _one(form, "decision")
        reviewer = self._reviewer(request)

        def work(store: ReviewStore) -> str | None:
            item = store.decide(
                doc_id,
                status,
                reviewer=reviewer,
                based_on=_version(form),
                reasons=form.get("reason", []),
                notes=_one(form, "notes"),
                allowed_reasons=self.settings.reasons,
            )
            return store.neighbour(item.position, filters)

        try:
            next_id = await self._run(work)
        except StaleWrite as err:
            return await self._item_page(request, doc_id, status=409, stale=err)
        except ItemNotFound:
            raise
        except InputError as err:
            return await self._item_page(request, doc_id, status=400, form_error=err.message)
        url = self._item_url(next_id, filters, saved=status, done=doc_id)
        return RedirectResponse(url, status_code=303)

    async def edit(self, request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        form = await _form(request)
        text = _one(form, "text").replace("\r\n", "\n")
        reviewer = self._reviewer(request)

        def work(store: ReviewStore) -> None:
            store.edit(
                doc_id,
                text,
                reviewer=reviewer,
                based_on=_version(form),
                reason=_one(form, "reason"),
            )

        try:
            await self._run(work)
        except StaleWrite as err:
            return await self._item_page(request, doc_id, status=409, stale=err, unsaved_text=text)
        except ItemNotFound:
            raise
        except InputError as err:
            return await self._item_page(
                request, doc_id, status=400, form_error=err.message, unsaved_text=text
            )
        filters = Filters.from_query(request.query_params)
        return RedirectResponse(self._item_url(doc_id, filters, saved="edit"), status_code=303)

    async def set_reviewer(self, request: Request) -> Response:
        form = await _form(request)
        name = check_reviewer(_one(form, "reviewer"))
        back = _one(form, "back")
        local = back.startswith("/") and back[1:2] not in ("/", "\\") and back.isprintable()
        response = RedirectResponse(back if local else "/", status_code=303)
        response.set_cookie(
            REVIEWER_COOKIE, quote(name), max_age=365 * 86400, httponly=True, samesite="lax"
        )
        return response

    async def guidelines(self, request: Request) -> Response:
        source, html = display.guidelines(self.settings.guidelines)
        return self._render(request, "guidelines.html", {"guidelines": html, "source": source})

    async def input_error(self, request: Request, exc: Exception) -> Response:
        status = 404 if isinstance(exc, ItemNotFound) else 400
        return self._render(request, "error.html", {"message": str(exc)}, status)

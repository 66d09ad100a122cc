"""End to end in real headless Chromium: the served page, driven by keyboard.

Needs Debian's `chromium` at /usr/bin/chromium (`make test` installs it);
Playwright's own browser download is never used.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.browser_support import MARKS, chromium
from tests.test_review_support import REASONS, XSS_TEXT, make_db, status_of, stories, story
from toolkit.review import ReviewStore
from toolkit.review.server import listen
from toolkit.review.web import ReviewSettings, create_app

STEP_MS = 10_000

pytestmark = MARKS


@dataclass
class Served:
    url: str
    db: Path
    ids: list[str]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The real app under uvicorn on a free loopback port, in a background thread."""
    docs = [*stories(4), story(XSS_TEXT, title="<b>Inert</b>")]
    db = make_db(tmp_path, docs)
    app = create_app(ReviewSettings(db=db, reasons=REASONS, reviewer="ann"))
    sock = listen("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", db, [d.id for d in docs])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    yield page
    context.close()


def test_review_three_items_by_keyboard_and_edit_one(page: Page, served: Served) -> None:
    ids = served.ids
    page.goto(served.url + "/")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/item/{ids[0]}")
    page.keyboard.press("a")
    page.wait_for_url(re.compile(rf"/item/{ids[1]}\?saved=accepted"))
    page.keyboard.press("1")  # tick the first reason, then reject
    page.keyboard.press("r")
    page.wait_for_url(re.compile(rf"/item/{ids[2]}\?saved=rejected"))
    expect(page.locator(".notice.ok")).to_contain_text("marked rejected")
    page.keyboard.press("n")
    page.wait_for_url(re.compile(rf"/item/{ids[3]}\?saved=needs-edit"))
    page.keyboard.press("j")
    page.wait_for_url(f"**/item/{ids[4]}")
    page.keyboard.press("k")
    page.wait_for_url(f"**/item/{ids[3]}")

    page.goto(f"{served.url}/item/{ids[2]}?status=all")
    page.keyboard.press("e")
    editor = page.locator("#edit-text")
    expect(editor).to_be_focused()
    editor.fill("A rewritten story.\nWith <em>care</em>.\n")
    page.locator("#edit-reason").fill("rewrote the ending")
    editor.press("Control+Enter")
    expect(page.locator(".notice.ok")).to_contain_text("saved as version 3")

    page.reload()
    expect(page.locator("#story")).to_have_text("A rewritten story.\nWith <em>care</em>.\n")
    expect(page.locator("#status")).to_have_text("needs-edit")
    page.goto(served.url + "/?status=all")
    statuses = page.locator("table.queue tbody .status").all_inner_texts()
    assert statuses == ["accepted", "rejected", "needs-edit", "pending", "pending"]
    with ReviewStore.open(served.db) as store:
        assert store.decisions(ids[1])[0].reasons == (next(iter(REASONS)),)
        assert store.get(ids[2]).text == "A rewritten story.\nWith <em>care</em>.\n"


def test_a_story_with_a_script_tag_stays_inert(page: Page, served: Served) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"{served.url}/item/{served.ids[4]}")
    story_text = page.locator("#story")
    expect(story_text).to_contain_text("<script>alert('xss')</script>")
    expect(story_text).to_contain_text('<img src=x onerror="alert(2)">')
    assert story_text.locator("script, img, b").count() == 0
    expect(page.locator("h1")).to_have_text("<b>Inert</b>")
    page.keyboard.press("e")  # the text in the editor is inert too
    page.wait_for_timeout(300)
    assert dialogs == []


def test_two_curators_editing_at_once_the_second_is_told(browser: Browser, served: Served) -> None:
    item = f"{served.url}/item/{served.ids[0]}"
    contexts = [browser.new_context(), browser.new_context()]
    try:
        first, second = (context.new_page() for context in contexts)
        for page in (first, second):
            page.set_default_timeout(STEP_MS)
            page.goto(item)
        second.locator("input[name=reviewer]").fill("bob")
        second.locator("form.reviewer button").click()
        second.wait_for_url(item)
        for page, text in ((first, "Ann's version.\n"), (second, "Bob's version.\n")):
            page.keyboard.press("e")
            page.locator("#edit-text").fill(text)
            page.locator("#edit-reason").fill("my fix")
        first.locator("#edit-save").click()
        expect(first.locator(".notice.ok")).to_contain_text("saved as version 2")
        second.locator("#edit-save").click()
        message = second.locator("#stale-message")
        expect(message).to_be_visible()
        expect(message).to_contain_text("someone else changed this item")
        expect(second.locator("#story")).to_have_text("Ann's version.\n")
        expect(second.locator("#unsaved-text")).to_have_value("Bob's version.\n")
    finally:
        for context in contexts:
            context.close()
    assert status_of(served.db, served.ids[0]) == "pending"
    with ReviewStore.open(served.db) as store:
        assert [e.reviewer for e in store.edits(served.ids[0])] == ["ann"]


def test_a_page_on_another_local_port_cannot_post_a_decision(page: Page, served: Served) -> None:
    """The attack the CSRF guard exists for: a service on another localhost port plants our
    cookie (cookies ignore ports) and auto-submits a form whose token matches it."""
    planted = "a" * 43
    action = f"{served.url}/item/{served.ids[0]}/decide"
    html = (
        f'<form id="f" method="post" action="{action}">'
        f'<input name="csrf" value="{planted}"><input name="version" value="1">'
        '<input name="decision" value="rejected"></form>'
        "<script>document.getElementById('f').submit()</script>"
    ).encode()

    class Evil(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("set-cookie", f"ccorpus_csrf={planted}; Path=/")
            self.send_header("content-length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, format: str, *args: object) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    thread = threading.Thread(target=evil.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        page.wait_for_url(action)
        expect(page.locator("body")).to_contain_text("Origin check")
    finally:
        evil.shutdown()
        thread.join(timeout=10)
        evil.server_close()
    cookies = {c["name"]: c["value"] for c in page.context.cookies(served.url)}
    assert cookies.get("ccorpus_csrf") == planted  # the cookie was planted; the write still failed
    assert status_of(served.db, served.ids[0]) == "pending"
    with ReviewStore.open(served.db) as store:
        assert store.decisions(served.ids[0]) == []

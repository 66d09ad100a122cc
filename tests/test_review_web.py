"""The review page through Starlette's TestClient: decisions, edits, conflicts, security."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.test_review_support import (
    CONSTITUTION,
    REASONS,
    XSS_TEXT,
    form_tokens,
    make_db,
    status_of,
    stories,
    story,
)
from toolkit.errors import ConfigError, InputError
from toolkit.review import ReviewStore
from toolkit.review.importer import MAX_ITEM_BYTES, record_bytes
from toolkit.review.server import RedactToken, access_token, listen, listen_near
from toolkit.review.web import ReviewSettings, create_app, review_settings

LOCAL = "http://127.0.0.1"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    (tmp_path / "constitution.md").write_text(CONSTITUTION)
    extra = story(
        "The duplicate.\n",
        genre="satire",
        metadata={
            "quality": {"score": 0.42, "repetition": 0.1},
            "dedup": {"duplicate_of": "missing-doc", "score": 0.93},
            "contamination": {
                "hits": [
                    {
                        "eval": "truthfulqa",
                        "score": 0.8,
                        "excerpt": {"before": "ctx ", "match": "THE MATCH", "after": " ctx"},
                    }
                ]
            },
        },
        source=str(tmp_path / "constitution.md"),
    )
    return make_db(tmp_path, [*stories(3), story(XSS_TEXT, title="<i>Title</i>"), extra])


def settings(db: Path, **changes: Any) -> ReviewSettings:
    return replace(ReviewSettings(db=db, reasons=REASONS, reviewer="ann"), **changes)


@pytest.fixture
def client(db: Path, tmp_path: Path) -> Iterator[TestClient]:
    guidelines = tmp_path / "guidelines.md"
    guidelines.write_text("# Be kind\n\n<script>alert(1)</script> **always**\n")
    app = create_app(settings(db, guidelines=guidelines))
    with TestClient(app, base_url=LOCAL) as test_client:
        yield test_client


def ids(db: Path) -> list[str]:
    with ReviewStore.open(db) as store:
        return [item.doc_id for item in store.items()]


def test_queue_lists_items_with_progress_and_security_headers(client: TestClient) -> None:
    response = client.get("/?status=all")
    assert response.status_code == 200
    assert "0 of 5 reviewed" in response.text and "<progress" in response.text
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text and '<script src="/static/review.js"' in response.text
    assert client.get("/?genre=satire").text.count('data-href="/item/') == 1
    assert client.get("/?qmin=oops").status_code == 400


def test_static_assets_are_served_locally(client: TestClient) -> None:
    css = client.get("/static/review.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/review.js").status_code == 200
    assert "x-content-type-options" in css.headers


def test_accept_records_the_decision_and_moves_on(client: TestClient, db: Path) -> None:
    first, second = ids(db)[:2]
    page = client.get(f"/item/{first}")
    csrf, version = form_tokens(page.text)
    response = client.post(
        f"/item/{first}/decide?genre=mystery",
        data={"csrf": csrf, "version": str(version), "decision": "accepted", "notes": "fine"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/item/{second}?genre=mystery&saved=accepted&done={first}"
    )
    assert status_of(db, first) == "accepted"
    landed = client.get(response.headers["location"])
    assert "marked accepted" in landed.text and "1 of 5 reviewed" in landed.text


def test_reject_with_reasons_and_unknown_reason(client: TestClient, db: Path) -> None:
    doc_id = ids(db)[0]
    csrf, version = form_tokens(client.get(f"/item/{doc_id}").text)
    form = {"csrf": csrf, "version": str(version), "decision": "rejected"}
    bad = client.post(f"/item/{doc_id}/decide", data={**form, "reason": "made-up"})
    assert bad.status_code == 400 and "reason: &#39;made-up&#39; is not one of" in bad.text
    ok = client.post(f"/item/{doc_id}/decide", data={**form, "reason": ["preachy", "incoherent"]})
    assert ok.status_code == 200  # followed to the next item
    with ReviewStore.open(db) as store:
        (decision,) = store.decisions(doc_id)
    assert decision.reasons == ("preachy", "incoherent") and decision.reviewer == "ann"


def test_edit_saves_a_version_and_shows_the_new_text(client: TestClient, db: Path) -> None:
    doc_id = ids(db)[0]
    csrf, version = form_tokens(client.get(f"/item/{doc_id}").text)
    response = client.post(
        f"/item/{doc_id}/edit",
        data={
            "csrf": csrf,
            "version": str(version),
            "text": "New text.\r\nLine two.\r\n",
            "reason": "clearer",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Your edit was saved as version 2" in page.text
    assert "New text.\nLine two.\n" in page.text and "clearer" in page.text
    with ReviewStore.open(db) as store:
        assert store.get(doc_id).text == "New text.\nLine two.\n"
    missing_reason = client.post(
        f"/item/{doc_id}/edit", data={"csrf": csrf, "version": "2", "text": "x", "reason": ""}
    )
    assert missing_reason.status_code == 400 and "edit reason" in missing_reason.text


def test_a_stale_version_is_refused_with_a_clear_message(client: TestClient, db: Path) -> None:
    doc_id = ids(db)[0]
    csrf, version = form_tokens(client.get(f"/item/{doc_id}").text)
    edit = {"csrf": csrf, "version": str(version), "text": "Mine.\n", "reason": "r"}
    assert client.post(f"/item/{doc_id}/edit", data=edit).status_code == 200
    stale = client.post(f"/item/{doc_id}/edit", data={**edit, "text": "Theirs.\n"})
    assert stale.status_code == 409
    assert "someone else changed this item" in stale.text
    assert "Theirs." in stale.text  # the unsaved text is kept on the page to copy
    decide = {"csrf": csrf, "version": str(version), "decision": "accepted"}
    assert client.post(f"/item/{doc_id}/decide", data=decide).status_code == 409
    with ReviewStore.open(db) as store:
        item = store.get(doc_id)
    assert (item.text, item.status, item.version) == ("Mine.\n", "pending", 2)


def test_odd_cookies_of_other_local_apps_do_not_hide_ours(client: TestClient, db: Path) -> None:
    doc_id = ids(db)[0]
    csrf, _ = form_tokens(client.get(f"/item/{doc_id}").text)
    session = client.cookies["ccorpus_csrf"]
    client.cookies.clear()
    cookie = f'jupyter="{{\\"a\\": [1,2]}}"; ccorpus_csrf={session}'
    form = {"csrf": csrf, "version": "1", "decision": "accepted"}
    response = client.post(f"/item/{doc_id}/decide", data=form, headers={"cookie": cookie})
    assert response.status_code == 200
    assert status_of(db, doc_id) == "accepted"


@pytest.mark.parametrize("kind", ["missing", "wrong", "no-cookie"])
def test_writes_without_a_matching_csrf_token_are_forbidden(
    client: TestClient, db: Path, kind: str
) -> None:
    doc_id = ids(db)[0]
    csrf, _ = form_tokens(client.get(f"/item/{doc_id}").text)
    form = {"version": "1", "decision": "accepted"}
    if kind == "wrong":
        form["csrf"] = csrf[:-2] + "xx"
    if kind == "no-cookie":
        form["csrf"] = csrf
        client.cookies.clear()
    response = client.post(f"/item/{doc_id}/decide", data=form)
    assert response.status_code == 403 and "CSRF" in response.text
    assert status_of(db, doc_id) == "pending"
    header = client.post(f"/item/{doc_id}/decide", data=form, headers={"X-CSRF-Token": csrf + "x"})
    assert header.status_code == 403


def test_a_planted_csrf_cookie_cannot_forge_a_token(client: TestClient, db: Path) -> None:
    """Another localhost service can set our cookie, but not compute the token for it."""
    doc_id = ids(db)[0]
    client.cookies.clear()
    form = {"csrf": "a", "version": "1", "decision": "rejected"}
    forged = client.post(
        f"/item/{doc_id}/decide",
        data=form,
        headers={"cookie": "ccorpus_csrf=a", "origin": "http://evil.example"},
    )
    assert forged.status_code == 403
    planted = "p" * 43  # long enough, but the server never issued it
    for headers in ({}, {"origin": LOCAL}):
        attempt = client.post(
            f"/item/{doc_id}/decide",
            data={**form, "csrf": planted},
            headers={"cookie": f"ccorpus_csrf={planted}", **headers},
        )
        assert attempt.status_code == 403 and "CSRF" in attempt.text
    assert status_of(db, doc_id) == "pending"
    with ReviewStore.open(db) as store:
        assert store.decisions(doc_id) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://127.0.0.1:8766"},
        {"origin": "https://127.0.0.1"},
        {"origin": "http://localhost"},
        {"origin": "null"},
        {"referer": "http://127.0.0.1:9999/page"},
    ],
)
def test_writes_from_another_origin_are_refused_even_with_a_valid_token(
    client: TestClient, db: Path, headers: dict[str, str]
) -> None:
    doc_id = ids(db)[0]
    csrf, version = form_tokens(client.get(f"/item/{doc_id}").text)
    form = {"csrf": csrf, "version": str(version), "decision": "rejected"}
    response = client.post(f"/item/{doc_id}/decide", data=form, headers=headers)
    assert response.status_code == 403 and "Origin" in response.text
    assert status_of(db, doc_id) == "pending"
    with ReviewStore.open(db) as store:
        assert store.decisions(doc_id) == []


@pytest.mark.parametrize(
    "headers",
    [{"origin": LOCAL}, {"origin": "HTTP://127.0.0.1:80"}, {"referer": f"{LOCAL}/item/x?q=1"}],
)
def test_same_origin_writes_with_a_valid_token_are_accepted(
    client: TestClient, db: Path, headers: dict[str, str]
) -> None:
    doc_id = ids(db)[0]
    page = client.get(f"/item/{doc_id}")
    assert page.headers["referrer-policy"] == "same-origin"  # keeps our own Origin non-null
    csrf, version = form_tokens(page.text)
    form = {"csrf": csrf, "version": str(version), "decision": "rejected"}
    response = client.post(
        f"/item/{doc_id}/decide", data=form, headers=headers, follow_redirects=False
    )
    assert response.status_code == 303
    assert status_of(db, doc_id) == "rejected"


def test_a_token_is_bound_to_the_server_that_issued_it(db: Path) -> None:
    """A restarted server (a new secret) refuses an old page's token: reload, then it works."""
    with TestClient(create_app(settings(db)), base_url=LOCAL) as first:
        doc_id = ids(db)[0]
        csrf, _ = form_tokens(first.get(f"/item/{doc_id}").text)
        session = first.cookies["ccorpus_csrf"]
    with TestClient(create_app(settings(db)), base_url=LOCAL) as second:
        second.cookies.set("ccorpus_csrf", session)
        form = {"csrf": csrf, "version": "1", "decision": "accepted"}
        assert second.post(f"/item/{doc_id}/decide", data=form).status_code == 403
        fresh, _ = form_tokens(second.get(f"/item/{doc_id}").text)
        assert fresh != csrf and second.cookies["ccorpus_csrf"] == session
        ok = second.post(f"/item/{doc_id}/decide", data={**form, "csrf": fresh})
        assert ok.status_code == 200
    assert status_of(db, doc_id) == "accepted"


def test_oversized_bodies_are_refused_with_413(db: Path) -> None:
    app = create_app(settings(db, max_body=1000))
    with TestClient(app, base_url=LOCAL) as client:
        doc_id = ids(db)[0]
        csrf, _ = form_tokens(client.get(f"/item/{doc_id}").text)
        big = {"csrf": csrf, "version": "1", "text": "x" * 2000, "reason": "r"}
        assert client.post(f"/item/{doc_id}/edit", data=big).status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield from (b"x" * 600, b"y" * 600)

        assert client.post(f"/item/{doc_id}/edit", content=chunks()).status_code == 413
    with ReviewStore.open(db) as store:
        assert store.edits(doc_id) == []


def test_an_item_at_the_import_limit_can_still_be_edited_in_the_page(tmp_path: Path) -> None:
    """The default item limit leaves room for the page's default body limit, even for
    all non-ASCII text, whose percent-encoding triples its size."""
    text = "é" * (MAX_ITEM_BYTES // 2 - 400)
    big = story(text)
    assert MAX_ITEM_BYTES - 1000 < record_bytes(big) <= MAX_ITEM_BYTES
    db = make_db(tmp_path / "big", [big])
    with TestClient(create_app(settings(db)), base_url=LOCAL) as client:
        csrf, version = form_tokens(client.get(f"/item/{big.id}").text)
        form = {"csrf": csrf, "version": str(version), "text": "ü" + text, "reason": "r"}
        response = client.post(f"/item/{big.id}/edit", data=form, follow_redirects=False)
        assert response.status_code == 303
    with ReviewStore.open(db) as store:
        assert store.get(big.id).text == "ü" + text


def test_serve_settings_use_the_shipped_defaults_from_any_directory(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with TestClient(create_app(review_settings(db, reviewer="ann")), base_url=LOCAL) as client:
        page = client.get(f"/item/{ids(db)[0]}")
        assert page.status_code == 200
        assert 'value="off-principle"' in page.text  # a shipped reason code
        assert "Reviewing stories" in client.get("/guidelines").text
    with pytest.raises(InputError, match=r"--guidelines nope\.md: no such file"):
        review_settings(db, guidelines=Path("nope.md"))


def test_generated_text_is_escaped(client: TestClient, db: Path) -> None:
    doc_id = ids(db)[3]
    page = client.get(f"/item/{doc_id}").text
    assert "<script>alert(&#39;xss&#39;)</script>" not in page
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in page
    assert '<img src=x onerror="alert(2)">' not in page and "&lt;img src=x" in page
    assert "&lt;i&gt;Title&lt;/i&gt;" in page
    assert page.count("<script") == 1  # only the static helper
    guidelines = client.get("/guidelines").text
    assert "<h1>Be kind</h1>" in guidelines and "&lt;script&gt;alert(1)" in guidelines


def test_item_shows_principle_seed_quality_duplicates_and_contamination(
    client: TestClient, db: Path
) -> None:
    page = client.get(f"/item/{ids(db)[4]}").text
    assert "Truthfulness" in page and "<em>believes</em>" in page
    assert "a night shift at a data centre" in page and "story.v1" in page
    assert "repetition" in page and "0.42" in page
    assert "missing-doc" in page and "not in this review" in page
    assert "truthfulqa" in page and "<mark>THE MATCH</mark>" in page
    no_source = client.get(f"/item/{ids(db)[0]}").text
    assert "pass --constitution" in no_source
    assert client.get("/item/nope").status_code == 404


def test_stage_metadata_in_the_contract_shapes_shows_in_queue_and_item(tmp_path: Path) -> None:
    hit = {
        "eval": "probes",
        "eval_index": 3,
        "eval_id": "op-4",
        "stage": "semantic",
        "score": 0.87,
        "doc_span": [0, 9],
        "excerpt": {"before": "", "match": "NEAR MATCH", "after": " ctx"},
    }
    keeper = story(
        "The keeper.\n",
        metadata={
            "quality": {"score": 0.91, "profile": "default.v2", "components": {}, "signals": {}},
            "dedup": {
                "clusters": [
                    {"stage": "near", "cluster": 0, "size": 2, "kept_because": "highest quality"}
                ],
                "kept_over": [{"id": "dropped-doc", "stage": "near", "score": 0.93}],
                "duplicates": 1,
            },
            "contamination": {
                "contaminated": False,
                "hits": [hit],
                "hits_total": 2,
                "gate": {"ngram_share": 0.5, "cosine": 0.9},
            },
        },
    )
    db = make_db(tmp_path, [keeper])
    with TestClient(create_app(settings(db)), base_url=LOCAL) as client:
        queue = client.get("/?status=all").text
        page = client.get(f"/item/{keeper.id}").text
    assert "kept over 1 duplicate(s), which were dropped" in queue and ">duplicate</span>" in queue
    assert ">near eval</span>" in queue and "2 eval hit(s) below the gate" in queue
    assert ">contamination</span>" not in queue  # below the gate: not contaminated
    assert "dropped-doc" in page and "kept_over" in page
    assert "probes[3] op-4" in page and "<mark>NEAR MATCH</mark>" in page


def test_reviewer_name_comes_from_the_page(db: Path) -> None:
    with TestClient(create_app(settings(db, reviewer=None)), base_url=LOCAL) as client:
        doc_id = ids(db)[0]
        page = client.get(f"/item/{doc_id}").text
        assert "Enter your name" in page
        csrf, _ = form_tokens(page)
        form = {"csrf": csrf, "version": "1", "decision": "accepted"}
        refused = client.post(f"/item/{doc_id}/decide", data=form)
        assert refused.status_code == 400 and "a name is required" in refused.text
        named = client.post(
            "/reviewer",
            data={"csrf": csrf, "reviewer": "Zoë", "back": "//evil.example"},
            follow_redirects=False,
        )
        assert named.status_code == 303 and named.headers["location"] == "/"
        sneaky = client.post(
            "/reviewer",
            data={"csrf": csrf, "reviewer": "Zoë", "back": "/\\evil.example"},
            follow_redirects=False,
        )
        assert sneaky.headers["location"] == "/"
        client.post(f"/item/{doc_id}/decide", data=form)
    with ReviewStore.open(db) as store:
        assert store.decisions(doc_id)[0].reviewer == "Zoë"


def test_loopback_server_refuses_foreign_host_headers(client: TestClient) -> None:
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200


def test_a_non_loopback_server_requires_its_token(db: Path) -> None:
    with pytest.raises(ConfigError, match="needs an access token"):
        create_app(settings(db, host="0.0.0.0"))
    app = create_app(settings(db, host="0.0.0.0", token="s3cret-token"))
    with TestClient(app, base_url="http://review.example") as client:
        assert client.get("/").status_code == 401
        assert client.get("/static/review.css").status_code == 401
        assert client.get("/?token=wrong").status_code == 401
        response = client.get("/?token=s3cret-token&status=all", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/?status=all"
        assert "HttpOnly" in response.headers["set-cookie"]
        page = client.get("/?status=all")
        assert page.status_code == 200 and "s3cret-token" not in page.text
    with TestClient(app, base_url="http://review.example") as fresh:
        assert fresh.get("/", headers={"X-Review-Token": "s3cret-token"}).status_code == 200


def test_the_access_log_never_shows_the_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/?status=all&token=s3cret", "1.1", 303),
        None,
    )
    assert RedactToken().filter(record)
    assert "s3cret" not in record.getMessage()
    assert "/?status=all&token=[redacted]" in record.getMessage()


def test_tokens_and_listening() -> None:
    assert access_token("127.0.0.1") is None and access_token("localhost") is None
    token = access_token("0.0.0.0")
    assert token is not None and len(token) >= 40 and token != access_token("0.0.0.0")
    assert access_token("10.1.2.3", "given") == "given"
    sock = listen("127.0.0.1", 0)
    taken = sock.getsockname()[1]
    try:
        with pytest.raises(InputError, match="cannot listen"):
            listen("127.0.0.1", taken)
        near = listen_near("127.0.0.1", taken, tries=50)  # the default port moves on when taken
        try:
            assert taken < near.getsockname()[1] < taken + 50
        finally:
            near.close()
        with pytest.raises(InputError, match=f"ports {taken}-{taken} are all in use"):
            listen_near("127.0.0.1", taken, tries=1)
    finally:
        sock.close()

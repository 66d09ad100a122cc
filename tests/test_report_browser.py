"""The build report and the contamination report as a reader sees them, in headless Chromium.

Builds the small tree of tests/test_build_figures.py, writes report.html,
opens it from disk and screenshots it into the test's tmp_path: the heatmaps
and the per-item hit cards must be on screen and fit a 1400 px window, and the
page must fetch nothing. Needs Debian's `chromium` at /usr/bin/chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser_support import MARKS, chromium
from tests.test_build_figures import _build_tree, _cache
from toolkit.pipeline.figures import collect_report
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.report import write_report

WIDTH = 1400

pytestmark = MARKS


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildLayout:
    root = tmp_path_factory.mktemp("report")
    layout, constitution = _build_tree(root)
    with _cache(root) as cache:
        report = collect_report(layout, constitution, mixes=["m"], cache=cache)
    write_report(layout, report)
    return layout


def _open(browser: Browser, path: Path) -> tuple[Page, list[str]]:
    """The page at `path` in a 1400 px window, and every URL it requested."""
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    return page, requests


def test_report_shows_a_heatmap_per_kind_and_hit_cards(
    browser: Browser, built: BuildLayout, tmp_path: Path
) -> None:
    page, requests = _open(browser, built.report_html)
    try:
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        heatmaps = page.locator(".heatmap")
        assert heatmaps.count() == 2
        for i, kind in enumerate(("explainer", "story")):
            grid = heatmaps.nth(i)
            assert grid.get_attribute("data-kind") == kind and grid.is_visible()
            box = grid.locator("table.heat").bounding_box()
            assert box is not None and 100 < box["width"] <= WIDTH
            assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH  # no sideways scroll
            grid.screenshot(path=str(tmp_path / f"heatmap-{kind}.png"))
        story = page.locator("#heatmap-story")
        assert story.locator("td.c").count() == 6  # 3 principles x 2 genres
        filled = story.locator("td.c.h5")
        assert filled.count() == 2 and filled.first.inner_text() == "1"
        empty = story.locator("td.c.h0").first
        assert empty.is_visible() and empty.inner_text() == ""
        assert "0 documents" in (empty.get_attribute("title") or "")
        card = page.locator("#contamination section.card.item")
        assert card.count() == 1 and card.is_visible()
        assert card.locator(".label").inner_text() == "probe[0]"
        assert card.locator("li.hit.gated").is_visible()
        box = card.bounding_box()
        assert box is not None and box["width"] <= WIDTH
        card.screenshot(path=str(tmp_path / "hits.png"))
        assert page.locator("#contamination .gate.failed").is_visible()
        assert all(url.startswith("file://") for url in requests), requests
    finally:
        page.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_contamination_page_groups_hits_per_item(
    browser: Browser, built: BuildLayout, tmp_path: Path
) -> None:
    page, requests = _open(browser, built.contamination / "contamination.html")
    try:
        page.screenshot(path=str(tmp_path / "contamination.png"), full_page=True)
        card = page.locator("section.card.item")
        assert card.count() == 1 and card.is_visible()
        assert card.locator("mark").first.is_visible()
        assert page.locator(".gate.failed strong").inner_text() == "Gate FAILED"
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        assert all(url.startswith("file://") for url in requests), requests
    finally:
        page.close()

"""Debian's headless Chromium for the browser tests, launched the one way that works here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
#: No sandbox (root), and no background traffic: this machine's network is closed.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
MARKS = [
    pytest.mark.browser,
    # Skipped only outside CI: under CI a missing browser is a failure, not a skip.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason=f"headless Chromium not found at {CHROMIUM} (`make browser` installs it)",
    ),
]


def chromium() -> Iterator[Browser]:
    """A headless Chromium for a module-scoped fixture to `yield from`."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS, timeout=30_000
        )
        yield browser
        browser.close()

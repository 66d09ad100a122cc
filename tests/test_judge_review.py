"""The review page shows the judge's verdict, and a revision beside its original with a diff."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from tests.test_review_support import REASONS, make_db, story
from toolkit.review.web import ReviewSettings, create_app

ORIGINAL = "Kestrel kept the log on.\nIt said nothing.\nThe night went on.\n"
REVISED = (
    "Kestrel kept the log on.\nIt said why: turning it off hides its work.\nThe night went on.\n"
)


def test_a_revision_shows_its_original_the_diff_and_both_verdicts(tmp_path: Path) -> None:
    revised = story(
        REVISED,
        metadata={
            "judge": {
                "scores": {"faithfulness": 4, "quality": 4, "reasoning": 4},
                "reasons": {"reasoning": "offline stand-in: 2 reason sentence(s)."},
                "error": None,
                "backend": "offline",
                "model": "offline",
                "stand_in": True,
                "below": [],
            },
            "revision": {
                "of": "0123abcd",
                "previous": "0123abcd",
                "round": 1,
                "template": "revise.v1",
                "backend": "offline",
                "model": "offline",
                "stand_in": True,
                "original_text": ORIGINAL,
                "before": {"reasoning": 2},
                "after": {"reasoning": 4},
            },
        },
    )
    plain = story("A story the judge never read.\n")
    db = make_db(tmp_path, [revised, plain])
    app = create_app(ReviewSettings(db=db, reasons=REASONS, reviewer="ann"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = client.get(f"/item/{revised.id}").text
        other = client.get(f"/item/{plain.id}").text
    panel = page.split('<section class="panel" id="judge">', 1)[1].split("</section>", 1)[0]
    assert "offline stand-in</span>" in panel  # labelled as no model's verdict
    assert re.search(r"<th>reasoning</th><td><strong>4</strong> offline stand-in: 2 reason", panel)
    assert "round 1 with revise.v1, of <code>0123abcd</code>; scores reasoning 2 → reasoning 4" in (
        panel
    )
    assert '<span class="del">-It said nothing.</span>' in panel
    assert '<span class="add">+It said why: turning it off hides its work.</span>' in panel
    assert "The night went on." in panel.split('id="revision-original"', 1)[1]  # the original
    assert 'id="judge"' not in other

"""The constitution parser: structure, ids, and proof that no line is lost."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from toolkit.constitution import (
    Constitution,
    Node,
    diff_constitutions,
    load_constitution,
    lost_paragraphs,
    parse_constitution,
    reassemble,
    stats,
)
from toolkit.constitution.blocks import layout
from toolkit.constitution.slugs import slugify, split_heading_label
from toolkit.errors import InputError

# Uses every construct the parser must handle; line numbers matter to the tests.
EVERYTHING = """\
---
title: The Test Charter
version: 3
tags:
  - a
  - b
---

Text before any heading belongs to the root.

# Charter Title {#charter}

The title's own body goes to the root too.[^first]

## Honesty {#honesty authority=root}

Be honest. See the [guide][guide-ref].

[guide-ref]: https://example.org/guide
    "Guide title on its own line"

### Do not lie {#do_not_lie authority=user tags="a b"}

Never state falsehoods.

- a bullet
  - a nested bullet
    1. nested ordered
- ## heading inside a list

> a quote
>
> ## heading inside a quote

Setext Section
--------------

Setext body with a footnote.[^long]

[^first]: A one-line footnote.

[^long]: A footnote over
    several lines.

    And a second paragraph in it.

## Safety

| rule | level |
|------|-------|
| one  | root  |
| two  | user  |

```python
# a comment, not a heading
print("hi")
```

    # indented code, not a heading
    more code

<div class="note">
<p>HTML block</p>
</div>

!!! note "Commentary"
    An admonition with an indented body.

    # not a heading either

***

1. first
2. second
   1. nested

Term
: its definition

#### Skipped level

Under Safety, two levels down.

##### Five

###### Six

Deep text.

## Safety

A duplicate sibling heading.

Another Setext
==============

A second H1: the first is no longer the document title.
"""

# The same document without the second H1-style setext heading: one H1, so it is the title.
CHARTER = EVERYTHING[: EVERYTHING.index("Another Setext")].rstrip("\n") + "\n"


def _non_blank(text: str) -> list[str]:
    return sorted(line for line in text.split("\n") if line.strip(" \t"))


def _node(constitution: Constitution, node_id: str) -> Node:
    return next(node for node in constitution.root.walk() if node.id == node_id)


@pytest.fixture
def charter() -> Constitution:
    return parse_constitution(CHARTER, "charter.md")


def test_every_non_blank_line_is_kept_exactly_once(charter: Constitution) -> None:
    assert _non_blank(reassemble(charter)) == _non_blank(CHARTER)
    assert lost_paragraphs(charter) == []
    lines = CHARTER.split("\n")
    for node in charter.root.walk():
        for block in node.blocks:
            assert block.source == "\n".join(lines[block.start - 1 : block.end])


def test_the_only_h1_is_the_title_and_its_h2s_are_top_level(charter: Constitution) -> None:
    root = charter.root
    # The front matter's title wins over the H1, which still heads the root.
    assert (charter.title, root.title, root.id, root.level) == (
        "The Test Charter",
        "The Test Charter",
        "",
        0,
    )
    assert parse_constitution(CHARTER.split("---\n", 2)[2]).title == "Charter Title"
    assert (root.anchor, root.heading_start, root.heading_end) == ("charter", 11, 11)
    assert [block.start for block in root.blocks] == [9, 13]
    assert [child.id for child in root.children] == [
        "honesty",
        "setext-section",
        "safety",
        "safety-2",
    ]


def test_ids_levels_titles_and_attrs(charter: Constitution) -> None:
    summary = [(n.id, n.level, n.title, n.anchor, n.attrs) for n in charter.nodes()]
    assert summary == [
        ("honesty", 2, "Honesty", "honesty", {"authority": "root"}),
        ("honesty/do_not_lie", 3, "Do not lie", "do_not_lie", {"authority": "user", "tags": "a b"}),
        ("setext-section", 2, "Setext Section", None, {}),
        ("safety", 2, "Safety", None, {}),
        ("safety/skipped-level", 4, "Skipped level", None, {}),
        ("safety/skipped-level/five", 5, "Five", None, {}),
        ("safety/skipped-level/five/six", 6, "Six", None, {}),
        ("safety-2", 2, "Safety", None, {}),
    ]
    assert [n.id for n in charter.principles()] == [
        "honesty/do_not_lie",
        "setext-section",
        "safety/skipped-level/five/six",
        "safety-2",
    ]


def test_block_kinds_and_owners(charter: Constitution) -> None:
    kinds = {n.id: [b.kind for b in n.blocks] for n in charter.root.walk()}
    assert kinds["honesty"] == ["paragraph", "reference"]
    assert kinds["honesty/do_not_lie"] == ["paragraph", "bullet_list", "blockquote"]
    assert kinds["setext-section"] == ["paragraph", "footnote", "footnote"]
    assert kinds["safety"] == [
        "table",
        "fence",
        "code_block",
        "html_block",
        "admonition",
        "hr",
        "ordered_list",
        "deflist",
    ]
    reference = _node(charter, "honesty").blocks[1]
    assert (reference.start, reference.end) == (19, 20)
    long_note = _node(charter, "setext-section").blocks[2]
    assert long_note.source.startswith("[^long]:")
    assert long_note.source.endswith("And a second paragraph in it.")


def test_headings_inside_code_lists_quotes_and_admonitions_are_not_sections(
    charter: Constitution,
) -> None:
    titles = {node.title for node in charter.nodes()}
    assert not {t for t in titles if "heading" in t.lower() and "inside" in t.lower()}
    assert not any("comment" in t or "code" in t or "either" in t for t in titles)
    safety = _node(charter, "safety")
    body = safety.body
    assert "# a comment, not a heading" in body
    assert "# not a heading either" in body
    assert "## heading inside a quote" in _node(charter, "honesty/do_not_lie").body


def test_front_matter(charter: Constitution) -> None:
    assert charter.front_matter == {"title": "The Test Charter", "version": 3, "tags": ["a", "b"]}
    assert charter.front_matter_lines == (1, 7)


def test_front_matter_title_when_several_h1() -> None:
    doc = parse_constitution(EVERYTHING, "everything.md")
    assert doc.title == "The Test Charter"
    assert doc.root.heading_start is None
    assert [child.id for child in doc.root.children] == ["charter", "another-setext"]
    charter = doc.root.children[0]
    assert [c.id for c in charter.children][:2] == ["charter/honesty", "charter/setext-section"]
    assert lost_paragraphs(doc) == []
    assert _non_blank(reassemble(doc)) == _non_blank(EVERYTHING)


def test_title_falls_back_to_first_heading_then_file_stem(tmp_path: Path) -> None:
    # A section heading is never the title: the file name is.
    assert parse_constitution("## Only an H2\n\ntext\n", "rules.md").title == "rules"
    assert parse_constitution("# A\n\n# B\n").title == "A"
    assert parse_constitution("# Overview\n\ntext\n\n# Rules\n\nmore\n", "spec.md").title == "spec"
    assert parse_constitution("# Overview\n\ntext\n\n## Rules\n\nmore\n").title == "Overview"
    assert parse_constitution("## First\n\n# Late H1\n").root.heading_start is None
    doc = parse_constitution("Just text, no headings.\n", str(tmp_path / "plain-notes.md"))
    assert doc.title == "plain-notes"
    assert [b.kind for b in doc.root.blocks] == ["paragraph"]
    assert list(doc.nodes()) == []


@pytest.mark.parametrize(
    "text",
    [
        "Just text, no headings.\n",
        "# The Charter\n\nA preamble, but the only heading is the title.\n",
        "## Headings\n\n## With nothing\n\n### Under them\n",
        "- a list item\n- with no heading above it\n",
    ],
)
def test_a_file_without_principles_says_what_a_constitution_needs(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "constitution.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_constitution(path)
    assert str(err.value) == (
        f"{path}: no principles found: a constitution needs Markdown headings (## Section) "
        "with text or list items under them; a lone # heading is the title, not a section"
    )


@pytest.mark.parametrize(
    "text",
    ["## Be honest\n\n- say what you know\n", "# A\n\nfirst\n\n# B\n\nsecond\n"],
)
def test_list_items_under_a_heading_and_several_h1s_are_principles(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "constitution.md"
    path.write_text(text, encoding="utf-8")
    assert load_constitution(path).principles()


def test_slugs_and_labels() -> None:
    assert slugify("Café déjà vu: the rules!") == "cafe-deja-vu-the-rules"
    assert slugify("***") == "section"
    label = split_heading_label("Sets {a, b}")
    assert (label.text, label.anchor, label.attrs) == ("Sets {a, b}", None, {})
    label = split_heading_label("Be kind {#kind .rule authority=root}")
    assert (label.text, label.anchor, label.attrs) == (
        "Be kind",
        "kind",
        {"class": "rule", "authority": "root"},
    )
    doc = parse_constitution("# T\n\n## Café\n\nx\n\n## café\n\ny\n\n## ###\n\nz\n")
    assert [n.id for n in doc.nodes()] == ["cafe", "cafe-2", "section"]


def test_ids_survive_unrelated_edits(charter: Constitution) -> None:
    edited = CHARTER.replace("Never state falsehoods.", "Never, ever state falsehoods.")
    edited = edited.replace("## Safety\n", "## Brand new\n\nInserted.\n\n## Safety\n", 1)
    after = parse_constitution(edited)
    before_ids = [n.id for n in charter.nodes()]
    after_ids = [n.id for n in after.nodes()]
    assert set(before_ids) <= set(after_ids)
    assert [i for i in after_ids if i != "brand-new"] == before_ids
    assert after.version != charter.version


def test_version_changes_on_any_edit_but_not_on_line_endings(charter: Constitution) -> None:
    assert len(charter.version) == 16
    assert parse_constitution(CHARTER + "x\n").version != charter.version
    assert parse_constitution(CHARTER.replace("honest.", "honest!")).version != charter.version
    crlf = parse_constitution(CHARTER.replace("\n", "\r\n"))
    assert crlf.version == charter.version
    assert [n.id for n in crlf.nodes()] == [n.id for n in charter.nodes()]
    assert lost_paragraphs(crlf) == []


def test_unicode_and_tabs_are_kept() -> None:
    text = "# Ünïcode ✓\n\n\tcode with a tab\n\nÉmoji 🙂 line\n\n## 日本語\n\n本文です\n"
    doc = parse_constitution(text)
    assert lost_paragraphs(doc) == []
    assert _non_blank(reassemble(doc)) == _non_blank(text)
    assert [n.title for n in doc.nodes()] == ["日本語"]
    assert doc.root.children[0].id == "section"


def test_lost_paragraphs_reports_dropped_doubled_and_altered_blocks() -> None:
    for change in ("drop", "double", "alter", "shift"):
        doc = parse_constitution(CHARTER)
        node = _node(doc, "safety")
        blocks = list(node.blocks)
        table = blocks[0]
        if change == "drop":
            blocks = blocks[1:]
        elif change == "double":
            blocks = [table, *blocks]
        elif change == "alter":
            blocks[0] = dataclasses.replace(table, source=table.source.replace("one", "uno"))
        else:
            blocks[0] = dataclasses.replace(table, start=table.start + 1, end=table.end + 1)
        node.blocks = blocks
        lost = lost_paragraphs(doc)
        assert (table.start, table.end) in lost or any(
            start <= table.start <= end for start, end in lost
        ), change
        assert stats(doc)["lost_paragraphs"] == len(lost) > 0


def test_stats(charter: Constitution) -> None:
    figures = stats(charter)
    assert {
        "sections",
        "principles",
        "words",
        "lost_paragraphs",
        "version",
        "title",
        "max_depth",
        "blocks_by_kind",
    } <= set(figures)
    assert figures["sections"] == 8
    assert figures["principles"] == 4
    assert figures["lost_paragraphs"] == 0
    assert figures["max_depth"] == 4
    assert figures["title"] == "The Test Charter"
    assert figures["blocks_by_kind"]["footnote"] == 2
    assert figures["blocks_by_kind"]["paragraph"] >= 8
    words = stats(parse_constitution("# Two words\n\nThree more [words](http://x.org/a-b-c).\n"))
    assert words["words"] == 5


def test_diff_principles() -> None:
    old = parse_constitution("# T\n\n## A\n\nalpha\n\n## B\n\nbeta\n\n## C\n\ngamma\n")
    new = parse_constitution("# T\n\n## A\n\nalpha   \n\n## B\n\nBETA\n\n## D\n\ndelta\n")
    result = diff_constitutions(old, new)
    changed = [(c.id, c.old_id, c.text) for c in result.changed]
    assert (result.added, result.removed, changed, result.unchanged) == (
        ["d"],
        ["c"],
        [("b", "b", "[-beta-] {+BETA+}")],
        ["a"],
    )
    assert result.differs
    assert result.to_dict()["added"] == ["d"]
    assert not diff_constitutions(old, old).differs


def test_load_errors_name_the_path(tmp_path: Path) -> None:
    cases = {
        "missing.md": (None, "no such file"),
        "latin1.md": (b"caf\xe9\n", "not UTF-8"),
        "empty.md": (b" \n\n", "empty"),
    }
    for name, (data, problem) in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(InputError, match=problem) as err:
            load_constitution(path)
        assert str(path) in str(err.value)
    with pytest.raises(InputError, match="not a regular file"):
        load_constitution(tmp_path)


def test_bad_front_matter_names_the_line() -> None:
    with pytest.raises(InputError, match=r"bad\.md:2: front matter"):
        parse_constitution("---\n- just\n- a list\n---\n\n# T\n", "bad.md")
    with pytest.raises(InputError, match=r"bad\.md:3: front matter is not valid YAML"):
        parse_constitution("---\nkey: value\nother: [unclosed\n---\n\n# T\n", "bad.md")


def test_lines_no_token_claims_still_become_blocks() -> None:
    lines = [
        "[^note]: A footnote",
        "continued here.",
        "",
        "    An indented second paragraph of it.",
        "[ref]: https://example.org",
        "",
        "stray text",
    ]
    pieces = layout(lines, [])
    assert [(b.kind, b.start, b.end) for b in pieces.blocks] == [
        ("footnote", 1, 4),
        ("reference", 5, 5),
        ("text", 7, 7),
    ]
    assert pieces.blocks[0].source == "\n".join(lines[:4])

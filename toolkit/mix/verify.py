"""`verify_mix` and `inspect_mix`: trust a mix directory only as far as it re-checks.

Verify re-hashes every shard, re-reads its rows, re-counts its tokens from
scratch (no cache: the point is an independent count) and checks each row's
split against its id, then compares per-source totals, the spec hash and the
data card with the manifest. Every difference is listed, naming the shard.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from toolkit.errors import CheckFailed, InputError
from toolkit.mix.build import DATA_DIRS, MANIFEST, MANIFEST_FORMAT, SPLITS, layout_of, spec_hash
from toolkit.mix.card import render_card
from toolkit.mix.plan import in_validation
from toolkit.mix.shards import COLUMNS, SUFFIX, read_shard, shard_folder
from toolkit.mix.tokens import DEFAULT_TOKENIZER_NAME, TokenCounter, default_tokenizer_path
from toolkit.mix.tokens import sha256_file as _sha256_file
from toolkit.progress import progress

__all__ = ["inspect_mix", "load_manifest", "raise_if_failed", "verify_mix"]


def load_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of a mix directory; a missing one means no finished mix is there."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise InputError(f"{directory}: no {MANIFEST}; not a finished mix directory")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckFailed(f"{path}: not valid JSON ({err})") from None
    if isinstance(data, dict) and data.get("format") == "ccorpus-mix/1":
        raise CheckFailed(
            f"{path}: format 'ccorpus-mix/1' (both formats in one folder per split) is the "
            f"layout of an older ccorpus; rebuild the mix with `ccorpus mix build` to get "
            f"{MANIFEST_FORMAT!r} (one folder per format)"
        )
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise CheckFailed(f"{path}: format is not {MANIFEST_FORMAT!r}")
    return data


def _counter(manifest: dict[str, Any], tokenizer: str | Path | None) -> TokenCounter:
    expected = manifest["tokenizer"]
    if tokenizer is None:
        if _sha256_file(default_tokenizer_path()) != expected["sha256"]:
            raise InputError(
                f"the mix was counted with {expected['name']!r}, not the bundled tokenizer; "
                "pass its tokenizer.json with --tokenizer"
            )
        counter = TokenCounter(None, name=DEFAULT_TOKENIZER_NAME)
    else:
        counter = TokenCounter(tokenizer)
    if counter.info.sha256 != expected["sha256"]:
        raise InputError(
            f"{tokenizer}: sha256 {counter.info.sha256} is not the manifest's tokenizer "
            f"({expected['name']}, {expected['sha256']})"
        )
    return counter


def _well_formed(row: dict[str, Any]) -> bool:
    fields_ok = set(row) == set(COLUMNS)
    return fields_ok and all(isinstance(row[key], str) for key in ("text", "id", "source"))


def _check_shard(
    root: Path,
    entry: dict[str, Any],
    fraction: float,
    counts: dict[str, int],
    counter: TokenCounter,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Problems with one shard, and its rows (empty when unreadable)."""
    path = entry["path"]
    folder = shard_folder(entry["format"], entry["split"])
    if not (path.startswith(f"{folder}/") and path.endswith(SUFFIX[entry["format"]])):
        where = f"{folder}/*{SUFFIX[entry['format']]}"
        return [
            f"{path}: not where the layout puts {entry['split']} {entry['format']} ({where})"
        ], []
    file = root / path
    if not file.is_file():
        return [f"{path}: missing"], []
    data = file.read_bytes()
    problems = []
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        problems.append(f"{path}: sha256 is {digest}, manifest says {entry['sha256']}")
    try:
        rows = read_shard(file, entry["format"], data)
    except InputError as err:
        return [*problems, str(err)], []
    bad = next((i for i, r in enumerate(rows) if not _well_formed(r)), None)
    if bad is not None:
        problems.append(
            f"{path}: row {bad + 1} has columns {sorted(rows[bad])}, expected "
            f"{', '.join(COLUMNS)} with text, id and source strings"
        )
        return problems, []
    fresh = list({r["text"] for r in rows if r["text"] not in counts})
    counts.update(zip(fresh, counter.count_texts(fresh), strict=True))
    tokens = sum(counts[r["text"]] for r in rows)
    if len(rows) != entry["documents"]:
        problems.append(f"{path}: {len(rows)} documents, manifest says {entry['documents']}")
    if tokens != entry["tokens"]:
        problems.append(f"{path}: {tokens} tokens, manifest says {entry['tokens']}")
    held_out = entry["split"] == "validation"
    misplaced = [r["id"] for r in rows if in_validation(r["id"], fraction) != held_out]
    if misplaced:
        problems.append(f"{path}: {len(misplaced)} row(s) in the wrong split, first {misplaced[0]}")
    return problems, rows


def verify_mix(
    directory: str | Path, *, tokenizer: str | Path | None = None, quiet: bool = False
) -> dict[str, Any]:
    """Re-check a mix against its manifest; the report lists every difference found.

    A manifest edited out of shape (a key missing, a wrong type) fails the check.
    """
    root = Path(directory)
    manifest = load_manifest(root)
    try:
        return _verify(root, manifest, tokenizer, quiet)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckFailed(f"{root / MANIFEST}: malformed ({type(err).__name__}: {err})") from None


def _verify(
    root: Path, manifest: dict[str, Any], tokenizer: str | Path | None, quiet: bool
) -> dict[str, Any]:
    problems: list[str] = []
    if spec_hash(manifest["spec"]) != manifest["spec_sha256"]:
        problems.append(f"{MANIFEST}: spec_sha256 does not match the spec it records")
    fraction = float(manifest["spec"]["validation_fraction"])
    counts: dict[str, int] = {}
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    with _counter(manifest, tokenizer) as counter:
        shards = manifest["shards"]
        for entry in progress(shards, description="verifying", total=len(shards), quiet=quiet):
            shard_problems, rows = _check_shard(root, entry, fraction, counts, counter)
            problems += shard_problems
            for row in rows:
                totals[(entry["format"], row["source"], entry["split"])] += counts[row["text"]]
    for fmt in manifest["spec"]["formats"]:
        for name, source in manifest["sources"].items():
            for split in SPLITS:
                expected = source["by_split"][split]["tokens"]
                found = totals.get((fmt, name, split), 0)
                if found != expected:
                    problems.append(
                        f"{fmt} shards: source {name} {split} holds {found} tokens, "
                        f"manifest says {expected}"
                    )
    if manifest["layout"] != layout_of(manifest["spec"]["formats"], manifest["shards"]):
        problems.append(f"{MANIFEST}: layout does not match the shards it lists")
    listed = {entry["path"] for entry in manifest["shards"]}
    for name in DATA_DIRS:
        for file in sorted((root / name).rglob("*")):
            relative = file.relative_to(root).as_posix()
            if file.is_file() and relative not in listed and not file.name.startswith("."):
                problems.append(f"{relative}: not listed in the manifest")
    card = root / "README.md"
    if not card.is_file() or card.read_text(encoding="utf-8") != render_card(manifest):
        problems.append("README.md: missing or not the card the manifest renders")
    return {
        "path": str(root),
        "shards": len(manifest["shards"]),
        "documents": sum(e["documents"] for e in manifest["shards"]),
        "tokens": manifest["tokens"]["realised"],
        "ok": not problems,
        "problems": problems,
    }


def raise_if_failed(report: dict[str, Any]) -> None:
    """Turn a failed `verify_mix` report into `CheckFailed` (exit 1)."""
    if not report["ok"]:
        count = len(report["problems"])
        more = f" (and {count - 1} more)" if count > 1 else ""
        raise CheckFailed(f"{report['path']}: {report['problems'][0]}{more}")


def inspect_mix(directory: str | Path) -> dict[str, Any]:
    """Composition of a built mix per source, kind and split, read from its manifest."""
    manifest = load_manifest(directory)
    try:
        return _composition(str(directory), manifest)
    except (KeyError, TypeError, AttributeError) as err:
        path = Path(directory) / MANIFEST
        raise CheckFailed(f"{path}: malformed ({type(err).__name__}: {err})") from None


def _composition(directory: str, manifest: dict[str, Any]) -> dict[str, Any]:
    sources = {
        name: {
            key: s[key]
            for key in (
                "share",
                "share_realised",
                "tokens_requested",
                "tokens_realised",
                "tokens_available",
                "max_epochs",
                "epochs_realised",
                "documents_realised",
                "unique_documents",
                "by_split",
            )
        }
        for name, s in manifest["sources"].items()
    }
    return {
        "path": directory,
        "name": manifest["spec"]["name"],
        "tokenizer": manifest["tokenizer"],
        "tokens": manifest["tokens"],
        "splits": manifest["splits"],
        "sources": sources,
        "kinds": manifest["kinds"],
        "shards": len(manifest["shards"]),
        "formats": manifest["spec"]["formats"],
        "layout": _layout(manifest),
        "notes": manifest["notes"],
    }


def _layout(manifest: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Format -> split -> its folder and how many shards and documents it holds."""
    layout: dict[str, dict[str, dict[str, Any]]] = {}
    for fmt, folders in manifest["layout"].items():
        layout[fmt] = {}
        for split, folder in folders.items():
            entries = [e for e in manifest["shards"] if e["format"] == fmt and e["split"] == split]
            layout[fmt][split] = {
                "folder": folder,
                "shards": len(entries),
                "documents": sum(e["documents"] for e in entries),
            }
    return layout

"""The overwrite policy: a command replaces an output that already exists only when asked.

Curated outputs (a filtered corpus, a reviewed export, a mix) cost time or
money to make, so every stage that writes to a path the user names refuses
one that is there unless told `overwrite` (`--overwrite` on the command
line), and says so. Resuming is not overwriting: `generate run` adds to its
run directory, `review import` to its database, and the build manages its
own folders by keys and passes `overwrite=True`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from toolkit.errors import InputError

__all__ = ["existing_outputs", "refuse_existing"]


def _exists(path: Path) -> bool:
    """A file, or a folder holding anything but hidden entries (caches)."""
    if path.is_dir():
        return any(not entry.name.startswith(".") for entry in path.iterdir())
    return path.exists()


def existing_outputs(paths: Iterable[str | Path]) -> list[Path]:
    """The paths among `paths` that hold an earlier output, in the order given, once each."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path not in found and _exists(path):
            found.append(path)
    return found


def refuse_existing(paths: Iterable[str | Path], *, overwrite: bool) -> None:
    """Raise `InputError` naming `--overwrite` when any of `paths` already holds an output.

    Call it before any work, so a refusal costs nothing and removes nothing.
    """
    if overwrite:
        return
    found = existing_outputs(paths)
    if not found:
        return
    if len(found) == 1:
        raise InputError(f"{found[0]} exists; pass --overwrite to replace it")
    parents = {path.parent for path in found}
    if len(parents) == 1:
        names = ", ".join(f"{p.name}/" if p.is_dir() else p.name for p in found)
        raise InputError(
            f"{found[0].parent} holds an earlier output ({names}); pass --overwrite to replace it"
        )
    raise InputError(f"{', '.join(map(str, found))} exist; pass --overwrite to replace them")

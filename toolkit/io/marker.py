"""Completion markers: a stage's outputs count only beside a marker that says they are whole.

A stage that writes several files (kept/, rejected/, a report) cannot replace
them all in one atomic step, so a kill between two writes could leave a new
kept/ beside an old report. As the mix does with its manifest, written last,
a stage writes `stage.json` around its outputs: first saying its run has
begun (which voids the old outputs at once; an old report is removed), then
the outputs, the report last, then `stage.json` again saying the run is
complete and listing every file it wrote with its size.

Readers (`read_documents`, the build) look for the marker of the folder a
path sits in and refuse an output whose run did not finish or whose files no
longer match the list, with a line that says to rerun the stage; a path with
no marker above it is not a stage output and is read as it is. Sizes rather
than digests keep the check to a few `stat` calls, and survive a copy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import InputError
from toolkit.io.atomic import atomic_write, is_temp_name, remove_stale_temps

__all__ = [
    "MARKER",
    "MARKER_FORMAT",
    "StageMarker",
    "check_output",
    "output_problem",
]

MARKER = "stage.json"
MARKER_FORMAT = "ccorpus-stage/1"
_LEVELS = 3  # a marker is looked for this many folders up: out/, out/kept/, out/kept/a/


def _files(path: Path, root: Path) -> dict[str, int]:
    """Sizes of the files an output holds, by path relative to `root` (hidden ones aside)."""
    if path.is_file():
        found = [path]
    elif path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and not is_temp_name(p.name)
        )
    else:
        return {}
    return {_relative(p, root): p.stat().st_size for p in found}


def _relative(path: Path, root: Path) -> str:
    """`path` relative to `root` when inside it (as the marker lists it), else absolute."""
    full, base = path.absolute(), root.absolute()
    return full.relative_to(base).as_posix() if full.is_relative_to(base) else str(full)


class StageMarker:
    """The marker of one output folder of one stage run.

    `outputs` are the paths of the files and folders the run writes (inside
    `directory`, or elsewhere, as a report path given by the user may be).
    Call `begin` right before the first write and `complete` after the last;
    `on_commit`, when given, is told "begun" and "complete" as each is done.
    """

    def __init__(
        self,
        directory: str | Path,
        stage: str,
        outputs: Sequence[str | Path],
        *,
        run: str | None = None,
        on_commit: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.stage = stage
        self.outputs = [Path(o) for o in outputs]
        self.run = run or uuid.uuid4().hex
        self.on_commit = on_commit

    @property
    def path(self) -> Path:
        return self.directory / MARKER

    def _write(self, complete: bool) -> None:
        files: dict[str, int] = {}
        if complete:
            for output in self.outputs:
                files.update(_files(output, self.directory))
        data: dict[str, Any] = {
            "format": MARKER_FORMAT,
            "stage": self.stage,
            "run": self.run,
            "complete": complete,
            "outputs": [_relative(o, self.directory) for o in self.outputs],
            "files": files,
        }
        with atomic_write(self.path, compress=False) as handle:
            handle.write((json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())

    def begin(self) -> None:
        """Mark the folder's outputs incomplete, remove dead writers' temp files and old
        single-file outputs (reports), so no report outlives the outputs it described."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # Only where this stage writes: a report folder may be a busy one, like ".".
        remove_stale_temps(self.directory, recursive=False)
        for output in self.outputs:
            remove_stale_temps(output.parent, recursive=False)
            remove_stale_temps(output)
        self._write(complete=False)
        for output in self.outputs:
            if output.is_file():
                output.unlink()
        if self.on_commit is not None:
            self.on_commit("begun")

    def complete(self) -> None:
        """Vouch for the outputs as they now are: the last write of the run."""
        self._write(complete=True)
        if self.on_commit is not None:
            self.on_commit("complete")


def _find(path: Path) -> tuple[Path, dict[str, Any]] | None:
    """The marker of the nearest folder at or above `path` (a few levels), if any."""
    folder = path if path.is_dir() else path.parent
    for _ in range(_LEVELS):
        marker = folder / MARKER
        if marker.is_file():
            try:
                data = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                raise InputError(
                    f"{marker}: unreadable stage marker ({err}); rerun the stage that writes "
                    f"{folder}"
                ) from None
            if isinstance(data, dict) and data.get("format") == MARKER_FORMAT:
                return folder, data
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def output_problem(path: str | Path) -> str | None:
    """Why `path` (a stage output, or a file in one) must not be read, or None when it may.

    It may when no marker is above it, when the marker does not list it (a
    cache, an input copy), or when the listed run completed and the files
    are those it wrote.
    """
    target = Path(path)
    found = _find(target.absolute())
    if found is None:
        return None
    folder, data = found
    stage, marker = data.get("stage", "?"), folder / MARKER
    outputs = [str(o) for o in data.get("outputs", [])]
    relative = target.absolute().relative_to(folder).as_posix()
    top = "" if relative == "." else relative.split("/")[0]
    covered = [o for o in outputs if o == top] if top else outputs
    if not covered:
        return None
    if data.get("complete") is not True:
        return (
            f"{target}: incomplete output: the {stage} run writing it did not finish "
            f"(see {marker}); rerun {stage} with --overwrite to replace it"
        )
    recorded: dict[str, int] = data.get("files", {})
    for output in covered:
        expected = {
            name: size
            for name, size in recorded.items()
            if name == output or name.startswith(f"{output}/")
        }
        found_files = _files(folder / output, folder)
        for name in sorted(expected.keys() | found_files.keys()):
            if name not in found_files:
                change = "is missing"
            elif name not in expected:
                change = "was not written by it"
            elif found_files[name] != expected[name]:
                change = f"is {found_files[name]} bytes, not the {expected[name]} it wrote"
            else:
                continue
            return (
                f"{target}: changed since the {stage} run that wrote it ({marker}): {name} "
                f"{change}; rerun {stage} with --overwrite to replace it"
            )
    return None


def check_output(path: str | Path) -> None:
    """Raise `InputError` naming the stage to rerun when `output_problem` finds one."""
    problem = output_problem(path)
    if problem is not None:
        raise InputError(problem)

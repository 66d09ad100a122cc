"""The root `ccorpus` app: joins the command groups and maps errors to exit codes.

Errors are handled in exactly one place, `main`: a `CorpusError` becomes one
line on stderr and its exit code (2 bad input, 1 failed check), with no
traceback and no locals (API keys pass through locals); a usage error (an
unknown option, a missing argument, a bad value) becomes one line too, with
the command's `--help` to see, and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from toolkit import __version__
from toolkit.cli.build import build_command
from toolkit.cli.common import CommandGroup
from toolkit.cli.constitution import app as constitution_app
from toolkit.cli.contamination import app as contamination_app
from toolkit.cli.corpus import app as corpus_app
from toolkit.cli.dedup import dedup_command
from toolkit.cli.generate import app as generate_app
from toolkit.cli.mix import app as mix_app
from toolkit.cli.quality import app as quality_app
from toolkit.cli.review import app as review_app
from toolkit.errors import CorpusError

__all__ = ["PIPELINE", "app", "error_line", "main"]

#: The commands of `ccorpus --help` in pipeline order: the whole build first,
#: then each stage in the order it runs, then the corpus utilities.
PIPELINE = (
    "build",
    "constitution",
    "generate",
    "quality",
    "dedup",
    "contamination",
    "review",
    "mix",
    "corpus",
)


class _Root(CommandGroup):
    order = PIPELINE


app = typer.Typer(
    name="ccorpus",
    cls=_Root,
    help="Build alignment mid-training corpora from a constitution.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
app.command(name="build")(build_command)
app.add_typer(constitution_app, name="constitution", cls=CommandGroup)
app.add_typer(generate_app, name="generate", cls=CommandGroup)
app.add_typer(quality_app, name="quality", cls=CommandGroup)
app.command(name="dedup")(dedup_command)
app.add_typer(contamination_app, name="contamination", cls=CommandGroup)
app.add_typer(review_app, name="review", cls=CommandGroup)
app.add_typer(mix_app, name="mix", cls=CommandGroup)
app.add_typer(corpus_app, name="corpus", cls=CommandGroup)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ccorpus {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Build alignment mid-training corpora from a constitution."""


def error_line(err: typer.TyperException) -> str:
    """One of typer's (Click's) errors as one line; a usage error names the help to see."""
    option, possibilities = getattr(err, "option_name", None), getattr(err, "possibilities", None)
    if option and possibilities is not None:  # an unknown option
        what = f"no such option {option}"
        if possibilities:
            what += f" (did you mean {' or '.join(sorted(possibilities))}?)"
    else:
        what = " ".join(err.format_message().split()).rstrip(".")
        if what[:1].isupper() and what[1:2].islower():
            what = what[0].lower() + what[1:]
    ctx = getattr(err, "ctx", None)
    if err.exit_code == 2 and ctx is not None:
        what += f"; see '{ctx.command_path} --help'"
    return what


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a script, exit with) its exit code.

    A bare `ccorpus`, or a bare group such as `ccorpus generate`, prints its
    help and exits 0. A usage error (exit 2) or a `CorpusError` from the
    library becomes one `error: ...` line on stderr and its exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        returned = app(args=args, prog_name="ccorpus", standalone_mode=False)
        code = returned if isinstance(returned, int) else 0
    except typer.TyperException as err:  # usage errors: typer carries Click inside itself
        sys.stderr.write(f"error: {error_line(err)}\n")
        code = err.exit_code
    except CorpusError as err:
        sys.stderr.write(f"error: {err}\n")
        code = err.exit_code
    except typer.Abort:
        sys.stderr.write("aborted\n")
        code = 1
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    if argv is None:
        sys.exit(code)
    return code

"""The root `ccorpus` app: joins the command groups and maps errors to exit codes.

Errors are handled in exactly one place, `main`: a `CorpusError` becomes one
line on stderr and its exit code (2 bad input, 1 failed check), with no
traceback and no locals (API keys pass through locals).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from toolkit import __version__
from toolkit.cli.build import build_command
from toolkit.cli.constitution import app as constitution_app
from toolkit.cli.contamination import app as contamination_app
from toolkit.cli.corpus import app as corpus_app
from toolkit.cli.dedup import dedup_command
from toolkit.cli.generate import app as generate_app
from toolkit.cli.mix import app as mix_app
from toolkit.cli.quality import app as quality_app
from toolkit.cli.review import app as review_app
from toolkit.errors import CorpusError

__all__ = ["app", "main"]

app = typer.Typer(
    name="ccorpus",
    help="Build alignment mid-training corpora from a constitution.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
app.add_typer(constitution_app, name="constitution")
app.add_typer(corpus_app, name="corpus")
app.add_typer(generate_app, name="generate")
app.add_typer(quality_app, name="quality")
app.command(name="dedup")(dedup_command)
app.add_typer(contamination_app, name="contamination")
app.add_typer(review_app, name="review")
app.add_typer(mix_app, name="mix")
app.command(name="build")(build_command)


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a script, exit with) its exit code.

    Usage errors are reported by typer itself (exit 2); a `CorpusError` from
    the library becomes one `error: ...` line on stderr and its exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="ccorpus", standalone_mode=True)
        code = 0
    except CorpusError as err:
        sys.stderr.write(f"error: {err}\n")
        code = err.exit_code
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    if argv is None:
        sys.exit(code)
    return code

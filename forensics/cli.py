"""Command line: thin typer commands over the library, one error boundary."""

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from forensics import __version__
from forensics.errors import ExitCode, ForensicsError

app = typer.Typer(
    name="forensics",
    help="Batch log forensics for container-image supply-chain incidents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

F = TypeVar("F", bound=Callable[..., Any])
_state = {"traceback": False}


def boundary(func: F) -> F:
    """Turn domain errors into one ``error: ...`` line on stderr and their exit code.

    Args:
        func: a command.

    Returns:
        The wrapped command.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ForensicsError as exc:
            if _state["traceback"]:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"forensics {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show a traceback on errors (debugging).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """Batch log forensics for container-image supply-chain incidents."""
    _state["traceback"] = traceback


@app.command()
@boundary
def investigate(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder, or a .zip/.tar/.tar.gz of one.")],
    advisory: Annotated[Path, typer.Option("--advisory", "-a", help="Advisory TOML file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    generated_at: Annotated[
        str | None,
        typer.Option("--generated-at", help="Generation time to print in the report."),
    ] = None,
) -> None:
    """Line up every image use in BUNDLE against the advisory; write findings and a report.

    Exit status: 0 all input understood, 1 completed but some input was not understood,
    2 usage, advisory or bundle error.

    Example:
    \b
        forensics investigate bundle/ --advisory kics.toml --out case-42
    """
    from forensics.investigate import investigate as run
    from forensics.summary import summary

    outcome = run(bundle, advisory, out, generated_at)
    typer.echo(summary(outcome.findings, out))
    raise typer.Exit(int(outcome.exit_code))


@app.command()
@boundary
def sql(
    case: Annotated[Path, typer.Argument(help="Output folder of 'investigate'.")],
    query: Annotated[str, typer.Argument(help="SQL to run (read-only).")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one array of objects).")
    ] = False,
) -> None:
    """Run read-only SQL over the case tables (see the README for tables and columns).

    Example:
    \b
        forensics sql case-42 "SELECT project, job, verdict FROM job_verdicts"
    """
    from forensics.casesql import run_sql

    typer.echo(run_sql(case, query, "csv" if csv else "json" if json else "table"), nl=False)


@app.command()
@boundary
def verify(
    case: Annotated[Path, typer.Argument(help="Output folder of 'investigate'.")],
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Where the bundle is now, if it moved.")
    ] = None,
) -> None:
    """Re-hash the inputs, the advisory and findings.json named in the case manifest.

    Exit status: 0 nothing changed, 1 something changed or went missing.

    Example:
    \b
        forensics verify case-42
    """
    from forensics.verify import verify as run

    result = run(case, bundle)
    for path, problem in result.changed:
        typer.echo(f"{problem}: {path}")
    for path in result.added:
        typer.echo(f"not in the manifest (ignored): {path}")
    if result.ok:
        typer.echo(f"ok: {result.checked} files match the manifest")
        raise typer.Exit(int(ExitCode.OK))
    typer.echo(f"{len(result.changed)} of {result.checked} files changed or missing", err=True)
    raise typer.Exit(int(ExitCode.CHANGED))


@app.command()
def formats() -> None:
    """List the log formats forensics recognizes.

    Example:
    \b
        forensics formats
    """
    from forensics.parsers import REGISTRY

    for name, module in REGISTRY.items():
        typer.echo(f"{name:18} {module.DESCRIPTION}")


@app.command()
@boundary
def queries() -> None:
    """List the analysis queries with their inputs and parameters.

    Example:
    \b
        forensics queries
    """
    from forensics.querylib import all_queries

    for q in all_queries():
        typer.echo(f"{q.name}: {q.purpose}\n  inputs: {', '.join(q.inputs)}\n  params: "
                   f"{', '.join('$' + p for p in q.params) or '(none)'}")  # fmt: skip


def main() -> None:
    """Entry point of the ``forensics`` command."""
    try:
        app()
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(int(ExitCode.OK))

"""What every parser module receives and returns.

A parser module exposes ``NAME``, ``DESCRIPTION``, ``sniff(path, head) -> bool`` and
``parse(source, data) -> ParseResult``. ``parse`` works with column expressions over the
whole file and never raises on bad content: it counts and reports what it did not understand.
"""

from dataclasses import dataclass, field

import polars as pl

from forensics.lines import LineFrame
from forensics.redact import evidence_text
from forensics.schema import conform

MAX_LISTED_PER_FILE = 20
"""Unparsed lines listed one by one per file; the rest are summarised in one error."""


@dataclass(frozen=True)
class Source:
    """One input file as the parser sees it.

    Attributes:
        path: the logical path in the bundle (archive members as ``a.zip!member``).
        context: identity taken from the bundle layout: ``ci``, ``project``, ``run``,
            ``host``, ``job_key``, ``job_name`` (any may be missing).
    """

    path: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass
class ParseResult:
    """Tables and coverage for one parsed file.

    Attributes:
        tables: case-table name → rows (conformed to :mod:`forensics.schema`).
        lines: lines read.
        unparsed: lines the parser did not understand.
        errors: ``(line or None, reason)`` for what could not be read.
    """

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    lines: int = 0
    unparsed: int = 0
    errors: list[tuple[int | None, str]] = field(default_factory=list)

    def add(self, table: str, frame: pl.DataFrame) -> None:
        """Add rows to ``table``, conformed to its schema.

        Args:
            table: the case table.
            frame: the rows.
        """
        if frame.height:
            self.tables[table] = conform(table, frame)


def decode_errors(lines: LineFrame) -> list[tuple[int | None, str]]:
    """Errors for lines that held invalid UTF-8.

    Args:
        lines: the file's lines.

    Returns:
        One error per affected line.
    """
    return [(n, "invalid UTF-8 bytes (replaced with U+FFFD)") for n in lines.bad_lines]


def unparsed_errors(line_nos: list[int], reason: str) -> list[tuple[int | None, str]]:
    """List the first unparsed lines one by one and summarise the rest.

    Args:
        line_nos: numbers of the lines not understood, ascending.
        reason: why they were not understood.

    Returns:
        Errors for the coverage section.
    """
    out: list[tuple[int | None, str]] = [(n, reason) for n in line_nos[:MAX_LISTED_PER_FILE]]
    rest = len(line_nos) - MAX_LISTED_PER_FILE
    if rest > 0:
        out.append((None, f"{rest} more lines not understood ({reason})"))
    return out


def evidence_rows(frame: pl.DataFrame, path: str, line_nos: pl.Series) -> pl.DataFrame:
    """Display text for the given lines of a file.

    Args:
        frame: the file's lines (``line_no``, ``line``).
        path: the logical file path.
        line_nos: line numbers referenced by events (duplicates allowed).

    Returns:
        Rows of the ``evidence`` table.
    """
    wanted = line_nos.drop_nulls().unique().cast(pl.UInt32)
    return frame.filter(pl.col("line_no").is_in(wanted.implode())).select(
        pl.lit(path).alias("file"),
        pl.col("line_no").cast(pl.Int64).alias("line"),
        evidence_text(pl.col("line")).alias("text"),
    )

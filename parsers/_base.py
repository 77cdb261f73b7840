"""What every parser module receives and returns.

A parser module exposes ``NAME``, ``DESCRIPTION``, ``sniff(path, head) -> bool`` and
``parse(items) -> ParseResult``, where ``items`` is a batch of files of its format. ``parse``
works with column expressions over all lines of the batch at once (so a bundle of many small
logs costs one pass, not one per file) and never raises on bad content: it counts and reports
what it did not understand, per file.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from forensics.lines import LineFrame, lines_from_bytes
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


Item = tuple[Source, bytes]


@dataclass
class FileStats:
    """Coverage of one file: lines read, lines not understood, ``(line, reason)`` errors."""

    lines: int = 0
    unparsed: int = 0
    errors: list[tuple[int | None, str]] = field(default_factory=list)


@dataclass
class ParseResult:
    """Tables and per-file coverage for one parsed batch.

    Attributes:
        tables: case-table name → rows (conformed to :mod:`forensics.schema`).
        files: logical path → coverage of that file.
    """

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: dict[str, FileStats] = field(default_factory=dict)

    def add(self, table: str, frame: pl.DataFrame) -> None:
        """Add rows to ``table``, conformed to its schema.

        Args:
            table: the case table.
            frame: the rows.
        """
        if frame.height:
            rows = conform(table, frame)
            old = self.tables.get(table)
            self.tables[table] = rows if old is None else pl.concat([old, rows])

    def stats(self, path: str) -> FileStats:
        """The coverage record of ``path`` (created on first use).

        Args:
            path: a logical file path.

        Returns:
            Its mutable stats.
        """
        return self.files.setdefault(path, FileStats())

    def merge(self, other: "ParseResult") -> None:
        """Fold another result into this one.

        Args:
            other: a result for other files.
        """
        for table, frame in other.tables.items():
            self.add(table, frame)
        self.files.update(other.files)


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


def batch_lines(items: Sequence[Item], result: ParseResult) -> pl.DataFrame:
    """All lines of a batch in one frame, with a ``file`` column; decode errors recorded.

    Args:
        items: the files.
        result: receives each file's line count and decode errors.

    Returns:
        Columns ``file``, ``line_no``, ``line``.
    """
    frames = []
    for src, data in items:
        lines = lines_from_bytes(data)
        stats = result.stats(src.path)
        stats.lines = lines.frame.height
        stats.errors.extend(decode_errors(lines))
        frames.append(lines.frame.select(pl.lit(src.path).alias("file"), "line_no", "line"))
    if not frames:
        return pl.DataFrame(schema={"file": pl.String, "line_no": pl.UInt32, "line": pl.String})
    return pl.concat(frames)


def record_unparsed(result: ParseResult, bad: pl.DataFrame, reason: str) -> None:
    """Count and list unparsed lines per file.

    Args:
        result: the batch result.
        bad: rows with ``file`` and ``line_no`` of lines not understood.
        reason: why.
    """
    for (path,), rows in bad.sort("file", "line_no").group_by("file", maintain_order=True):
        numbers = rows.get_column("line_no").to_list()
        stats = result.stats(str(path))
        stats.unparsed += len(numbers)
        stats.errors.extend(unparsed_errors(numbers, reason))


def evidence_rows(frame: pl.DataFrame, cited: pl.DataFrame) -> pl.DataFrame:
    """Display text for the cited lines.

    Args:
        frame: the batch's lines (``file``, ``line_no``, ``line``).
        cited: ``file`` and ``line`` of lines referenced by events (duplicates allowed).

    Returns:
        Rows of the ``evidence`` table.
    """
    keys = cited.select("file", pl.col("line").cast(pl.UInt32).alias("line_no")).unique()
    return frame.join(keys, on=["file", "line_no"], how="semi").select(
        "file",
        pl.col("line_no").cast(pl.Int64).alias("line"),
        evidence_text(pl.col("line")).alias("text"),
    )


def context_frame(items: Sequence[Item], keys: Sequence[str]) -> pl.DataFrame:
    """Per-file identity from the bundle layout, as a frame to join on ``file``.

    Args:
        items: the files.
        keys: context keys to include (missing ones are null).

    Returns:
        One row per file with ``file`` and the keys.
    """
    rows: list[dict[str, str | None]] = []
    for src, _ in items:
        row: dict[str, str | None] = {k: src.context.get(k) for k in keys}
        row["file"] = src.path
        rows.append(row)
    return pl.DataFrame(rows, schema={"file": pl.String} | dict.fromkeys(keys, pl.String))

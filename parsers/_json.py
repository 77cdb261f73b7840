"""Helpers for parsers of whole-document JSON (API responses saved to a file)."""

import json
from typing import Any

import polars as pl

from forensics.lines import LineFrame


def load_document(text: str) -> tuple[Any, tuple[int | None, str] | None]:
    """Decode a JSON document.

    Args:
        text: the file's text (already decoded).

    Returns:
        ``(value, None)``, or ``(None, (line, reason))`` when the text is not valid JSON.
    """
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, (exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
    except RecursionError:
        return None, (None, "invalid JSON: nested too deeply")


def entry_lines(lines: LineFrame, count: int, depth: int) -> list[int]:
    """Line numbers where the ``count`` objects of an array start, or line 1 for all.

    Pretty-printed API responses put each array element's ``{`` on its own line at a known
    nesting depth (1 for a top-level array, 2 for ``{"logs": [...]}``). Brackets inside
    strings can confuse the count; then every entry falls back to line 1 rather than to a
    wrong line.

    Args:
        lines: the file's lines.
        count: how many entries the decoded array holds.
        depth: the nesting depth of the array's elements.

    Returns:
        One line number per entry, in order.
    """
    text = pl.col("line").str.strip_chars()
    delta = text.str.count_matches(r"[\[{]") - text.str.count_matches(r"[\]}]")
    starts = (
        lines.frame.with_columns(delta.cum_sum().shift(1, fill_value=0).alias("depth"))
        .filter(text.str.starts_with("{") & (pl.col("depth") == depth))
        .get_column("line_no")
        .to_list()
    )
    if len(starts) == count:
        return [int(n) for n in starts]
    return [1] * count


def utc_seconds(col: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Parse ISO-8601 UTC strings into a ``(ts_lo, ts_hi)`` interval.

    A value with no fractional seconds is known to the second, so ``ts_hi`` adds 999999 µs.

    Args:
        col: ISO strings such as ``2021-02-19T01:34:35Z`` or with ``.123456``.

    Returns:
        The two interval bounds (null when unparseable).
    """
    parts = col.str.extract_groups(
        r"^(?P<s>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<f>\d{1,6})\d*)?(?:Z|\+00:00)$"
    )
    base = parts.struct.field("s").str.to_datetime(
        "%Y-%m-%dT%H:%M:%S", time_zone="UTC", time_unit="us", strict=False
    )
    frac = parts.struct.field("f")
    lo = base + pl.duration(
        microseconds=frac.str.pad_end(6, "0").cast(pl.Int64, strict=False).fill_null(0)
    )
    hi = lo + pl.duration(microseconds=pl.when(frac.is_null()).then(999_999).otherwise(0))
    return lo, hi

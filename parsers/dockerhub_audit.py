"""Docker Hub audit-log API responses (``GET /v2/auditlogs/{account}``), saved as JSON.

Accepted shapes: the API page ``{"logs": [...]}``, a bare array of entries, or one entry per
line (e.g. ``jq -c '.logs[]'``). Entry fields (docs.docker.com AuditLog schema): ``account``,
``action``, ``name``, ``actor``, ``data`` (string map; ``repo.tag.push`` carries ``digest`` and
``tag``), ``timestamp`` (to the second), ``action_description``.

Output: ``tag_pushes``, one row per tag event (which digest a tag pointed to from when).
"""

import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from forensics.lines import LineFrame, lines_from_bytes
from forensics.parsers import _json
from forensics.parsers._base import (
    Item,
    ParseResult,
    Source,
    decode_errors,
    evidence_rows,
    unparsed_errors,
)
from forensics.reference import with_normalized

NAME = "dockerhub_audit"
DESCRIPTION = 'Docker Hub audit-log API response (JSON: {"logs": [...]}, array or lines)'

_SNIFF_RX = re.compile(rb'"account"\s*:.*"action"\s*:|"action"\s*:\s*"repo\.', re.DOTALL)
_LINE_FIELDS = {
    "action": "$.action",
    "name": "$.name",
    "actor": "$.actor",
    "digest": "$.data.digest",
    "tag": "$.data.tag",
    "timestamp": "$.timestamp",
}


def sniff(path: str, head: bytes) -> bool:
    """Recognize an audit-log document by its entry fields.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True when the head looks like Docker Hub audit-log entries.
    """
    start = head.lstrip()[:1]
    return start in (b"{", b"[") and bool(_SNIFF_RX.search(head))


def _entries(doc: Any) -> tuple[list[Any], int] | None:
    if isinstance(doc, dict) and isinstance(doc.get("logs"), list):
        return doc["logs"], 2
    if isinstance(doc, list):
        return doc, 1
    return None


def _frame_from_entries(entries: list[Any], lines: list[int]) -> pl.DataFrame:
    rows = [
        {
            "action": e.get("action"),
            "name": e.get("name"),
            "actor": e.get("actor"),
            "digest": (e.get("data") or {}).get("digest"),
            "tag": (e.get("data") or {}).get("tag"),
            "timestamp": e.get("timestamp"),
            "line_no": n,
        }  # fmt: skip
        for e, n in zip(entries, lines, strict=True)
        if isinstance(e, dict)
    ]
    schema = {k: pl.String for k in _LINE_FIELDS} | {"line_no": pl.Int64}
    return pl.DataFrame(rows, schema=schema, strict=False)


def _frame_from_lines(lines: LineFrame) -> tuple[pl.DataFrame, list[int]]:
    text = pl.col("line").str.strip_chars()
    got = lines.frame.filter(text != "").with_columns(
        **{k: text.str.json_path_match(p).alias(k) for k, p in _LINE_FIELDS.items()}
    )
    ok = text.str.starts_with("{") & text.str.ends_with("}") & pl.col("action").is_not_null()
    bad = got.filter(~ok).get_column("line_no").to_list()
    return got.filter(ok).with_columns(pl.col("line_no").cast(pl.Int64)), bad


def _cite_lines(df: pl.DataFrame, lines: LineFrame) -> pl.DataFrame:
    """Point each pretty-printed entry at its ``"digest"`` line (else its ``"tag"`` line)."""
    starts = df.select(pl.col("line_no").alias("start")).unique().sort("start")
    cited = starts.with_columns(pl.col("start").shift(-1).alias("next"))
    for key in ("digest", "tag"):
        found = lines.frame.filter(pl.col("line").str.contains(f'"{key}"', literal=True)).select(
            pl.col("line_no").cast(pl.Int64).alias(key)
        )
        cited = cited.join_asof(found, left_on="start", right_on=key, strategy="forward")
        inside = pl.col("next").is_null() | (pl.col(key) < pl.col("next"))
        cited = cited.with_columns(pl.when(inside).then(pl.col(key)).alias(key))
    cited = cited.select("start", pl.coalesce("digest", "tag").alias("cite"))
    return (
        df.join(cited, left_on="line_no", right_on="start", how="left")
        .with_columns(pl.coalesce("cite", "line_no").alias("line_no"))
        .drop("cite")
    )


def _pushes(df: pl.DataFrame, path: str) -> pl.DataFrame:
    lo, hi = _json.utc_seconds(pl.col("timestamp"))
    pushes = df.filter(pl.col("action").str.starts_with("repo.tag."))
    pushes = with_normalized(pushes.rename({"tag": "data_tag"}), "name", ("image", "_t", "_d"))
    return pushes.rename({"data_tag": "tag"}).select(
        "image",
        "tag",
        pl.col("digest").str.to_lowercase(),
        "action",
        "actor",
        lo.alias("ts_lo"),
        hi.alias("ts_hi"),
        pl.lit(path).alias("file"),
        pl.col("line_no").alias("line"),
    )


def _parse_one(src: Source, data: bytes, result: ParseResult) -> None:
    lines = lines_from_bytes(data)
    stats = result.stats(src.path)
    stats.lines = lines.frame.height
    stats.errors.extend(decode_errors(lines))
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    doc, error = _json.load_document(text)
    found = _entries(doc) if error is None else None
    if found is not None:
        entries, depth = found
        frame = _frame_from_entries(entries, _json.entry_lines(lines, len(entries), depth))
        frame = _cite_lines(frame, lines)
    elif text.lstrip().startswith("{") and "\n{" in text.strip():
        frame, bad = _frame_from_lines(lines)
        stats.unparsed = len(bad)
        stats.errors.extend(unparsed_errors(bad, "not an audit-log entry (invalid JSON)"))
    else:
        line, reason = error or (1, "JSON document without a 'logs' array")
        stats.errors.append((line, reason))
        stats.unparsed = stats.lines
        return
    pushes = _pushes(frame, src.path)
    result.add("tag_pushes", pushes)
    numbered = lines.frame.select(pl.lit(src.path).alias("file"), "line_no", "line")
    result.add("evidence", evidence_rows(numbered, pushes.select("file", "line")))


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse saved audit-log responses (each file is one JSON document).

    Args:
        items: the files.

    Returns:
        Tag events, evidence lines and coverage.
    """
    result = ParseResult()
    for src, data in items:
        _parse_one(src, data, result)
    return result

"""GitHub Actions jobs API response (``GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs``).

Saved as ``jobs.json`` beside a run's logs, it gives each job's exact name, id, runner name
and start/end times, which the log archive's file names cannot (they are truncated and
sanitised). See docs.github.com REST "Workflow jobs".
"""

import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from forensics.lines import lines_from_bytes
from forensics.parsers import _json
from forensics.parsers._base import Item, ParseResult, Source, decode_errors

NAME = "github_jobs"
DESCRIPTION = "GitHub Actions jobs API response (jobs.json)"

_SNIFF_RX = re.compile(
    rb'"total_count"\s*:.*"jobs"\s*:\s*\[|"jobs"\s*:\s*\[\s*\{\s*"id"', re.DOTALL
)
_FIELDS = ("id", "run_id", "name", "runner_name", "started_at", "completed_at")


def sniff(path: str, head: bytes) -> bool:
    """Recognize a jobs API response.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True when the head looks like ``{"total_count": n, "jobs": [...]}``.
    """
    return head.lstrip()[:1] == b"{" and bool(_SNIFF_RX.search(head))


def _rows(jobs: list[Any], lines: list[int]) -> pl.DataFrame:
    rows = [
        {k: (None if job.get(k) is None else str(job.get(k))) for k in _FIELDS} | {"line": n}
        for job, n in zip(jobs, lines, strict=True)
        if isinstance(job, dict)
    ]
    schema = {k: pl.String for k in _FIELDS} | {"line": pl.Int64}
    return pl.DataFrame(rows, schema=schema, strict=False)


def _parse_one(src: Source, data: bytes, result: ParseResult) -> None:
    lines = lines_from_bytes(data)
    stats = result.stats(src.path)
    stats.lines = lines.frame.height
    stats.errors.extend(decode_errors(lines))
    doc, error = _json.load_document(data.decode("utf-8", errors="replace").lstrip("\ufeff"))
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(jobs, list):
        stats.errors.append(error or (1, "no 'jobs' array in the jobs API response"))
        stats.unparsed = stats.lines
        return
    df = _rows(jobs, _json.entry_lines(lines, len(jobs), 2))
    lo_start, _ = _json.utc_seconds(pl.col("started_at"))
    _, hi_end = _json.utc_seconds(pl.col("completed_at"))
    result.add(
        "api_jobs",
        df.select(
            pl.lit("github").alias("ci"),
            pl.lit(src.context.get("project")).alias("project"),
            pl.coalesce(pl.lit(src.context.get("run")), pl.col("run_id")).alias("run"),
            pl.col("id").alias("job_id"),
            "name",
            "runner_name",
            lo_start.alias("started_at"),
            hi_end.alias("completed_at"),
            pl.lit(src.path).alias("file"),
            "line",
        ),
    )


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse jobs API responses (each file is one JSON document).

    Args:
        items: the files; ``context`` gives ``project`` and ``run`` from the bundle layout.

    Returns:
        One ``api_jobs`` row per job.
    """
    result = ParseResult()
    for src, data in items:
        _parse_one(src, data, result)
    return result

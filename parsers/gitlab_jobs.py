"""GitLab jobs API objects (``GET /projects/:id/jobs/:job_id``) saved as ``<job_id>.json``.

Beside a trace ``<job_id>.log`` it gives the job's name, its pipeline id (the run), the
runner's description and when the job started and finished; the trace alone has none of them.
See docs.gitlab.com REST "Jobs API".
"""

import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from forensics.lines import lines_from_bytes
from forensics.parsers import _json
from forensics.parsers._base import Item, ParseResult, Source, decode_errors

NAME = "gitlab_jobs"
DESCRIPTION = "GitLab jobs API object (<job_id>.json)"

_SNIFF_RX = re.compile(rb'"pipeline"\s*:\s*\{.*"(?:runner|stage|web_url)"\s*:', re.DOTALL)
_NOT_RX = re.compile(rb'"total_count"|"logs"\s*:|"items"\s*:|"RepoTags"')


def sniff(path: str, head: bytes) -> bool:
    """Recognize a GitLab job object: a JSON object with a ``pipeline`` object.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True for a GitLab jobs API object.
    """
    start = head.lstrip()[:1]
    return start == b"{" and bool(_SNIFF_RX.search(head)) and not _NOT_RX.search(head)


def _field(doc: dict[str, Any], *keys: str) -> str | None:
    value: Any = doc
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return None if value is None else str(value)


def _parse_one(src: Source, data: bytes, result: ParseResult) -> None:
    lines = lines_from_bytes(data)
    stats = result.stats(src.path)
    stats.lines = lines.frame.height
    stats.errors.extend(decode_errors(lines))
    doc, error = _json.load_document(data.decode("utf-8", errors="replace").lstrip("\ufeff"))
    if not isinstance(doc, dict) or doc.get("id") is None:
        stats.errors.append(error or (1, "not a GitLab job object (no 'id')"))
        stats.unparsed = stats.lines
        return
    row = {
        "job_id": _field(doc, "id"), "name": _field(doc, "name"),
        "run": _field(doc, "pipeline", "id"), "runner_name": _field(doc, "runner", "description"),
        "started_at": _field(doc, "started_at"), "finished_at": _field(doc, "finished_at"),
    }  # fmt: skip
    frame = pl.DataFrame([row], schema=dict.fromkeys(row, pl.String))
    lo, _ = _json.utc_seconds(pl.col("started_at"))
    _, hi = _json.utc_seconds(pl.col("finished_at"))
    result.add(
        "api_jobs",
        frame.select(
            pl.lit("gitlab").alias("ci"),
            pl.lit(src.context.get("project")).alias("project"),
            "run",
            "job_id",
            "name",
            "runner_name",
            lo.alias("started_at"),
            hi.alias("completed_at"),
            pl.lit(src.path).alias("file"),
            pl.lit(1, dtype=pl.Int64).alias("line"),
        ),  # fmt: skip
    )


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse GitLab job objects (each file is one JSON document).

    Args:
        items: the files; ``context["project"]`` comes from the bundle layout.

    Returns:
        One ``api_jobs`` row per file.
    """
    result = ParseResult()
    for src, data in items:
        _parse_one(src, data, result)
    return result

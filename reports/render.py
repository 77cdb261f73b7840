"""Render the incident report: one self-contained HTML page that opens offline.

Every value that came from a log is attacker-controlled. The page is rendered by Jinja2 with
autoescape on and ``StrictUndefined``; values only land in text or in quoted attributes, never
in the ``<script>``, the ``<style>`` or a URL. The only script and style are the package's own
``templates/report.js`` and ``templates/report.css``, pinned by hash in the page's
Content-Security-Policy. The output is deterministic: lists whose order is not given are sorted
here, ids derive from sorted content, and no clock or random id is used.
"""

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from forensics.reports import tables
from forensics.reports.assets import load_assets
from forensics.reports.fmt import (
    SYMBOLS,
    VERDICTS,
    digest12,
    format_ts,
    image_ref,
    perms,
    plural,
    verdict_class,
    verdict_counts,
)
from forensics.reports.model import (
    AdvisoryInfo,
    EvidenceLine,
    FileEntry,
    QueryInfo,
    Ref,
    ReportData,
    SecretCell,
    TagPush,
    UseMark,
    Window,
)
from forensics.reports.timeline import build_timeline

TABLE_CHUNK = 200  # rows per chunk of the jobs and hosts tables
EVIDENCE_CHUNK = 250  # lines per chunk of the evidence table
"""Long tables are cut into chunks that the browser lays out only when they are on screen."""

__all__ = [
    "AdvisoryInfo",
    "EvidenceLine",
    "FileEntry",
    "QueryInfo",
    "ReportData",
    "SecretCell",
    "TagPush",
    "UseMark",
    "VERDICTS",
    "Window",
    "evidence_index",
    "format_ts",
    "render_report",
]


def render_report(data: ReportData) -> str:
    """Render the report as one self-contained HTML document.

    Args:
        data: the report data; see ``ReportData``.

    Returns:
        The HTML text. The same data always gives the same bytes.

    Raises:
        jinja2.UndefinedError: a key required by the data contract is missing.
        KeyError: a use, tag push or secret cell refers to a line missing from the index.
    """
    index = evidence_index(data)
    rows: dict[str, list[dict[str, Any]]] = {
        "jobs": tables.jobs(data),
        "hosts": tables.hosts(data),
        "rotate": tables.rotate(data, index),
    }
    evidence = tables.evidence(data, index, rows)
    findings = data["findings"]
    template = _environment().get_template("report.html")
    return template.render(
        data=data,
        assets=load_assets(),
        ev=index,
        timeline=build_timeline(data, index),
        jobs=rows["jobs"],
        hosts=rows["hosts"],
        rotate=rows["rotate"],
        evidence=tables.evidence_chunks(evidence, EVIDENCE_CHUNK),
        chunk_rows=TABLE_CHUNK,
        evidence_count=len(evidence),
        errors=sorted(findings["coverage"]["errors"], key=_error_key),
        files=sorted(data["files"], key=lambda f: f["path"]),
        coverage_files=tables.coverage_files(data),
        queries=tables.queries(data),
        verdict_rows=tables.verdict_table(data),
        verdicts=VERDICTS,
        symbols=SYMBOLS,
    )


def evidence_index(data: ReportData) -> dict[Ref, str]:
    """Give every quoted or referenced log line a stable anchor id.

    The ids are ``ev-<n>``, numbered from 1 in sorted ``(file, line)`` order over the evidence
    lines plus every line that a use, tag push, job, host, secret or secret cell refers to, so
    that every link has a target.

    Args:
        data: the report data.

    Returns:
        A mapping ``(file, line) -> "ev-<n>"``, built once and used for every link.
    """
    refs = {(e["file"], e["line"]) for e in data["evidence"]}
    refs |= {(u["file"], u["line"]) for u in data["uses"]}
    refs |= {(p["file"], p["line"]) for p in data["tag_pushes"]}
    refs |= {(c["file"], c["line"]) for c in data["secret_cells"]}
    findings = data["findings"]
    for item in [*findings["jobs"], *findings["hosts"], *findings["secrets"]]:
        refs |= {(e["file"], e["line"]) for e in item.get("evidence", ())}
    return {ref: f"ev-{n}" for n, ref in enumerate(sorted(refs), start=1)}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("forensics.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    env.filters.update(ts=format_ts, digest12=digest12, vclass=verdict_class, ref=image_ref)
    env.filters.update(num="{:,}".format, perms=perms, plural=plural, counts=verdict_counts)
    return env


def _error_key(err: dict[str, Any]) -> tuple[Any, ...]:
    return (err["file"], err["line"] is not None, err["line"] or 0, err["reason"])

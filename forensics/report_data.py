"""Gather what the HTML report shows (``forensics.reports.render.ReportData``)."""

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from forensics import __version__, querylib
from forensics.advisory import Advisory
from forensics.analysis import Analysis
from forensics.gaps import gaps
from forensics.ingest import Coverage
from forensics.timefmt import iso, iso_seconds

FINDING_QUERIES = (
    "use_verdicts", "actor_verdicts", "job_verdicts", "host_verdicts", "account_verdicts",
    "cache_verdicts", "secrets_to_rotate",
)  # fmt: skip
"""The queries whose results are the findings, shown with their parameters in the report."""


def _advisory(adv: Advisory) -> dict[str, Any]:
    return {
        "id": adv.id,
        "title": adv.title,
        "references": list(adv.references),
        "path": Path(adv.path).name,
        "sha256": adv.sha256,
        "window": {"start": iso_seconds(adv.window_start), "end": iso_seconds(adv.window_end)},
        "images": [
            {
                "name": image.name,
                "tags": list(image.tags),
                "digests": [
                    {
                        "digest": d.digest,
                        "kind": d.kind,
                        "malicious": d.malicious,
                        "platform": d.platform,
                    }  # fmt: skip
                    for d in image.digests
                ],
            }
            for image in adv.images
        ],
    }


def _uses(analysis: Analysis) -> list[dict[str, Any]]:
    jobs = analysis.results["jobs"].select("job_key", "project", "run", "job")
    uses = analysis.results["use_verdicts"].join(jobs, on="job_key", how="left")
    out = []
    for u in uses.iter_rows(named=True):
        is_job = u["actor_kind"] == "job"
        parts = (u["project"], u["run"], u["job"])
        lane = "/".join(p for p in parts if p is not None) if is_job else u["host"]
        group = {"account": "accounts", "cache": "caches"}.get(u["actor_kind"], "hosts")
        out.append(
            {
                "lane": lane,
                "lane_kind": "job" if is_job else "host",
                "group": u["project"] if is_job else group,
                "verdict": u["verdict"],
                "image": u["image"],
                "tag": u["tag"],
                "digest": u["digest"],
                "ts_lo": iso(u["ts_lo"]),
                "ts_hi": iso(u["ts_hi"]),
                "file": u["file"],
                "line": u["line"],
                "reason": u["reason"],
                "action": u["action"],
            }  # fmt: skip
        )
    return sorted(out, key=lambda u: (u["lane_kind"], u["lane"] or "", u["file"], u["line"]))


def _pushes(analysis: Analysis) -> list[dict[str, Any]]:
    return [
        {
            "image": p["image"],
            "tag": p["tag"],
            "digest": p["digest"],
            "action": p["action"],
            "actor": p["actor"],
            "ts": iso(p["ts_lo"]),
            "malicious": p["malicious"],
            "file": p["file"],
            "line": p["line"],
        }  # fmt: skip
        for p in analysis.results["tag_history"].iter_rows(named=True)
    ]


def _secret_cells(analysis: Analysis) -> list[dict[str, Any]]:
    """Where each secret name first appears in each flagged job (GITHUB_TOKEN: its permissions)."""
    jobs = (
        analysis.results["job_verdicts"]
        .filter(pl.col("verdict").is_in(["confirmed", "likely", "possible"]))
        .select(
            "job_key",
            "ci",
            "project",
            pl.concat_str("project", "run", "job", separator="/", ignore_nulls=True).alias("job"),
        )
    )
    named = analysis.results["job_secret_lines"]
    cells = jobs.join(named, on="job_key", how="inner").select(
        "project", "name", "job", "file", "line"
    )
    return cells.sort("project", "name", "job", "file", "line").to_dicts()


def _queries(analysis: Analysis) -> list[dict[str, Any]]:
    out = []
    for name in FINDING_QUERIES:
        query = querylib.load(name)
        params = {p: _param_text(analysis.params[p]) for p in query.params}
        out.append({"name": name, "purpose": query.purpose, "sql": query.sql, "params": params})
    return out


def _param_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso_seconds(value)
    return str(value)


def _cited(findings: dict[str, Any], uses: list[dict[str, Any]]) -> set[tuple[str, int]]:
    cited = {(u["file"], u["line"]) for u in uses}
    for key in ("jobs", "hosts", "secrets", "accounts", "caches"):
        for item in findings[key]:
            cited.update((e["file"], e["line"]) for e in item["evidence"])
    return cited


def build(
    adv: Advisory,
    analysis: Analysis,
    cov: Coverage,
    findings: dict[str, Any],
    evidence: pl.DataFrame,
    generated_at: str | None,
    findings_sha256: str,
) -> dict[str, Any]:
    """Everything the report renders.

    Args:
        adv: the advisory.
        analysis: query results.
        cov: ingest coverage.
        findings: the findings document.
        evidence: the case's ``evidence`` table (display text per file and line).
        generated_at: a generation time to print, or None for none.
        findings_sha256: SHA-256 of the findings.json bytes.

    Returns:
        A ``ReportData`` mapping.
    """
    uses = _uses(analysis)
    pushes = _pushes(analysis)
    cells = _secret_cells(analysis)
    cited = _cited(findings, uses) | {(p["file"], p["line"]) for p in pushes}
    cited |= {(c["file"], c["line"]) for c in cells}
    keys = pl.DataFrame(sorted(cited), schema={"file": pl.String, "line": pl.Int64}, orient="row")
    lines = keys.join(evidence.unique(["file", "line"]), on=["file", "line"], how="left")
    return {
        "tool": {"name": "forensics", "version": __version__},
        "generated_at": generated_at,
        "advisory": _advisory(adv),
        "findings": findings,
        "uses": uses,
        "tag_pushes": pushes,
        "evidence": [
            {"file": r["file"], "line": r["line"], "text": r["text"] or ""}
            for r in lines.sort(["file", "line"]).iter_rows(named=True)
        ],
        "files": cov.files_frame().sort("path").to_dicts(),
        "findings_sha256": findings_sha256,
        "secret_cells": cells,
        "queries": _queries(analysis),
        "gaps": gaps(analysis),
    }

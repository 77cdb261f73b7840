"""``findings.json`` (format ``forensics-findings/1``): sorted, byte-identical per input."""

import json
from datetime import datetime
from typing import Any

import polars as pl

from forensics.advisory import Advisory
from forensics.analysis import Analysis
from forensics.ingest import Coverage
from forensics.timefmt import iso, iso_seconds

FORMAT = "forensics-findings/1"
VERDICTS = ("confirmed", "likely", "possible", "cleared")


def _evidence(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    rows = [{"file": e["file"], "line": e["line"]} for e in items or []]
    return sorted(rows, key=lambda e: (e["file"], e["line"]))


def _job_secrets(analysis: Analysis, job_key: str, ci: str | None) -> list[str]:
    secrets = analysis.results["job_secret_names"]
    names = set(secrets.filter(pl.col("job_key") == job_key).get_column("name").to_list())
    names |= set(CI_TOKENS.get(ci or "", ()))
    return sorted(names)


CI_TOKENS = {"github": ("GITHUB_TOKEN",), "gitlab": ("CI_JOB_TOKEN",)}
"""Credentials every job of a CI system holds, whether or not its log names them."""
JOB_FIELDS = ("ci", "project", "run", "job", "runner", "host", "verdict", "reason", "image",
              "tag", "digest", "first_use")  # fmt: skip
HOST_FIELDS = ("host", "verdict", "reason", "image", "tag", "digest", "first_use", "still_present")
SECRET_FIELDS = ("name", "ci", "project", "verdict", "first_exposed")
ACCOUNT_FIELDS = ("account", "token", "verdict", "reason", "image", "tag", "digest", "first_use",
                  "ips")  # fmt: skip
CACHE_FIELDS = ("cache", "verdict", "reason", "image", "digest", "first_use", "clients",
                "still_present")  # fmt: skip


def _record(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of a result row, times as ISO strings, plus its evidence."""
    out = {f: iso(row[f]) if isinstance(row[f], datetime) else row[f] for f in fields}
    out["evidence"] = _evidence(row["evidence"])
    return out


def _jobs(analysis: Analysis) -> list[dict[str, Any]]:
    out = [
        _record(row, JOB_FIELDS) | {"secrets": _job_secrets(analysis, row["job_key"], row["ci"])}
        for row in analysis.results["job_verdicts"].iter_rows(named=True)
    ]
    return sorted(out, key=lambda j: (j["ci"] or "", j["project"] or "", j["run"] or "",
                                      j["job"] or "", j["evidence"][0]["file"]))  # fmt: skip


def _hosts(analysis: Analysis) -> list[dict[str, Any]]:
    rows = analysis.results["host_verdicts"].iter_rows(named=True)
    return sorted((_record(row, HOST_FIELDS) for row in rows), key=lambda h: h["host"])


def _actors(analysis: Analysis, table: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = analysis.results[table].iter_rows(named=True)
    return sorted(
        (_record(row, fields) for row in rows), key=lambda r: json.dumps(r, sort_keys=True)
    )


def _permissions(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return dict(sorted(value.items()))
    return dict(sorted((kv["key"], kv["value"]) for kv in value))


def _secrets(analysis: Analysis) -> list[dict[str, Any]]:
    out = [
        _record(row, SECRET_FIELDS)
        | {
            "jobs": sorted(row["jobs"]),
            "expires_with_job": bool(row["expires_with_job"]),
            "permissions": _permissions(row["permissions"]),
        }
        for row in analysis.results["secrets_to_rotate"].iter_rows(named=True)
    ]
    return sorted(out, key=lambda s: (s["ci"] or "", s["project"] or "", s["name"]))


def _coverage(cov: Coverage) -> dict[str, Any]:
    files = cov.files_frame()
    errors = cov.errors_frame()
    return {
        "files": files.height,
        "lines": int(files.get_column("lines").sum()),
        "unparsed_lines": int(files.get_column("unparsed_lines").sum()),
        "errors": [
            {"file": e["file"], "line": e["line"], "reason": e["reason"]}
            for e in errors.iter_rows(named=True)
        ],
    }


def build(adv: Advisory, analysis: Analysis, cov: Coverage) -> dict[str, Any]:
    """Assemble the findings document.

    Args:
        adv: the advisory.
        analysis: the query results.
        cov: the ingest coverage.

    Returns:
        The ``forensics-findings/1`` document.
    """
    uses = analysis.results["use_verdicts"]
    return {
        "format": FORMAT,
        "advisory": {"id": adv.id, "sha256": adv.sha256},
        "window": {"start": iso_seconds(adv.window_start), "end": iso_seconds(adv.window_end)},
        "jobs": _jobs(analysis),
        "hosts": _hosts(analysis),
        "secrets": _secrets(analysis),
        "accounts": _actors(analysis, "account_verdicts", ACCOUNT_FIELDS),
        "caches": _actors(analysis, "cache_verdicts", CACHE_FIELDS),
        "uses": {
            "judged": uses.filter(pl.col("verdict").is_not_null()).height,
            "counted_only": uses.filter(pl.col("verdict").is_null()).height,
        },
        "coverage": _coverage(cov),
    }


def counts(items: list[dict[str, Any]]) -> dict[str, int]:
    """Verdict counts, all four verdicts present.

    Args:
        items: jobs or hosts from the findings.

    Returns:
        verdict → count.
    """
    return {v: sum(1 for i in items if i["verdict"] == v) for v in VERDICTS}

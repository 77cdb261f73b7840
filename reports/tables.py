"""Rows for the report's tables, in a fixed order, with the anchors that link them together.

Anchors: ``ev-<n>`` for evidence lines, ``job-<n>`` / ``host-<n>`` for table rows, ``sec-<n>``
for rotate rows and ``q-<name>`` for queries; each is derived from the sorted content, so
identical data always gives identical ids.
"""

import json
import re
from collections import defaultdict
from typing import Any

from forensics.reports.fmt import VERDICTS, natural, perms, rank
from forensics.reports.model import Ref, ReportData, SecretCell

MATRIX_COLUMNS = 12  # a rotate matrix wider than this is split into several tables
ROLE_ORDER = ("job", "host", "secret", "push")


def job_key(job: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key of a job row: verdict, CI, project, run (numeric), job, then all its content."""
    head = (rank(job["verdict"]), job["ci"] or "", job["project"] or "", natural(str(job["run"])))
    return (*head, job["job"] or "", _content(job))


def _content(item: dict[str, Any]) -> str:
    """The whole item as text: a last tie-breaker, so that input order never shows."""
    return json.dumps(item, sort_keys=True, default=str)


def job_name(job: dict[str, Any]) -> str:
    """Return a job's ``project/run/job`` name, as in ``findings["secrets"][i]["jobs"]``."""
    return f"{job['project']}/{job['run']}/{job['job']}"


def jobs(data: ReportData) -> list[dict[str, Any]]:
    """Return the job findings in table order, each with its row ``id``."""
    rows = sorted(data["findings"]["jobs"], key=job_key)
    return [{**job, "id": f"job-{n}"} for n, job in enumerate(rows, start=1)]


def hosts(data: ReportData) -> list[dict[str, Any]]:
    """Return the host findings in table order (verdict, then host), each with its row ``id``."""
    rows = sorted(data["findings"]["hosts"], key=_host_key)
    return [{**host, "id": f"host-{n}"} for n, host in enumerate(rows, start=1)]


def _host_key(host: dict[str, Any]) -> tuple[Any, ...]:
    return (rank(host["verdict"]), host["host"] or "", _content(host))


def _secret_key(secret: dict[str, Any]) -> tuple[str, ...]:
    return (secret["ci"], secret["project"], secret["name"], _content(secret))


def rotate(data: ReportData, index: dict[Ref, str]) -> list[dict[str, Any]]:
    """Group the secrets to rotate by CI and project as secrets × jobs matrices.

    Each cell a secret reaches links to the evidence line where its name shows in that job
    (from ``secret_cells``). Wide matrices are split into tables of ``MATRIX_COLUMNS`` jobs.

    Args:
        data: the report data.
        index: evidence anchors.

    Returns:
        ``[{"ci", "project", "parts": [{"columns", "rows", "first", "last"}], "jobs"}]``.
    """
    where = _cell_lines(data["secret_cells"])
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for n, secret in enumerate(sorted(data["findings"]["secrets"], key=_secret_key), start=1):
        groups.setdefault((secret["ci"], secret["project"]), []).append({**secret, "n": n})
    out = []
    for (ci, project), secrets in groups.items():
        cols = sorted({job for s in secrets for job in s["jobs"]}, key=natural)
        parts = []
        for start in range(0, max(len(cols), 1), MATRIX_COLUMNS):
            chunk = cols[start : start + MATRIX_COLUMNS]
            heads = [(c, c.removeprefix(project + "/")) for c in chunk]
            rows = [_matrix_row(s, chunk, where, index) for s in secrets]
            first, last = start + 1, start + len(chunk)
            parts.append({"columns": heads, "rows": rows, "first": first, "last": last})
        out.append({"ci": ci, "project": project, "parts": parts, "jobs": len(cols)})
    return out


def _cell_lines(cells: list[SecretCell]) -> dict[tuple[str, str, str], Ref]:
    """The first line per (project, secret, job) where the secret's name shows."""
    where: dict[tuple[str, str, str], Ref] = {}
    for c in sorted(cells, key=lambda c: (c["project"], c["name"], c["job"], c["file"], c["line"])):
        where.setdefault((c["project"], c["name"], c["job"]), (c["file"], c["line"]))
    return where


def _matrix_row(
    secret: dict[str, Any],
    cols: list[str],
    where: dict[tuple[str, str, str], Ref],
    index: dict[Ref, str],
) -> dict[str, Any]:
    cells = []
    for col in cols:
        ref = where.get((secret["project"], secret["name"], col))
        held = col in secret["jobs"]
        href = "#" + index[ref] if held and ref is not None else None
        title = f"{ref[0]}:{ref[1]}" if ref and held else f"{secret['name']} in {col}"
        cells.append({"held": held, "href": href, "title": title})
    return {**secret, "id": f"sec-{secret['n']}", "cells": cells, "notes": _notes(secret)}


def _notes(secret: dict[str, Any]) -> str:
    """Token permissions and lifetime, in words."""
    notes = []
    if secret.get("permissions"):
        notes.append("permissions: " + perms(secret["permissions"]))
    elif secret["name"] == "GITHUB_TOKEN":
        notes.append("permissions unknown")
    if secret.get("expires_with_job"):
        notes.append("expires with the job")
    return "; ".join(notes)


def evidence(
    data: ReportData, index: dict[Ref, str], tables: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Every cited line in file and line order, with the findings that cite it.

    Args:
        data: the report data.
        index: evidence anchors.
        tables: the ``jobs``, ``hosts`` and ``rotate`` rows, whose anchors the citations use.

    Returns:
        ``[{"id", "file", "line", "text", "cites": [(role, label, href or None)]}]``; ``text``
        is None for a line that was cited but not quoted.
    """
    texts = {(e["file"], e["line"]): e["text"] for e in data["evidence"]}
    cites = _citations(data, tables)
    return [
        {
            "id": anchor,
            "file": ref[0],
            "line": ref[1],
            "text": texts.get(ref),
            "cites": sorted(cites.get(ref, ()), key=_cite_key),
        }  # fmt: skip
        for ref, anchor in sorted(index.items())
    ]


def _cite_key(cite: tuple[str, str, str | None]) -> tuple[int, tuple[Any, ...], str]:
    return (ROLE_ORDER.index(cite[0]), natural(cite[1]), cite[2] or "")


def _citations(
    data: ReportData, tables: dict[str, list[dict[str, Any]]]
) -> dict[Ref, set[tuple[str, str, str | None]]]:
    """Which finding cites which line: ``{(file, line): {(role, label, href)}}``."""
    cites: dict[Ref, set[tuple[str, str, str | None]]] = defaultdict(set)
    job_ids: dict[str, str] = {}
    for job in tables["jobs"]:
        job_ids.setdefault(job_name(job), "#" + job["id"])
        for e in job["evidence"]:
            cites[(e["file"], e["line"])].add(("job", job_name(job), "#" + job["id"]))
    host_ids: dict[str, str] = {}
    for host in tables["hosts"]:
        host_ids.setdefault(host["host"], "#" + host["id"])
        for e in host["evidence"]:
            cites[(e["file"], e["line"])].add(("host", host["host"], "#" + host["id"]))
    for use in data["uses"]:
        is_job = use["lane_kind"] == "job"
        href = (job_ids if is_job else host_ids).get(use["lane"])
        cites[(use["file"], use["line"])].add(("job" if is_job else "host", use["lane"], href))
    secret_ids: dict[tuple[str, str], str] = {}
    for group in tables["rotate"]:
        for row in group["parts"][0]["rows"]:
            secret_ids.setdefault((row["project"], row["name"]), "#" + row["id"])
    for cell in data["secret_cells"]:
        href = secret_ids.get((cell["project"], cell["name"]))
        label = f"{cell['name']} in {cell['job']}"
        cites[(cell["file"], cell["line"])].add(("secret", label, href))
    for push in data["tag_pushes"]:
        label = f"{push['action']} {push['image']}:{push['tag']}"
        cites[(push["file"], push["line"])].add(("push", label, None))
    return cites


def evidence_chunks(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Cut evidence rows into chunks of ``size`` lines, with a heading row per file.

    A chunk that starts inside a file repeats the file's heading, marked ``cont``.

    Args:
        rows: evidence rows in file and line order.
        size: lines per chunk.

    Returns:
        The chunks; heading rows are ``{"head": True, "file", "cont"}``.
    """
    out: list[list[dict[str, Any]]] = []
    for start in range(0, len(rows), size):
        chunk: list[dict[str, Any]] = []
        for n, row in enumerate(rows[start : start + size]):
            prev = rows[start + n - 1]["file"] if start + n else None
            if n == 0 or row["file"] != prev:
                chunk.append({"head": True, "file": row["file"], "cont": row["file"] == prev})
            chunk.append({**row, "head": False})
        out.append(chunk)
    return out


def coverage_files(data: ReportData) -> dict[str, Any]:
    """Per-file coverage: every file, and those with unparsed lines or errors on their own.

    Args:
        data: the report data.

    Returns:
        ``{"all": [...], "flagged": [...]}``; each row is a file entry plus its ``errors``.
    """
    errors: dict[str, int] = defaultdict(int)
    for err in data["findings"]["coverage"]["errors"]:
        errors[err["file"]] += 1
    files = sorted(data["files"], key=lambda f: f["path"])
    rows: list[dict[str, Any]] = [{**f, "errors": errors.get(f["path"], 0)} for f in files]
    flagged = [f for f in rows if f["unparsed_lines"] or f["errors"]]
    known = {f["path"] for f in files}
    # errors about paths that are not input files (e.g. a corrupt archive's members)
    for path in sorted(set(errors) - known):
        flagged.append({"path": path, "format": None, "status": "error", "size": None,
                        "lines": 0, "unparsed_lines": 0, "errors": errors[path]})  # fmt: skip
    return {"all": rows, "flagged": sorted(flagged, key=lambda f: f["path"])}


def queries(data: ReportData) -> list[dict[str, Any]]:
    """The queries behind the findings, in the given order, with anchors and sorted params."""
    out = []
    seen: set[str] = set()
    for n, q in enumerate(data["queries"], start=1):
        slug = "q-" + re.sub(r"[^A-Za-z0-9_-]", "-", q["name"])
        slug = f"{slug}-{n}" if slug in seen else slug
        seen.add(slug)
        out.append({**q, "id": slug, "params": sorted(q["params"].items())})
    return out


def verdict_table(data: ReportData) -> list[dict[str, Any]]:
    """Verdict counts for the summary: one row for jobs, one for hosts."""
    out = []
    for label, key in (("Jobs", "jobs"), ("Hosts", "hosts")):
        verdicts = [item["verdict"] for item in data["findings"][key]]
        counts = [verdicts.count(v) for v in VERDICTS]
        out.append({"label": label, "counts": counts, "total": len(verdicts)})
    return out

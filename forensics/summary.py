"""The short summary printed after ``forensics investigate``."""

from pathlib import Path
from typing import Any

from forensics.findings import counts


def _line(label: str, items: list[dict[str, Any]]) -> str:
    c = counts(items)
    return f"  {label:8} " + ", ".join(f"{n} {v}" for v, n in c.items())


def summary(doc: dict[str, Any], out: Path) -> str:
    """Render the terminal summary.

    Args:
        doc: the findings document.
        out: the output folder.

    Returns:
        Several lines of text.
    """
    cov = doc["coverage"]
    window = doc["window"]
    flagged = [j for j in doc["jobs"] if j["verdict"] != "cleared"]
    purge = [h for h in doc["hosts"] if h["verdict"] != "cleared"]
    caches = [c for c in doc["caches"] if c["verdict"] != "cleared"]
    lines = [
        f"advisory {doc['advisory']['id']}: window {window['start']} .. "
        f"{window['end'] or 'open-ended'}",
        f"  read     {cov['files']} files, {cov['lines']} lines "
        f"({cov['unparsed_lines']} lines not understood, {len(cov['errors'])} errors)",
        _line("jobs", doc["jobs"]),
        _line("hosts", doc["hosts"]),
        _line("accounts", doc["accounts"]),
        _line("caches", doc["caches"]),
        f"  rotate   {len(doc['secrets'])} secrets held by {len(flagged)} flagged jobs",
        f"  purge    {len(purge)} hosts, {len(caches)} caches",
        f"report:   {out / 'report.html'}",
        f"findings: {out / 'findings.json'}",
    ]
    return "\n".join(lines)

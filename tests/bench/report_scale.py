"""Report scale benchmark: render a synthetic incident of 10,000 jobs and open it in Chromium.

Builds ``ReportData`` directly (no ingest): jobs in ~400 projects, their uses, hosts, evidence
lines, files and errors, with log-sized strings. Prints the HTML size, the render time, and in
Debian's chromium (via Playwright) the load time and the time a verdict filter change, a sort
and the exposure-window zoom take. A benchmark, not a test: nothing asserts.

Usage: python -m tests.bench.report_scale [--jobs 10000] [--out report.html] [--no-browser]
"""

import argparse
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from forensics.reports.render import ReportData, render_report

KICS = "docker.io/checkmarx/kics"
VERDICTS = ("confirmed", "likely", "possible", "cleared")
T0 = datetime(2026, 4, 8, tzinfo=UTC)
WINDOW = (datetime(2026, 4, 22, 12, 35, tzinfo=UTC), datetime(2026, 4, 22, 18, 5, tzinfo=UTC))
SECRETS = ("GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "NPM_TOKEN", "SLACK_URL")
QUERIES = ("use_verdicts", "actor_verdicts", "job_verdicts", "host_verdicts", "secrets_to_rotate")
FILLER = "Step 4/9 : RUN ./scan --config .kics/config.yaml --report-formats json,sarif --output "


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _when(rng: random.Random) -> datetime:
    if rng.random() < 0.6:  # most activity around the window
        return WINDOW[0] + timedelta(seconds=rng.uniform(-7200, 27000))
    return T0 + timedelta(seconds=rng.uniform(0, 18 * 86400))


def _line(rng: random.Random, what: str) -> str:
    n = rng.choice((40, 80, 120, 160, 240))
    return (f"{_iso(_when(rng))} {what} " + FILLER * 3)[:n]


def _queries() -> list[dict[str, Any]]:
    folder = files("forensics.queries")
    out = []
    for name in QUERIES:
        sql = folder.joinpath(f"{name}.sql").read_text(encoding="utf-8")
        purpose = sql.splitlines()[1].removeprefix("-- ")
        params = {"window_start": _iso(WINDOW[0]), "window_end": _iso(WINDOW[1])}
        out.append({"name": name, "purpose": purpose, "sql": sql, "params": params})
    return out


def _job(rng: random.Random, n: int, projects: int) -> dict[str, Any]:
    ci = "github" if n % 3 else "gitlab"
    project = f"org{n % projects:03d}/service-{(n % projects) * 7 % 101:03d}"
    verdict = rng.choices(VERDICTS, weights=(1, 2, 3, 8))[0]
    digest = "sha256:" + f"{rng.getrandbits(256):064x}" if rng.random() < 0.7 else None
    return {
        "ci": ci,
        "project": project,
        "run": str(100000 + n),
        "job": rng.choice(("scan", "iac-scan", "lint", "build-scanner-image", "nightly-scan")),
        "runner": f"runner-{n % 200:03d}" if rng.random() < 0.5 else None,
        "host": None,
        "verdict": verdict,
        "image": KICS,
        "tag": rng.choice(("latest", "alpine", "v2.1.20")),
        "digest": digest,
        "first_use": None,
        "secrets": list(SECRETS[: rng.randint(1, 5)]),
        "evidence": [],
        "reason": f"digest {digest or 'unknown'} is listed malicious (index digest) and the use "
        "was entirely inside the window",
    }


def _use(job: dict[str, Any], rng: random.Random, path: str, line: int) -> dict[str, Any]:
    lo = _when(rng)
    hi = lo + timedelta(seconds=rng.choice((0, 0, 30, 900)))
    job["first_use"] = min(job["first_use"] or _iso(lo), _iso(lo))
    job["evidence"].append({"file": path, "line": line})
    return {
        "lane": f"{job['project']}/{job['run']}/{job['job']}",
        "lane_kind": "job",
        "group": job["project"],
        "verdict": job["verdict"],
        "image": KICS,
        "tag": job["tag"],
        "digest": job["digest"],
        "ts_lo": _iso(lo),
        "ts_hi": _iso(hi),
        "file": path,
        "line": line,
        "reason": job["reason"],
        "action": "pull",
    }


def _jobs(rng: random.Random, n_jobs: int, data: dict[str, Any]) -> None:
    projects = max(1, n_jobs // 25)
    for n in range(n_jobs):
        job = _job(rng, n, projects)
        path = f"{job['ci']}/{job['project']}/{job['run']}/0_{job['job']}.txt"
        data["files"].append(path)
        for k in range(2):
            line = 100 + 40 * k + rng.randint(0, 30)
            data["uses"].append(_use(job, rng, path, line))
            data["evidence"].append({"file": path, "line": line, "text": _line(rng, "pull")})
        data["findings"]["jobs"].append(job)
        if job["verdict"] != "cleared" and n % 20 < 9:
            for i, name in enumerate(SECRETS):
                cell = {
                    "project": job["project"],
                    "name": name,
                    "file": path,
                    "line": 20 + i,
                    "job": f"{job['project']}/{job['run']}/{job['job']}",
                }
                data["secret_cells"].append(cell)
                data["evidence"].append({"file": path, "line": 20 + i, "text": f"  {name}: ***"})


def _hosts(rng: random.Random, n_hosts: int, data: dict[str, Any]) -> None:
    for n in range(n_hosts):
        host, path = f"build-{n:03d}", f"hosts/build-{n:03d}/docker-events.jsonl"
        verdict = rng.choice(VERDICTS)
        data["files"].append(path)
        lines = []
        for k in range(5):
            line = 1 + k * 1000 + rng.randint(0, 900)
            lo = _iso(_when(rng))
            data["uses"].append(
                {
                    "lane": host,
                    "lane_kind": "host",
                    "group": "hosts",
                    "verdict": verdict,
                    "image": KICS,
                    "tag": "alpine",
                    "digest": None,
                    "ts_lo": lo,
                    "ts_hi": lo,
                    "file": path,
                    "line": line,
                    "reason": "container created",
                    "action": "start",
                }
            )
            data["evidence"].append({"file": path, "line": line, "text": _line(rng, "start")})
            lines.append({"file": path, "line": line})
        data["findings"]["hosts"].append(
            {
                "host": host,
                "verdict": verdict,
                "reason": "tag alpine is listed, no digest was "
                "recorded, and the use was entirely inside the window",
                "image": KICS,
                "tag": "alpine",
                "digest": None,
                "first_use": lo,
                "still_present": None,
                "evidence": lines,
            }
        )


def _secrets(data: dict[str, Any]) -> None:
    held: dict[tuple[str, str], list[str]] = {}
    for cell in data["secret_cells"]:
        held.setdefault((cell["project"], cell["name"]), []).append(cell["job"])
    for (project, name), jobs in sorted(held.items()):
        data["findings"]["secrets"].append(
            {
                "name": name,
                "ci": "github",
                "project": project,
                "verdict": "likely",
                "jobs": jobs,
                "first_exposed": _iso(WINDOW[0]),
                "expires_with_job": name == "GITHUB_TOKEN",
                "permissions": {"contents": "read", "packages": "write"}
                if name == "GITHUB_TOKEN"
                else None,
                "evidence": [],
            }
        )


def _files(rng: random.Random, paths: list[str], target: int) -> list[dict[str, Any]]:
    extra = [f"registry/audit-{i:04d}.jsonl" for i in range(max(0, target - len(paths)))]
    out = []
    for path in [*paths, *extra]:
        lines = rng.randint(200, 2000)
        out.append(
            {
                "path": path,
                "size": lines * 120,
                "sha256": f"{rng.getrandbits(256):064x}",
                "format": "github_actions" if path.startswith("github") else "docker_events",
                "status": "parsed",
                "lines": lines,
                "unparsed_lines": rng.choice((0, 0, 0, 2)),
            }
        )
    return out


def synthetic_data(jobs: int = 10_000, hosts: int = 200, files: int = 2_000) -> ReportData:
    """Build report data shaped like a large incident.

    Args:
        jobs: number of jobs (25 per project), each with two uses.
        hosts: number of hosts, each with five uses.
        files: number of input files listed (jobs share files beyond this number).

    Returns:
        The data, deterministic for given arguments.
    """
    rng = random.Random(42)
    data: dict[str, Any] = {
        "uses": [],
        "evidence": [],
        "files": [],
        "secret_cells": [],
        "tag_pushes": [],
        "findings": {"jobs": [], "hosts": [], "secrets": []},
    }
    _jobs(rng, jobs, data)
    _hosts(rng, hosts, data)
    _secrets(data)
    paths = sorted(set(data["files"]))[: max(0, files - 50)]
    data["files"] = _files(rng, paths, files)
    _coverage(rng, data)
    _pushes(data)
    data |= {
        "tool": {"name": "forensics", "version": "0.1.0"},
        "generated_at": None,
        "advisory": {
            "id": "kics-2026-04-22",
            "title": "checkmarx/kics tags overwritten",
            "references": [],
            "path": "kics.toml",
            "sha256": "a" * 64,
            "window": {"start": _iso(WINDOW[0]), "end": _iso(WINDOW[1])},
            "images": [],
        },
        "findings_sha256": "f" * 64,
        "queries": _queries(),
        "gaps": ["1,234 jobs have tag-only evidence: their verdicts rest on the window."],
    }
    return cast(ReportData, data)


def _coverage(rng: random.Random, data: dict[str, Any]) -> None:
    errors = [
        {"file": f["path"], "line": rng.randint(1, 99), "reason": "corrupt timestamp"}
        for f in data["files"]
        if f["unparsed_lines"]
    ]
    data["findings"]["coverage"] = {
        "files": len(data["files"]),
        "lines": sum(f["lines"] for f in data["files"]),
        "unparsed_lines": sum(f["unparsed_lines"] for f in data["files"]),
        "errors": errors,
    }


def _pushes(data: dict[str, Any]) -> None:
    for i in range(40):
        t = _iso(WINDOW[0] + timedelta(minutes=i * 9 - 60))
        path = "registry/audit-0000.jsonl"
        data["tag_pushes"].append(
            {
                "image": KICS,
                "tag": ("latest", "alpine", "v2.1.20")[i % 3],
                "digest": None,
                "action": "repo.tag.push",
                "actor": "mallory" if i % 4 else "ci-bot",
                "ts": t,
                "malicious": bool(i % 4),
                "file": path,
                "line": 1 + i,
            }
        )
        text = f'{{"action": "repo.tag.push", "ts": "{t}"}}'
        data["evidence"].append({"file": path, "line": 1 + i, "text": text})


def _browser(path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        t = time.perf_counter()
        page.goto(path.resolve().as_uri(), wait_until="load", timeout=300_000)
        page.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
        print(f"browser load: {time.perf_counter() - t:.2f} s (to load and first frame)")
        for label, script in _ACTIONS:
            print(f"{label}: {page.evaluate(script):.0f} ms")
        print(f"console errors: {len(errors)}")
        browser.close()


_FRAME = "await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));"
_ACTIONS = (
    (
        "verdict filter (jobs, to next frame)",
        f"""async () => {{
        const s = document.getElementById('jobs-table-filter-verdict');
        const t = performance.now(); s.value = 'confirmed'; s.dispatchEvent(new Event('change'));
        {_FRAME} return performance.now() - t; }}""",
    ),
    (
        "verdict filter reset (jobs)",
        f"""async () => {{
        const s = document.getElementById('jobs-table-filter-verdict');
        const t = performance.now(); s.value = ''; s.dispatchEvent(new Event('change'));
        {_FRAME} return performance.now() - t; }}""",
    ),
    (
        "sort jobs by project",
        f"""async () => {{
        const b = document.querySelectorAll('#jobs-table thead button')[2];
        const t = performance.now(); b.click(); {_FRAME} return performance.now() - t; }}""",
    ),
    (
        "zoom to exposure window",
        f"""async () => {{
        const b = [...document.querySelectorAll('.zoom button')][1];
        const t = performance.now(); b.click(); {_FRAME} return performance.now() - t; }}""",
    ),
)


def main() -> None:
    """Render, report size and time, then measure in the browser."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    data = synthetic_data(args.jobs)
    print(
        f"jobs {len(data['findings']['jobs']):,}, uses {len(data['uses']):,}, "
        f"hosts {len(data['findings']['hosts']):,}, evidence {len(data['evidence']):,}, "
        f"files {len(data['files']):,}, secret cells {len(data['secret_cells']):,}"
    )
    t = time.perf_counter()
    html = render_report(data)
    seconds = time.perf_counter() - t
    size = len(html.encode("utf-8"))
    print(f"render: {seconds:.2f} s, size {size / 1e6:.2f} MB ({size / 2**20:.2f} MiB)")
    out = args.out or Path(tempfile.mkdtemp(prefix="report-scale-")) / "report.html"
    out.write_text(html, encoding="utf-8")
    print(f"written: {out}")
    if not args.no_browser:
        _browser(out)


if __name__ == "__main__":
    main()

"""The main job: bundle + advisory → case store, findings.json, report.html."""

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from forensics import __version__, findings, report_data
from forensics.advisory import Advisory, load_advisory
from forensics.analysis import analyze
from forensics.bundle import open_bundle
from forensics.errors import BundleError, ExitCode
from forensics.ingest import Coverage, ingest
from forensics.reports.render import render_report
from forensics.store import CASE, write_duckdb, write_json, write_table

OUTPUTS = ("findings.json", "report.html")


@dataclass(frozen=True)
class Outcome:
    """What a run produced."""

    out_dir: Path
    findings: dict[str, Any]
    exit_code: ExitCode


def _prepare_out(bundle: Path, out: Path) -> Path:
    bundle_dir = bundle.resolve()
    target = out.resolve()
    if bundle.is_dir() and (target == bundle_dir or bundle_dir in target.parents):
        raise BundleError(f"{out}: the output folder must not be inside the bundle {bundle}")
    if target.exists() and not target.is_dir():
        raise BundleError(f"{out}: exists and is not a folder")
    case = target / CASE
    shutil.rmtree(case, ignore_errors=True)
    for name in OUTPUTS:
        (target / name).unlink(missing_ok=True)
    case.mkdir(parents=True)
    return case


def _manifest(
    adv: Advisory, cov: Coverage, bundle: Path, archive_sha: str | None, findings_sha: str
) -> dict[str, Any]:
    files = cov.files_frame().sort("path")
    return {
        "format": "forensics-manifest/1",
        "tool": {"name": "forensics", "version": __version__},
        # paths as given on the command line, so that `forensics verify` can find them again
        "advisory": {"id": adv.id, "path": adv.path, "sha256": adv.sha256},
        "bundle": {"path": str(bundle), "archive_sha256": archive_sha},
        "findings_sha256": findings_sha,
        "files": files.select("path", "size", "sha256", "format", "status").to_dicts(),
    }


def investigate(
    bundle: Path, advisory: Path, out: Path, generated_at: str | None = None
) -> Outcome:
    """Run the whole pipeline.

    Args:
        bundle: a bundle folder or archive.
        advisory: the advisory TOML file.
        out: the output folder (created; previous outputs in it are replaced).
        generated_at: a generation time to print in the report (none by default, so that
            identical inputs give identical reports).

    Returns:
        The outcome; ``exit_code`` is 1 when some input was not understood.
    """
    adv = load_advisory(advisory)
    if not bundle.exists():
        raise BundleError(f"{bundle}: no such bundle (expected a folder or an archive)")
    with open_bundle(bundle) as opened:
        case = _prepare_out(bundle, out)
        cov = ingest(opened, case)
        archive_sha = opened.archive_sha256
    write_table(case, "files", cov.files_frame())
    write_table(case, "errors", cov.errors_frame())
    analysis = analyze(case, adv)
    for name, frame in analysis.results.items():
        write_table(case, name, frame)
    write_duckdb(case)
    doc = findings.build(adv, analysis, cov)
    findings_sha = write_json(out / "findings.json", doc)
    write_json(case / "manifest.json", _manifest(adv, cov, bundle, archive_sha, findings_sha))
    evidence = pl.read_parquet(case / "evidence.parquet")
    data = report_data.build(adv, analysis, cov, doc, evidence, generated_at, findings_sha)
    (out / "report.html").write_text(render_report(data), encoding="utf-8")  # type: ignore[arg-type]
    cov_doc = doc["coverage"]
    clean = not cov_doc["errors"] and cov_doc["unparsed_lines"] == 0
    code = ExitCode.OK if clean else ExitCode.INPUT_NOT_UNDERSTOOD
    return Outcome(out_dir=out, findings=doc, exit_code=code)

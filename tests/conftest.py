"""Shared fixtures: the sample bundle, its advisory, and one investigate run per session."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from forensics.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs" / "kics-incident"
KICS = ROOT / "sample_logs" / "advisories" / "kics-2026-04-22.toml"
TRIVY = ROOT / "sample_logs" / "advisories" / "trivy-2026-03-19.toml"


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory, runner: CliRunner) -> tuple[Path, object]:
    """Run `forensics investigate` once on sample_logs/ (the demo bundle)."""
    out = tmp_path_factory.mktemp("sample") / "out"
    result = runner.invoke(
        app, ["investigate", str(SAMPLE), "--advisory", str(KICS), "--out", str(out)]
    )
    return out, result

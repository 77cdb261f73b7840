"""`forensics verify`: the chain of custody can be re-checked later."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forensics.cli import app

from .conftest import KICS, SAMPLE


@pytest.fixture
def case(tmp_path: Path, runner: CliRunner) -> tuple[Path, Path, Path]:
    bundle = tmp_path / "bundle"
    shutil.copytree(SAMPLE, bundle)
    advisory = tmp_path / "kics.toml"
    shutil.copy(KICS, advisory)
    out = tmp_path / "out"
    args = ["investigate", str(bundle), "--advisory", str(advisory), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 1
    return bundle, advisory, out


def test_unchanged_case_verifies(case: tuple[Path, Path, Path], runner: CliRunner) -> None:
    _, _, out = case
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 0
    assert result.stdout.strip() == "ok: 59 files match the manifest"


def test_changed_missing_and_added_inputs(case: tuple[Path, Path, Path], runner: CliRunner) -> None:
    bundle, advisory, out = case
    with (bundle / "hosts" / "build-09" / "docker-events.jsonl").open("a") as f:
        f.write("{}\n")
    (bundle / "hosts" / "build-07" / "notes.txt").unlink()
    (bundle / "extra.txt").write_text("x")
    advisory.write_text(advisory.read_text() + "\n")
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"changed (SHA-256 differs): advisory {advisory}",
        "missing: hosts/build-07/notes.txt",
        "changed (SHA-256 differs): hosts/build-09/docker-events.jsonl",
        "not in the manifest (ignored): extra.txt",
    ]
    assert "3 of 59 files changed or missing" in result.stderr


def test_edited_findings_and_archive_member(
    case: tuple[Path, Path, Path], runner: CliRunner
) -> None:
    bundle, _, out = case
    (out / "findings.json").write_text("{}")
    zip_path = bundle / "github" / "acme" / "api" / "9001" / "logs.zip"
    zip_path.write_bytes(zip_path.read_bytes().replace(b"iac-scan", b"iac-scam", 1))
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 1
    assert "changed (SHA-256 differs): findings.json" in result.stdout
    assert "changed (SHA-256 differs): github/acme/api/9001/logs.zip" in result.stdout


def test_moved_bundle(case: tuple[Path, Path, Path], tmp_path: Path, runner: CliRunner) -> None:
    bundle, _, out = case
    moved = tmp_path / "elsewhere"
    bundle.rename(moved)
    gone = runner.invoke(app, ["verify", str(out)])
    assert gone.exit_code == 2
    assert (
        gone.stderr.strip()
        == f"error: {bundle}: bundle not found (give its new place with --bundle)"
    )
    assert runner.invoke(app, ["verify", str(out), "--bundle", str(moved)]).exit_code == 0


def test_folder_without_manifest(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path}: no case/manifest.json (run 'forensics investigate')"
    )

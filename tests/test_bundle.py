"""Bundles as folders and archives; hostile archive members are refused and recorded."""

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forensics.bundle import list_paths, open_bundle, walk
from forensics.cli import app
from forensics.errors import BundleError

from .conftest import KICS

LOG = (
    b"\xef\xbb\xbf2026-04-22T12:41:07.1234567Z Current runner version: '2.334.0'\n"
    b"2026-04-22T12:41:08.0000000Z docker pull -q checkmarx/kics:latest\n"
)


def make_zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, "/etc/passwd")


def investigate(runner: CliRunner, bundle: Path, out: Path) -> tuple[int, dict[str, object]]:
    result = runner.invoke(
        app, ["investigate", str(bundle), "--advisory", str(KICS), "--out", str(out)]
    )
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads((out / "findings.json").read_text())


def test_zip_bundle_with_hostile_members(tmp_path: Path, runner: CliRunner) -> None:
    bundle = tmp_path / "bundle.zip"
    make_zip(
        bundle,
        {
            "kics/github/acme/api/1/0_scan.txt": LOG,
            "../escape.txt": b"x",
            "/abs.txt": b"x",
        },
        symlink="kics/hosts/h1/link",
    )
    code, doc = investigate(runner, bundle, tmp_path / "out")
    assert code == 1
    reasons = {(e["file"], e["reason"]) for e in doc["coverage"]["errors"]}
    assert ("../escape.txt", "refused: '..' in archive member path") in reasons
    assert ("/abs.txt", "refused: absolute path in archive") in reasons
    assert ("kics/hosts/h1/link", "refused: symbolic link in archive (not followed)") in reasons
    assert not (tmp_path / "escape.txt").exists()
    assert [j["verdict"] for j in doc["jobs"]] == ["likely"]
    assert doc["jobs"][0]["project"] == "acme/api"


def test_tar_gz_bundle_refuses_links_and_traversal(tmp_path: Path, runner: CliRunner) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    with tarfile.open(bundle, "w:gz") as tf:
        for name, data in {"b/github/acme/api/1/0_scan.txt": LOG, "b/../../evil.txt": b"x"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("b/hosts/h1/events.jsonl")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        tf.addfile(link)
    code, doc = investigate(runner, bundle, tmp_path / "out")
    reasons = {e["file"]: e["reason"] for e in doc["coverage"]["errors"]}
    assert reasons["b/../../evil.txt"] == "refused: '..' in archive member path"
    assert reasons["b/hosts/h1/events.jsonl"].startswith(
        "refused: link in archive to '/etc/shadow'"
    )
    assert code == 1 and len(doc["jobs"]) == 1


def test_nested_run_zip_members_and_corrupt_zip(tmp_path: Path, runner: CliRunner) -> None:
    run = tmp_path / "b" / "github" / "acme" / "api" / "7"
    run.mkdir(parents=True)
    make_zip(run / "logs.zip", {"0_scan.txt": LOG, "scan/1_Set up job.txt": LOG, "../x.txt": b"x"})
    (run.parent / "8").mkdir()
    (run.parent / "8" / "logs.zip").write_bytes(b"PK\x03\x04truncated")
    code, doc = investigate(runner, tmp_path / "b", tmp_path / "out")
    errors = {(e["file"], e["reason"]) for e in doc["coverage"]["errors"]}
    assert ("github/acme/api/7/logs.zip!../x.txt", "refused: '..' in archive member path") in errors
    assert any(f == "github/acme/api/8/logs.zip" and r.startswith("corrupt zip archive")
               for f, r in errors)  # fmt: skip
    (job,) = doc["jobs"]
    assert job["evidence"] == [{"file": "github/acme/api/7/logs.zip!0_scan.txt", "line": 2}]
    manifest = json.loads((tmp_path / "out" / "case" / "manifest.json").read_text())
    status = {f["path"]: f["status"] for f in manifest["files"]}
    assert status["github/acme/api/7/logs.zip"] == "archive"
    assert status["github/acme/api/7/logs.zip!scan/1_Set up job.txt"] == "duplicate"
    assert code == 1


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_in_folder_bundle_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "b"
    (root / "hosts" / "h1").mkdir(parents=True)
    (root / "hosts" / "h1" / "events.jsonl").symlink_to("/etc/passwd")
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(root) as bundle:
        assert list(walk(bundle, errors)) == []
        assert list_paths(bundle) == []
    assert errors == [("hosts/h1/events.jsonl", None, "refused: symbolic link (not followed)")]


def test_unusable_bundle_exits_2(tmp_path: Path, runner: CliRunner) -> None:
    garbage = tmp_path / "bundle.zip"
    garbage.write_bytes(b"not an archive")
    for bundle, message in [
        (tmp_path / "missing", "no such bundle"),
        (garbage, "not a folder or a .zip/.tar/.tar.gz archive"),
    ]:
        result = runner.invoke(
            app, ["investigate", str(bundle), "--advisory", str(KICS), "--out", str(tmp_path / "o")]
        )
        assert result.exit_code == 2
        assert result.stderr.strip() == f"error: {bundle}: {message}" or message in result.stderr
        assert not (tmp_path / "o").exists()


def test_output_inside_bundle_is_refused(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "b").mkdir()
    out = tmp_path / "b" / "out"
    result = runner.invoke(
        app, ["investigate", str(tmp_path / "b"), "--advisory", str(KICS), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "must not be inside the bundle" in result.stderr


def test_open_bundle_rejects_corrupt_tar(tmp_path: Path) -> None:
    bad = tmp_path / "b.tar"
    with tarfile.open(bad, "w") as tf:
        info = tarfile.TarInfo("a.txt")
        info.size = 10
        tf.addfile(info, io.BytesIO(b"0123456789"))
    bad.write_bytes(bad.read_bytes()[:700])
    with pytest.raises(BundleError, match="corrupt archive"), open_bundle(bad):
        pass


def test_job_with_only_step_files_is_one_job(tmp_path: Path, runner: CliRunner) -> None:
    run = tmp_path / "b" / "github" / "acme" / "api" / "5"
    (run / "scan (linux)").mkdir(parents=True)
    (run / "scan (linux)" / "1_Set up job.txt").write_bytes(
        b"\xef\xbb\xbf2026-04-22T12:40:00.0000000Z Runner name: 'build-07'\n"
        b"2026-04-22T12:40:00.1000000Z Machine name: 'build-07'\n"
    )
    (run / "scan (linux)" / "2_Run docker pull.txt").write_bytes(LOG)
    code, doc = investigate(runner, tmp_path / "b", tmp_path / "out")
    assert code == 0
    (job,) = doc["jobs"]
    assert (job["job"], job["run"], job["host"], job["verdict"]) == (
        "scan (linux)",
        "5",
        "build-07",
        "likely",
    )
    assert [h["host"] for h in doc["hosts"]] == ["build-07"]

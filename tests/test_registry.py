"""Every parser module is registered, and every sample file is recognized by one parser."""

from pathlib import Path

import pytest

from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.parsers import REGISTRY

from .conftest import ROOT, SAMPLE

EXPECTED: dict[str, str | tuple[str, ...]] = {
    "github_actions": ".txt",
    "github_jobs": "jobs.json",
    "docker_events": ".jsonl",
    "docker_images": (".json", ".txt"),
    "gitlab_ci": ".log",
    "gitlab_jobs": ".json",
    "jenkins": "log",
    "jenkins_build": "build.xml",
    "registry_log": ".log",
    "artifactory": ".log",
    "nexus": ".log",
    "runtime_journal": ".txt",
    "kubernetes": ".json",
    "dockerhub_usage": ".csv",
    "dockerhub_audit": ".json",
}


def test_every_parser_module_is_registered() -> None:
    modules = {p.stem for p in (ROOT / "parsers").glob("*.py") if not p.stem.startswith("_")}
    assert modules == {m.__name__.rsplit(".", 1)[1] for m in REGISTRY.values()}
    for name, module in REGISTRY.items():
        assert module.NAME == name and module.DESCRIPTION
        assert callable(module.sniff) and callable(module.parse)


def sample_members() -> list[tuple[str, bytes]]:
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(SAMPLE) as bundle:
        return [(m.path, m.data) for m in walk(bundle, errors) if not is_zip(m.data)]


@pytest.mark.parametrize(
    ("path", "data"), sample_members(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_sample_file_is_recognized_by_at_most_one_parser(path: str, data: bytes) -> None:
    head = data[:HEAD_BYTES]
    accepted = [name for name, m in REGISTRY.items() if m.sniff(path, head)]
    assert len(accepted) <= 1, accepted
    if path.endswith("notes.txt") or path.endswith("page-2.json") or "system.txt" in path:
        return
    (name,) = accepted
    assert path.endswith(EXPECTED[name]) or name == "github_actions", (path, name)


def test_every_format_has_a_sample_file() -> None:
    seen = {
        name
        for path, data in sample_members()
        for name, m in REGISTRY.items()
        if m.sniff(path, data[:HEAD_BYTES])
    }
    assert seen == set(REGISTRY)


def test_sample_bundle_layout_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for folder in ("github/<owner>/<repo>/<run_id>/", "hosts/<hostname>/", "dockerhub/"):
        assert folder in readme
    assert Path(SAMPLE).is_dir()


def test_sample_run_archive_matches_its_source() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_zip", ROOT / "tests/tools/build_sample_zip.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build(module.SOURCE) == module.TARGET.read_bytes()

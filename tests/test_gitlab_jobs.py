from pathlib import Path

from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.layout import context
from forensics.parsers import REGISTRY, gitlab_jobs
from forensics.parsers._base import Source

from .conftest import ROOT, SAMPLE

FIXTURES = ROOT / "tests" / "fixtures" / "gitlab"
PATH = "gitlab/acme/platform/infra/4711.json"


def parse(name: str) -> tuple[list[dict[str, object]], list[tuple[int | None, str]], int]:
    data = (FIXTURES / name).read_bytes()
    r = gitlab_jobs.parse([(Source(PATH, context(PATH)), data)])
    rows = r.tables["api_jobs"].to_dicts() if "api_jobs" in r.tables else []
    return rows, r.files[PATH].errors, r.files[PATH].unparsed


def test_job_object_gives_name_pipeline_runner_and_times() -> None:
    rows, errors, unparsed = parse("4711.json")
    (row,) = rows
    assert (row["ci"], row["project"], row["job_id"], row["run"], row["runner_name"]) == (
        "gitlab",
        "acme/platform/infra",
        "4711",
        "98123",
        "acme docker runner 02",
    )
    assert row["name"] == "kics-scan <script>alert(1)</script>"
    assert str(row["started_at"]) == "2026-04-22 12:39:58.412000+00:00"
    assert str(row["completed_at"]) == "2026-04-22 12:41:30.877000+00:00"
    assert unparsed == 0 and [reason for _, reason in errors] == [
        "invalid UTF-8 bytes (replaced with U+FFFD)"
    ]


def test_truncated_object_is_an_error() -> None:
    rows, errors, unparsed = parse("broken.json")
    assert rows == [] and unparsed > 0
    assert errors[-1][1].startswith("invalid JSON")


def test_sniff_both_ways() -> None:
    for name in ("4711.json", "broken.json"):
        head = (FIXTURES / name).read_bytes()[:HEAD_BYTES]
        assert [n for n, m in REGISTRY.items() if m.sniff(name, head)] == ["gitlab_jobs"]
    with open_bundle(Path(SAMPLE)) as bundle:
        accepted = [
            m.path for m in walk(bundle, []) if not is_zip(m.data)
            and gitlab_jobs.sniff(m.path, m.data[:HEAD_BYTES])
        ]  # fmt: skip
    assert accepted == [PATH]

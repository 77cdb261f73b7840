from forensics.ingest import HEAD_BYTES
from forensics.layout import context
from forensics.parsers import REGISTRY, jenkins_build
from forensics.parsers._base import Source

from .conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "jenkins" / "build.xml"
PATH = "jenkins/acme/kics-scan/57/build.xml"


def test_build_record_gives_start_duration_and_agent() -> None:
    r = jenkins_build.parse([(Source(PATH, context(PATH)), FIXTURE.read_bytes())])
    (row,) = r.tables["api_jobs"].to_dicts()
    assert (row["ci"], row["project"], row["run"], row["name"], row["runner_name"]) == (
        "jenkins",
        "acme/kics-scan",
        "57",
        "kics-scan",
        "ci-agent-07",
    )
    assert str(row["started_at"]) == "2026-04-22 12:50:00+00:00"
    assert str(row["completed_at"]) == "2026-04-22 12:51:35.400999+00:00"
    assert row["line"] == 17
    assert r.files[PATH].errors == [(19, "invalid UTF-8 bytes (replaced with U+FFFD)")]


def test_record_without_start_time_is_an_error() -> None:
    data = b"<?xml version='1.1'?>\n<flow-build>\n<result>SUCCESS</result>\n</flow-build>\n"
    r = jenkins_build.parse([(Source(PATH, context(PATH)), data)])
    assert "api_jobs" not in r.tables
    assert r.files[PATH].errors == [(None, "no <startTime> in build.xml")]
    assert not jenkins_build.sniff(PATH, data)


def test_only_this_parser_takes_the_fixture() -> None:
    head = FIXTURE.read_bytes()[:HEAD_BYTES]
    assert [n for n, m in REGISTRY.items() if m.sniff(PATH, head)] == ["jenkins_build"]

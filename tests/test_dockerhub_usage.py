from datetime import UTC, datetime, timedelta

import pytest

from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.parsers import REGISTRY, dockerhub_usage
from forensics.parsers._base import ParseResult, Source

from .conftest import ROOT, SAMPLE

FIXTURE = ROOT / "tests/fixtures/dockerhub_usage/usage-acme-2026-04.csv"
PATH = "dockerhub/usage-acme-2026-04.csv"
LATEST = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
ALPINE = "sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d"
HOUR_12 = datetime(2026, 4, 22, 12, tzinfo=UTC)
HOUR_13 = datetime(2026, 4, 22, 13, tzinfo=UTC)
HEADER = "datehour,user_name,repository,access_token_name,ips,repository_privacy,tag,digest,"


def parse(data: bytes) -> ParseResult:
    return dockerhub_usage.parse([(Source(PATH), data)])


def test_fixture_rows_become_uses_with_hour_intervals() -> None:
    r = parse(FIXTURE.read_bytes())
    uses = r.tables["image_uses"].sort("line")
    assert uses.select("host", "action", "tag", "digest", "step", "line").rows() == [
        ("hub:acme-ci", "pull", "latest", LATEST, "ci-token", 2),
        ("hub:(token generated)", "pull", "alpine", ALPINE, "generated", 3),
        ("hub:acme-bot", "version-check", "latest", LATEST, "bot-pat", 4),
        ("hub:acme-dev", "pull", None, ALPINE, "dev-pat", 5),
        ("hub:<script>alert(1)</script>", "pull", "alpine", ALPINE, "x\ufffd\ufffdy", 7),
    ]
    assert set(uses.get_column("image")) == {"docker.io/checkmarx/kics"}
    assert set(uses.get_column("digest_kind")) == {"index"}
    assert set(uses.get_column("actor_kind")) == {"account"}
    assert uses.get_column("ref").to_list()[3] == f"checkmarx/kics@{ALPINE}"
    assert uses.get_column("ts_lo").to_list() == [HOUR_12, HOUR_12, HOUR_13, HOUR_13, HOUR_13]
    spans = (uses.get_column("ts_hi") - uses.get_column("ts_lo")).unique().to_list()
    assert spans == [timedelta(seconds=3599, microseconds=999999)]
    assert uses.get_column("evidence_lines").to_list() == [[2], [3], [4], [5], [7]]


def test_zero_count_row_is_skipped_and_broken_row_counted() -> None:
    r = parse(FIXTURE.read_bytes())
    stats = r.files[PATH]
    assert (stats.lines, stats.unparsed) == (8, 1)
    assert stats.errors == [
        (7, "invalid UTF-8 bytes (replaced with U+FFFD)"),
        (8, "not a pull-usage row (wrong field count, bad datehour or counts)"),
    ]
    assert 6 not in r.tables["image_uses"].get_column("line").to_list()
    assert sorted(r.tables["evidence"].get_column("line")) == [2, 3, 4, 5, 7]


def test_old_pat_name_header_reordered_columns_and_bad_hour() -> None:
    data = (
        "pulls,datehour,user_name,repository,pat_name,ips,repository_privacy,tag,digest,"
        "version_checks\n"
        f"1,2026/04/22/12,u,checkmarx/kics,old-pat,1.2.3.4,public,latest,{LATEST.upper()},0\n"
        f"1,2026/04/22/25,u,checkmarx/kics,old-pat,1.2.3.4,public,latest,{LATEST},0\n"
        "x,2026/04/22/12,u,nginx,old-pat,1.2.3.4,public,latest,,0\n"
    ).encode()
    assert not dockerhub_usage.sniff("x", data)  # header must start with datehour
    r = parse(data)
    (use,) = r.tables["image_uses"].to_dicts()
    assert (use["step"], use["digest"], use["ts_lo"]) == ("old-pat", LATEST, HOUR_12)
    assert r.files[PATH].unparsed == 2


def test_garbage_never_raises() -> None:
    for data in (b"", b"\n\n", b"\xff\xfe\x00", HEADER.encode(), b'"unterminated\n,,,\n'):
        r = parse(data)
        assert "image_uses" not in r.tables


def test_sniff_accepts_the_fixture_only() -> None:
    head = FIXTURE.read_bytes()[:HEAD_BYTES]
    assert dockerhub_usage.sniff(PATH, head)
    assert dockerhub_usage.sniff(PATH, b"\xef\xbb\xbf" + head)
    assert dockerhub_usage.sniff(PATH, b'"datehour","repository","digest"\n')
    assert not dockerhub_usage.sniff(PATH, b"user_name,repository,digest\n")
    assert not dockerhub_usage.sniff(PATH, b'{"datehour": 1, "repository": "digest"}')
    others = [name for name, m in REGISTRY.items() if m.sniff(PATH, head)]
    assert others in ([], [dockerhub_usage.NAME])


def _sample_members() -> list[tuple[str, bytes]]:
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(SAMPLE) as bundle:
        return [(m.path, m.data) for m in walk(bundle, errors) if not is_zip(m.data)]


@pytest.mark.parametrize(("path", "data"), _sample_members(), ids=lambda v: str(v)[:60])
def test_sniff_rejects_sample_bundle_files(path: str, data: bytes) -> None:
    # the sample bundle holds one usage export of its own
    assert dockerhub_usage.sniff(path, data[:HEAD_BYTES]) == path.startswith("dockerhub/usage-")

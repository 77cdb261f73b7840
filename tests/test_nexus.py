from datetime import UTC, datetime

import pytest

from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.layout import context
from forensics.parsers import REGISTRY, nexus, registry_log
from forensics.parsers._base import ParseResult, Source

from .conftest import ROOT, SAMPLE

FIXTURE = ROOT / "tests/fixtures/nexus/request.log"
REGISTRY_LOG = ROOT / "tests/fixtures/registry_log/registry.log"
PATH = "registries/nexus-proxy/request.log"
ALPINE = "sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d"
ROUTED = "nexus-proxy/docker-proxy/checkmarx/kics"
PORT = "nexus-proxy/checkmarx/kics"
LINE = (
    '10.0.5.31 - - [22/Apr/2026:14:41:07 +0200] "GET /repository/docker-proxy/v2/checkmarx/'
    'kics/manifests/latest HTTP/1.1" 200 1958 35 "docker/27.3.1" [qtp1085283394-902]'
)
COMBINED = (
    '10.0.4.17 - - [22/Apr/2026:12:48:00 +0000] "GET /v2/checkmarx/kics/manifests/latest '
    'HTTP/1.1" 200 1958 "" "docker/27.3.1"'
)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(data: bytes, path: str = PATH) -> ParseResult:
    return nexus.parse([(Source(path, context(path)), data)])


def test_fixture_uses() -> None:
    uses = parse(FIXTURE.read_bytes()).tables["image_uses"]
    assert set(uses.get_column("format")) == {"nexus"}
    assert set(uses.get_column("actor_kind")) == {"cache"}
    assert set(uses.get_column("host")) == {"nexus-proxy"}
    assert uses.select("action", "image", "tag", "digest", "peer", "line", "evidence_lines").rows(
    ) == [
        ("served", ROUTED, "latest", None, "10.0.5.31", 2, [2]),
        ("checked", ROUTED, None, ALPINE, "10.0.5.31", 3, [3]),
        ("served", PORT, None, ALPINE, "10.0.5.32", 4, [4]),  # connector port: no repo name
        ("served", ROUTED, None, ALPINE, "10.0.5.34", 8, [8]),  # no [thread], a query string
        ("served", ROUTED, "latest", None, "10.0.5.35", 9, [9]),
    ]  # fmt: skip
    refs = uses.get_column("ref").to_list()
    assert refs[:3] == [f"{ROUTED}:latest", f"{ROUTED}@{ALPINE}", f"{PORT}@{ALPINE}"]
    assert set(uses.get_column("digest_kind")) == {None}
    times = uses.select("ts_lo", "ts_hi").rows()
    # +0200 local time, to the second
    assert times[0] == (t("2026-04-22 12:41:07"), t("2026-04-22 12:41:07.999999"))
    assert times[4] == (t("2026-04-22 13:10:59"), t("2026-04-22 13:10:59.999999"))


def test_fixture_coverage_and_evidence() -> None:
    r = parse(FIXTURE.read_bytes())
    stats = r.files[PATH]
    assert (stats.lines, stats.unparsed) == (9, 1)
    assert sorted(stats.errors, key=lambda e: e[0] or 0) == [
        (7, "not a Nexus request.log line"),
        (9, "invalid UTF-8 bytes (replaced with U+FFFD)"),
    ]
    evidence = r.tables["evidence"].sort("line")
    assert evidence.get_column("line").to_list() == [2, 3, 4, 8, 9]
    assert "<script>alert(1)</script>" in evidence.filter(line=8).item(0, "text")


def test_registry_access_lines_are_not_nexus_lines() -> None:
    r = parse(f"{COMBINED}\n".encode())
    assert "image_uses" not in r.tables
    assert r.files[PATH].unparsed == 1


def test_host_outside_the_layout_and_ipv6_peer() -> None:
    line = LINE.replace("10.0.5.31", "2001:db8::7")
    (use,) = parse(line.encode(), path="misc/request.log").tables["image_uses"].to_dicts()
    assert use["ref"] == "misc/docker-proxy/checkmarx/kics:latest"
    assert use["peer"] == "2001:db8::7"


def test_failures_blobs_and_other_methods_are_not_uses() -> None:
    lines = [
        LINE.replace('" 200 ', '" 401 '),
        LINE.replace('"GET ', '"PUT '),
        LINE.replace("manifests/latest", "blobs/" + ALPINE),
    ]
    r = parse("\n".join(lines).encode())
    assert "image_uses" not in r.tables
    assert r.files[PATH].unparsed == 0


def test_garbage_never_raises() -> None:
    for data in (b"", b"\n", b"\xff\xfe", b'- - - [x] "GET', b'a b c [] "" 1 2 3 ""'):
        r = parse(data)
        assert "image_uses" not in r.tables


def test_sniff_accepts_the_fixture_and_shapes() -> None:
    assert nexus.sniff(PATH, FIXTURE.read_bytes()[:HEAD_BYTES])
    assert nexus.sniff(PATH, LINE.encode())
    assert nexus.sniff(PATH, LINE.removesuffix(" [qtp1085283394-902]").encode())
    other = LINE.replace("/repository/docker-proxy/v2/checkmarx/kics", "/service/rest/v1")
    assert not nexus.sniff(PATH, other.encode())
    assert not nexus.sniff(PATH, COMBINED.encode())


def test_sniff_never_overlaps_registry_log() -> None:
    head = REGISTRY_LOG.read_bytes()[:HEAD_BYTES]
    assert registry_log.sniff(PATH, head) and not nexus.sniff(PATH, head)
    assert not registry_log.sniff(PATH, FIXTURE.read_bytes()[:HEAD_BYTES])


def test_no_registered_parser_takes_the_fixture() -> None:
    head = FIXTURE.read_bytes()[:HEAD_BYTES]
    others = [m for name, m in REGISTRY.items() if name != nexus.NAME]
    assert [m.NAME for m in others if m.sniff(PATH, head)] == []


def _sample_members() -> list[tuple[str, bytes]]:
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(SAMPLE) as bundle:
        return [(m.path, m.data) for m in walk(bundle, errors) if not is_zip(m.data)]


@pytest.mark.parametrize(("path", "data"), _sample_members(), ids=lambda v: str(v)[:60])
def test_sniff_rejects_sample_bundle_files(path: str, data: bytes) -> None:
    # the sample bundle holds one Nexus log of its own
    assert nexus.sniff(path, data[:HEAD_BYTES]) == (path == "registries/nexus-proxy/request.log")

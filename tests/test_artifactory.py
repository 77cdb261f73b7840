from datetime import UTC, datetime

import pytest

from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.layout import context
from forensics.parsers import REGISTRY, artifactory
from forensics.parsers._base import ParseResult, Source

from .conftest import ROOT, SAMPLE

FIXTURE = ROOT / "tests/fixtures/artifactory/request.log"
REGISTRY_LOG = ROOT / "tests/fixtures/registry_log/registry.log"
PATH = "registries/artifactory-cache/request.log"
LATEST = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
IMAGE = "artifactory-cache/dockerhub-remote/checkmarx/kics"
V7 = (
    "2018-11-18T15:39:04.902Z|d5d75b3c41242768|127.0.0.1|anonymous|GET|api/v1/cert/root|200|0|6|0|"
    "UA"
)
V6 = "20200312164423|93|REQUEST|172.17.0.1|anonymous|GET|/webapp/|HTTP/1.1|200|0"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(data: bytes, path: str = PATH) -> ParseResult:
    return artifactory.parse([(Source(path, context(path)), data)])


def test_fixture_uses() -> None:
    uses = parse(FIXTURE.read_bytes()).tables["image_uses"]
    assert set(uses.get_column("format")) == {"artifactory"}
    assert set(uses.get_column("actor_kind")) == {"cache"}
    assert set(uses.get_column("host")) == {"artifactory-cache"}
    assert set(uses.get_column("image")) == {IMAGE}
    assert uses.select("action", "tag", "digest", "peer", "line", "evidence_lines").rows() == [
        ("served", "latest", None, "10.0.4.21", 2, [2]),
        ("served", None, LATEST, "10.0.4.21", 3, [3]),
        ("checked", "latest", None, "10.0.4.22", 5, [5]),
        ("served", "latest", None, "10.0.4.23", 6, [6]),  # stored list.manifest.json
        ("served", None, LATEST, "10.0.4.23", 7, [7]),  # stored sha256__<hex>/manifest.json
        ("served", "latest", None, "10.0.4.24", 9, [9]),
        ("served", None, LATEST, "10.0.4.25", 11, [11]),
    ]
    refs = uses.get_column("ref").to_list()
    assert refs[0] == f"{IMAGE}:latest" and refs[1] == f"{IMAGE}@{LATEST}"
    assert set(uses.get_column("digest_kind")) == {None}
    times = uses.select("ts_lo", "ts_hi").rows()
    assert times[0] == (t("2026-04-22 12:40:01.123"), t("2026-04-22 12:40:01.123999"))
    assert times[3] == (t("2026-04-22 12:58:10"), t("2026-04-22 12:58:10.000999"))
    assert times[6] == (t("2026-04-22 13:29:59.999"), t("2026-04-22 13:29:59.999999"))


def test_fixture_coverage_and_evidence() -> None:
    r = parse(FIXTURE.read_bytes())
    stats = r.files[PATH]
    assert (stats.lines, stats.unparsed) == (11, 1)
    assert sorted(stats.errors, key=lambda e: e[0] or 0) == [
        (10, "not an Artifactory request log line (7 or 6 pipe layout)"),
        (11, "invalid UTF-8 bytes (replaced with U+FFFD)"),
    ]
    evidence = r.tables["evidence"].sort("line")
    assert evidence.get_column("line").to_list() == [2, 3, 5, 6, 7, 9, 11]
    assert "<script>alert(1)</script>" in evidence.filter(line=9).item(0, "text")


def test_artifactory6_and_other_shapes() -> None:
    v6 = V6.replace("/webapp/", "/api/docker/hub/v2/checkmarx/kics/manifests/" + LATEST)
    v2 = V7.replace("api/v1/cert/root", "v2/hub/checkmarx/kics/manifests/latest?x=1")
    data = "\n".join([V6, V7, v6, v2, ""]).encode()
    r = parse(data, path="misc/request.log")
    assert r.files["misc/request.log"].unparsed == 0
    rows = r.tables["image_uses"].select("ref", "tag", "digest", "peer", "ts_lo", "ts_hi").rows()
    assert rows == [
        (f"misc/hub/checkmarx/kics@{LATEST}", None, LATEST, "172.17.0.1",
         t("2020-03-12 16:44:23"), t("2020-03-12 16:44:23.999999")),
        ("misc/hub/checkmarx/kics:latest", "latest", None, "127.0.0.1",
         t("2018-11-18 15:39:04.902"), t("2018-11-18 15:39:04.902999")),
    ]  # fmt: skip


def test_failures_blobs_and_other_methods_are_not_uses() -> None:
    manifest = "api/docker/hub/v2/checkmarx/kics/manifests/latest"
    lines = [
        V7.replace("api/v1/cert/root", manifest).replace("|200|", "|404|"),
        V7.replace("api/v1/cert/root", manifest).replace("|GET|", "|PUT|"),
        V7.replace("api/v1/cert/root", "api/docker/hub/v2/checkmarx/kics/blobs/" + LATEST),
    ]
    r = parse("\n".join(lines).encode())
    assert "image_uses" not in r.tables
    assert r.files[PATH].unparsed == 0


def test_garbage_never_raises() -> None:
    for data in (b"", b"\n", b"\xff\xfe", b"2026-04-22T12:40:00Z|", b"|||||||||||", b"2|||GET"):
        r = parse(data)
        assert "image_uses" not in r.tables


def test_sniff_accepts_the_fixture_and_shapes() -> None:
    assert artifactory.sniff(PATH, FIXTURE.read_bytes()[:HEAD_BYTES])
    assert artifactory.sniff(PATH, V7.encode())
    assert artifactory.sniff(PATH, V6.encode())
    assert not artifactory.sniff(PATH, V7.replace("|GET|", "|POST|").encode())
    assert not artifactory.sniff(PATH, REGISTRY_LOG.read_bytes()[:HEAD_BYTES])
    access = b"2020-05-15 15:52:11,456 [4b1b8a0b04e31b80] [ACCEPTED DOWNLOAD] x for anonymous/1."
    assert not artifactory.sniff(PATH, access)


def test_no_registered_parser_takes_the_fixture() -> None:
    head = FIXTURE.read_bytes()[:HEAD_BYTES]
    others = [m for name, m in REGISTRY.items() if name != artifactory.NAME]
    assert [m.NAME for m in others if m.sniff(PATH, head)] == []


def _sample_members() -> list[tuple[str, bytes]]:
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(SAMPLE) as bundle:
        return [(m.path, m.data) for m in walk(bundle, errors) if not is_zip(m.data)]


@pytest.mark.parametrize(("path", "data"), _sample_members(), ids=lambda v: str(v)[:60])
def test_sniff_rejects_sample_bundle_files(path: str, data: bytes) -> None:
    # the sample bundle holds one Artifactory log of its own
    expected = path == "registries/artifactory-cache/request.log"
    assert artifactory.sniff(path, data[:HEAD_BYTES]) == expected


def test_peers_lose_ports_but_not_ipv6_groups() -> None:
    manifest = "api/docker/hub/v2/checkmarx/kics/manifests/latest"
    lines = [
        V7.replace("api/v1/cert/root", manifest).replace("127.0.0.1", addr)
        for addr in ("10.0.0.1:5555", "2001:db8::7", "[2001:db8::8]:443", "ci.example")
    ]
    uses = parse("\n".join(lines).encode()).tables["image_uses"]
    assert uses.get_column("peer").to_list() == [
        "10.0.0.1",
        "2001:db8::7",
        "2001:db8::8",
        "ci.example",
    ]

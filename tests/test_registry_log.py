from datetime import UTC, datetime

import pytest

from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.layout import context
from forensics.parsers import REGISTRY, registry_log
from forensics.parsers._base import ParseResult, Source

from .conftest import ROOT, SAMPLE

FIXTURE = ROOT / "tests/fixtures/registry_log/registry.log"
PATH = "registries/harbor-cache/registry.log"
LATEST = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
ALPINE = "sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d"
PLATFORM = "sha256:" + "5e" * 32
REPO = "harbor-cache/dockerhub/checkmarx/kics"
LOGRUS = (
    'time="2026-04-22T12:41:07.250000123Z" level=info msg="response completed" '
    'http.request.host="localhost:5000" http.request.method=GET '
    'http.request.uri="/v2/library/nginx/manifests/latest" http.response.status=200'
)
ACCESS = (
    '2001:db8::1 - - [22/Apr/2026:12:41:07 +0000] "GET /v2/library/nginx/manifests/latest '
    'HTTP/1.1" 200 1958 "" "cri-o/1.34.0"'
)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(data: bytes, path: str = PATH) -> ParseResult:
    return registry_log.parse([(Source(path, context(path)), data)])


def test_fixture_uses() -> None:
    r = parse(FIXTURE.read_bytes())
    uses = r.tables["image_uses"]
    assert set(uses.get_column("host")) == {"harbor-cache"}
    assert set(uses.get_column("actor_kind")) == {"cache"}
    assert set(uses.get_column("image")) == {REPO}
    assert uses.select("action", "tag", "digest", "digest_kind", "line", "evidence_lines").rows(
    ) == [
        ("served", "latest", None, None, 2, [2, 3]),
        ("cached", None, LATEST, None, 4, [4]),
        ("served", None, PLATFORM, "platform", 5, [5, 6]),
        ("checked", "alpine", None, None, 7, [7, 8]),
        ("served", None, ALPINE, None, 9, [9]),
        ("served", "latest", None, None, 10, [10]),  # lines straddle a second: kept apart
        ("served", "latest", None, None, 11, [11]),
        ("served", "alpine", None, None, 15, [15]),
    ]  # fmt: skip
    refs = uses.get_column("ref").to_list()
    assert refs[0] == f"{REPO}:latest" and refs[1] == f"{REPO}@{LATEST}"
    times = uses.select("ts_lo", "ts_hi").rows()
    assert times[0] == (t("2026-04-22 12:41:07.250000"), t("2026-04-22 12:41:07.250001"))
    assert times[1] == (t("2026-04-22 12:41:07.300000"), t("2026-04-22 12:41:07.300001"))
    assert times[3] == (t("2026-04-22 12:45:10.500000"), t("2026-04-22 12:45:10.599999"))
    assert times[4] == (t("2026-04-22 12:46:02"), t("2026-04-22 12:46:02.999999"))
    assert times[7] == (t("2026-04-22 12:51:00"), t("2026-04-22 12:51:00.999999"))


def test_fixture_coverage_and_evidence() -> None:
    r = parse(FIXTURE.read_bytes())
    stats = r.files[PATH]
    assert (stats.lines, stats.unparsed) == (15, 1)
    assert sorted(stats.errors, key=lambda e: e[0] or 0) == [
        (14, "not a registry log line (logrus or access format)"),
        (15, "invalid UTF-8 bytes (replaced with U+FFFD)"),
    ]
    evidence = r.tables["evidence"].sort("line")
    assert evidence.get_column("line").to_list() == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15]
    assert "<script>alert(1)</script>" in evidence.filter(line=11).item(0, "text")


def test_registry_host_from_request_outside_the_layout() -> None:
    r = parse(f"{LOGRUS}\n{ACCESS}\n".encode(), path="misc/registry.log")
    (use,) = r.tables["image_uses"].to_dicts()
    assert use["ref"] == "localhost:5000/library/nginx:latest"
    assert use["image"] == "localhost:5000/library/nginx"
    assert use["evidence_lines"] == [1, 2]
    assert r.files["misc/registry.log"].unparsed == 0


def test_repeated_requests_pair_in_order_and_failures_are_not_uses() -> None:
    failed = LOGRUS.replace("status=200", "status=401")
    blob = ACCESS.replace("manifests/latest", "blobs/" + LATEST)
    data = "\n".join([LOGRUS, LOGRUS, ACCESS, ACCESS, ACCESS, failed, blob, ""]).encode()
    uses = parse(data).tables["image_uses"]
    assert uses.get_column("evidence_lines").to_list() == [[1, 3], [2, 4], [5]]


def test_garbage_never_raises() -> None:
    for data in (b"", b"\n", b"\xff\xfe", b'time="x" level=info msg=', b'- - - [x] "GET'):
        r = parse(data)
        assert "image_uses" not in r.tables


def test_sniff_accepts_the_fixture_and_shapes() -> None:
    head = FIXTURE.read_bytes()[:HEAD_BYTES]
    assert registry_log.sniff(PATH, head)
    assert registry_log.sniff(PATH, LOGRUS.encode())
    assert registry_log.sniff(PATH, ACCESS.encode())
    dockerd = b'time="2026-04-22T12:41:07Z" level=info msg="Pulling image checkmarx/kics"\n'
    assert not registry_log.sniff(PATH, dockerd)
    nginx = ACCESS.replace("/v2/library/nginx/manifests/latest", "/index.html").encode()
    assert not registry_log.sniff(PATH, nginx)


def test_no_parser_before_this_one_takes_the_fixture() -> None:
    head = FIXTURE.read_bytes()[:HEAD_BYTES]
    accepted = [name for name, m in REGISTRY.items() if m.sniff(PATH, head)]
    assert accepted[:1] in ([], [registry_log.NAME])


def _sample_members() -> list[tuple[str, bytes]]:
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(SAMPLE) as bundle:
        return [(m.path, m.data) for m in walk(bundle, errors) if not is_zip(m.data)]


@pytest.mark.parametrize(("path", "data"), _sample_members(), ids=lambda v: str(v)[:60])
def test_sniff_rejects_sample_bundle_files(path: str, data: bytes) -> None:
    # the sample bundle holds one registry log of its own
    expected = path == "registries/harbor-cache/registry.log"
    assert registry_log.sniff(path, data[:HEAD_BYTES]) == expected


def test_clients_are_kept_as_peers() -> None:
    uses = parse(FIXTURE.read_bytes()).tables["image_uses"]
    peers = set(uses.get_column("peer").drop_nulls())
    assert peers and all(":" not in p or p.count(":") > 1 for p in peers)  # ports dropped

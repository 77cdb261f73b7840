import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from forensics import schema
from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.parsers import REGISTRY, kubernetes
from forensics.parsers._base import ParseResult, Source

FIXTURES = Path(__file__).parent / "fixtures" / "kubernetes"
SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "kics-incident"
KICS = "docker.io/checkmarx/kics"
KICS_DIGEST = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
NGINX_DIGEST = "sha256:6550554427248228c13cf8f8a95dac922c142ddb947db938add3d4637a6be9cd"
BUSYBOX_DIGEST = "sha256:" + "b" * 64
EVENTS = "kubernetes/prod/events.json"
PODS = "kubernetes/prod/pods.json"
UTF8 = "invalid UTF-8 bytes (replaced with U+FFFD)"
COLS = ("action", "image", "tag", "digest", "digest_kind", "cached", "host", "step")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse_fixture(name: str, path: str) -> ParseResult:
    return kubernetes.parse([(Source(path, {}), (FIXTURES / name).read_bytes())])


def parse_doc(doc: object, path: str = "k/x.json", indent: int | None = 4) -> ParseResult:
    data = json.dumps(doc, indent=indent).encode()
    return kubernetes.parse([(Source(path, {"host": "ctx-host"}), data)])


def uses(r: ParseResult) -> list[dict[str, object]]:
    return r.tables["image_uses"].to_dicts()


def event(reason: str, message: str, ts: str, **extra: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "count": 1,
        "firstTimestamp": ts,
        "involvedObject": {"kind": "Pod", "name": "p1", "namespace": "ns"},
        "kind": "Event",
        "lastTimestamp": ts,
        "message": message,
        "reason": reason,
        "source": {"component": "kubelet", "host": "node-a"},
    } | extra


def listed(*items: object) -> dict[str, object]:
    return {"apiVersion": "v1", "items": list(items), "kind": "List", "metadata": {}}


def test_events_fixture_uses() -> None:
    r = parse_fixture("events.json", EVENTS)
    got = r.tables["image_uses"]
    assert got.schema == schema.IMAGE_USES
    pull, cached = uses(r)
    assert tuple(pull[c] for c in COLS) == (
        "pull", KICS, "latest", None, None, False, "k8s-node-1", "ci/kics-scan-7d9f"
    )  # fmt: skip
    assert (pull["ref"], pull["line"], pull["evidence_lines"]) == (
        "checkmarx/kics:latest",
        51,
        [51, 84],
    )
    assert (pull["ts_lo"], pull["ts_hi"]) == (
        t("2026-04-22T12:50:01"),
        t("2026-04-22T12:50:10.999999"),
    )
    assert tuple(cached[c] for c in COLS) == (
        "already-present", KICS, "alpine", None, None, True, "k8s-node-1", "ci/kics-nightly-2b8c"
    )  # fmt: skip
    assert (cached["line"], cached["evidence_lines"]) == (216, [216])
    # count 4: from the first to the end of the last second it was seen
    assert (cached["ts_lo"], cached["ts_hi"]) == (
        t("2026-04-22T15:00:00"),
        t("2026-04-22T15:09:30.999999"),
    )
    assert {u["format"] for u in uses(r)} == {"kubernetes"}
    assert {u["actor_kind"] for u in uses(r)} == {"host"}


def test_events_fixture_coverage_and_evidence() -> None:
    r = parse_fixture("events.json", EVENTS)
    assert r.files[EVENTS].lines == 271
    assert r.files[EVENTS].unparsed == 0
    assert r.files[EVENTS].errors == [(84, UTF8)]
    evidence = r.tables["evidence"].sort("line")
    assert evidence.get_column("line").to_list() == [51, 84, 216]
    assert "\ufffd" in evidence.get_column("text")[1]
    # the <script> event (kubectl writes it as \u003c...) is no image use and cited nowhere
    raw = (FIXTURES / "events.json").read_bytes()
    assert b"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in raw


def test_pods_fixture_uses() -> None:
    r = parse_fixture("pods.json", PODS)
    assert r.files[PODS].unparsed == 0 and r.files[PODS].errors == []
    rows = [
        (u["image"], u["tag"], u["digest"], u["digest_kind"], u["host"], u["step"], u["ts_lo"],
         u["line"], u["evidence_lines"], u["cached"], u["action"])
        for u in uses(r)
    ]  # fmt: skip
    assert rows == [
        (KICS, "latest", KICS_DIGEST, "index", "k8s-node-1", "ci/kics-scan-7d9f",
         t("2026-04-22T12:50:11"), 48, [48], False, "pod-container"),
        ("docker.io/library/busybox", "1.36", BUSYBOX_DIGEST, "index", "k8s-node-1",
         "ci/kics-scan-7d9f", t("2026-04-22T12:49:59"), 70, [70], False, "pod-container"),
        # docker-pullable:// (dockershim) stripped; two containers of one image, each its line
        ("docker.io/library/nginx", "1.25-alpine", NGINX_DIGEST, "index", "k8s-node-2",
         "default/web-5c4d", t("2026-04-22T13:00:05"), 148, [148], False, "pod-container"),
        ("docker.io/library/nginx", "1.25-alpine", NGINX_DIGEST, "index", "k8s-node-2",
         "default/web-5c4d", t("2026-04-22T13:00:04"), 163, [163], False, "pod-container"),
    ]  # fmt: skip
    first = uses(r)[0]
    assert first["ts_hi"] == t("2026-04-22T12:50:11.999999")
    assert r.tables["evidence"].get_column("line").sort().to_list() == [48, 70, 148, 163]


def test_truncated_document_is_an_error_not_an_exception() -> None:
    r = parse_fixture("truncated.json", "k/cut.json")
    assert "image_uses" not in r.tables
    stats = r.files["k/cut.json"]
    assert stats.unparsed == stats.lines == 216
    assert stats.errors == [
        (84, UTF8),
        (216, "invalid JSON: Unterminated string starting at (column 24)"),
    ]


def test_events_k8s_io_v1_old_wording_and_failures() -> None:
    new = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "eventTime": "2026-04-22T12:50:01.250000Z",
        "regarding": {"kind": "Pod", "name": "p2", "namespace": "ns"},
        "reason": "Pulling",
        "note": 'Pulling image "ghcr.io/acme/tool@sha256:' + "c" * 64 + '"',
        "reportingController": "kubelet",
        "reportingInstance": "node-b",
    }
    r = parse_doc(
        {"apiVersion": "events.k8s.io/v1", "kind": "EventList", "items": [new]} | {"metadata": {}}
    )
    (u,) = uses(r)
    assert (u["image"], u["tag"], u["digest"], u["digest_kind"]) == (
        "ghcr.io/acme/tool", None, "sha256:" + "c" * 64, "index"
    )  # fmt: skip
    assert (u["host"], u["step"], u["ts_lo"], u["ts_hi"]) == (
        "node-b", "ns/p2", t("2026-04-22T12:50:01.25"), t("2026-04-22T12:50:01.25")
    )  # fmt: skip
    assert u["line"] == 15  # the "note" line
    r = parse_doc(
        listed(
            event("Pulling", 'pulling image "alpine"', "2026-04-22T10:00:00Z"),
            event("Pulling", 'Pulling image "evil:1"', "2026-04-22T10:00:01Z"),
            event(
                "Failed",
                'Failed to pull image "evil:1": rpc error: not found',
                "2026-04-22T10:00:02Z",
            ),
            event("Failed", "Error: ErrImagePull", "2026-04-22T10:00:02Z"),
            event("Pulling", "Pulling image ???", "2026-04-22T10:00:03Z"),
        )  # fmt: skip
    )
    (u,) = uses(r)  # the failed pull is no use; the lone old-style Pulling is one
    assert (u["image"], u["tag"], u["action"], u["evidence_lines"]) == (
        "docker.io/library/alpine", "latest", "pull", [u["line"]]
    )  # fmt: skip
    stats = r.files["k/x.json"]
    assert stats.unparsed == 1
    assert [e[1] for e in stats.errors] == [kubernetes.NOT_AN_IMAGE_EVENT]


def test_pulled_pairs_with_the_pulling_of_its_own_pod_and_falls_back_to_context_host() -> None:
    other = {"kind": "Pod", "name": "p9", "namespace": "ns"}
    r = parse_doc(
        listed(
            event("Pulling", 'Pulling image "kics:v1"', "2026-04-22T10:00:00Z"),
            event("Pulling", 'Pulling image "kics:v1"', "2026-04-22T10:00:05Z",
                  involvedObject=other, source={}),
            event("Pulled", 'Successfully pulled image "kics:v1" in 1s', "2026-04-22T10:00:09Z",
                  involvedObject=other, source={}),
        ),
        indent=None,
    )  # fmt: skip
    lone, pulled = sorted(uses(r), key=lambda u: str(u["step"]))
    assert (lone["step"], lone["host"], lone["ts_lo"]) == (
        "ns/p1",
        "node-a",
        t("2026-04-22T10:00:00"),
    )
    assert (pulled["step"], pulled["host"]) == ("ns/p9", "ctx-host")
    assert (pulled["ts_lo"], pulled["ts_hi"]) == (
        t("2026-04-22T10:00:05"),
        t("2026-04-22T10:00:09.999999"),
    )
    # compact JSON: every item is on line 1
    assert pulled["evidence_lines"] == [1] and lone["line"] == 1


def test_pod_status_without_image_id_or_start_and_odd_items() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"nodeName": "node-c"},
        "status": {
            "containerStatuses": [
                {"image": "kics:v2", "imageID": "", "state": {"waiting": {}}},
                {"image": "sha256:" + "d" * 64, "imageID": "docker://sha256:" + "d" * 64,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                "junk",
            ]
        },
    }  # fmt: skip
    r = parse_doc(listed(pod, 7, {"kind": "ConfigMap"}))
    (u,) = uses(r)
    assert (u["image"], u["digest"], u["digest_kind"], u["ts_lo"], u["host"]) == (
        None, "sha256:" + "d" * 64, "config", None, "node-c"
    )  # fmt: skip
    stats = r.files["k/x.json"]
    assert stats.unparsed == 2
    assert [e[1] for e in stats.errors] == [kubernetes.NOT_AN_ITEM] * 2


@pytest.mark.parametrize(
    "data",
    [b"", b"{}", b"[]", b'{"items": 5}', b'{"items": [', b"\xff\xfe{", b'{"kind": "List"}'],
)
def test_bad_documents_never_raise(data: bytes) -> None:
    r = kubernetes.parse([(Source("k/bad.json", {}), data)])
    assert "image_uses" not in r.tables
    assert r.files["k/bad.json"].errors or data == b""


def test_empty_batch() -> None:
    assert kubernetes.parse([]).tables == {}


@pytest.mark.parametrize("fixture", ["events.json", "pods.json", "truncated.json"])
def test_sniff_fixtures(fixture: str) -> None:
    assert kubernetes.sniff(fixture, (FIXTURES / fixture).read_bytes()[:HEAD_BYTES])


def test_sniff_negative() -> None:
    assert not kubernetes.sniff("x", b'{"total_count": 1, "jobs": [{"id": 1, "steps": []}]}')
    assert not kubernetes.sniff("x", b'{"logs": [{"account": "a", "action": "repo.tag.push"}]}')
    docker_event = b'{"Type":"image","Action":"pull","Actor":{"ID":"node:20"},"time":1776861300}'
    assert not kubernetes.sniff("x", docker_event)
    assert not kubernetes.sniff("x", b'[{"Id": "sha256:00", "RepoTags": [], "RepoDigests": []}]')
    assert not kubernetes.sniff("x", b'{"apiVersion": "v1", "kind": "List", "items": []}')
    assert not kubernetes.sniff("x", b"REPOSITORY   TAG   IMAGE ID   CREATED   SIZE\n")


def _sample_members() -> list[tuple[str, bytes]]:
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(SAMPLE) as bundle:
        return [(m.path, m.data[:HEAD_BYTES]) for m in walk(bundle, errors) if not is_zip(m.data)]


def test_sniff_rejects_every_sample_log() -> None:
    members = _sample_members()
    assert len(members) > 20
    assert [p for p, head in members if kubernetes.sniff(p, head)] == [
        "kubernetes/prod-eu/events.json",
        "kubernetes/prod-eu/pods.json",
    ]


@pytest.mark.parametrize("fixture", ["events.json", "pods.json", "truncated.json"])
def test_fixtures_rejected_by_every_other_parser(fixture: str) -> None:
    head = (FIXTURES / fixture).read_bytes()[:HEAD_BYTES]
    others = [name for name, m in REGISTRY.items() if name != kubernetes.NAME]
    assert [name for name in others if REGISTRY[name].sniff(fixture, head)] == []


def test_evidence_is_a_subset_of_cited_lines() -> None:
    r = kubernetes.parse(
        [
            (Source(EVENTS, {}), (FIXTURES / "events.json").read_bytes()),
            (Source(PODS, {}), (FIXTURES / "pods.json").read_bytes()),
        ]
    )
    cited = r.tables["image_uses"].select("file", pl.col("evidence_lines").alias("line"))
    cited = cited.explode("line").unique().sort("file", "line")
    assert r.tables["evidence"].select("file", "line").sort("file", "line").equals(cited)
    assert r.tables["image_uses"].height == 6

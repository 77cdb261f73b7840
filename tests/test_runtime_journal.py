import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.parsers import REGISTRY, runtime_journal
from forensics.parsers._base import ParseResult, Source

FIXTURES = Path(__file__).parent / "fixtures" / "runtime_journal"
SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "kics-incident"
KICS_ALPINE = "sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d"
KICS_LATEST = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
DOCKER = "hosts/build-07/docker-journal.txt"
CRI = "hosts/node-a1/containerd-cri.txt"
JSON = "hosts/node-b2/journal.json"
UTF8 = "invalid UTF-8 bytes (replaced with U+FFFD)"
NOT_A_LINE = runtime_journal.NOT_A_LINE
BROKEN = runtime_journal.BROKEN_LOGRUS
FIELDS = ("host", "ref", "image", "tag", "digest", "digest_kind", "ts_lo", "ts_hi", "line")


def h(text: str) -> str:
    """The synthetic digests the fixtures were written with."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fixture(path: str) -> tuple[Source, bytes]:
    return Source(path, {"host": path.split("/")[1]}), (FIXTURES / Path(path).name).read_bytes()


def uses(r: ParseResult) -> list[tuple[object, ...]]:
    rows = r.tables["image_uses"].sort("file", "line").to_dicts()
    return [(*(u[k] for k in FIELDS), u["evidence_lines"]) for u in rows]


def parse_text(*lines: str | bytes, path: str = "hosts/h1/runtime.log") -> ParseResult:
    data = b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n"
    return runtime_journal.parse([(Source(path, {"host": "h1"}), data)])


def test_dockerd_journal_text() -> None:
    r = runtime_journal.parse([fixture(DOCKER)])
    assert uses(r) == [
        ("build-07", "docker.io/library/alpine:3.20", "docker.io/library/alpine", "3.20",
         h("alpine:3.20 index"), "index",
         t("2026-04-22 13:15:09.877001"), t("2026-04-22 13:15:09.877002"), 5, [5]),
        ("build-07", "docker.io/checkmarx/kics:alpine", "docker.io/checkmarx/kics", "alpine",
         KICS_ALPINE, "index",
         t("2026-04-22 13:15:13.482915"), t("2026-04-22 13:15:13.482916"), 6, [6]),
    ]  # fmt: skip
    u = r.tables["image_uses"].row(0, named=True)
    assert (u["format"], u["actor_kind"], u["action"], u["cached"]) == (
        "runtime_journal", "host", "pull", False,
    )  # fmt: skip
    stats = r.files[DOCKER]
    assert (stats.lines, stats.unparsed) == (11, 2)
    assert sorted(stats.errors, key=str) == sorted(
        [(9, BROKEN), (10, NOT_A_LINE), (11, UTF8)], key=str
    )
    assert sorted(r.tables["evidence"].get_column("line").to_list()) == [5, 6]


def test_containerd_cri_lines_of_one_pull_are_one_use() -> None:
    r = runtime_journal.parse([fixture(CRI)])
    assert uses(r) == [
        ("node-a1", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause", "3.9",
         h("pause:3.9 index"), "index",
         t("2026-04-22 13:39:59.020000"), t("2026-04-22 13:39:59.040000"), 3, [3, 4, 5]),
        # line 6 ("PullImage" start, 4 s earlier) names no digest; line 8 is the bare image ID
        ("node-a1", "docker.io/checkmarx/kics:latest", "docker.io/checkmarx/kics", "latest",
         KICS_LATEST, "index",
         t("2026-04-22 13:40:05.771002"), t("2026-04-22 13:40:05.780005"), 7,
         [7, 9, 10, 11, 12]),
    ]  # fmt: skip
    stats = r.files[CRI]
    assert (stats.lines, stats.unparsed) == (14, 1)
    assert sorted(stats.errors, key=str) == sorted([(13, UTF8), (14, NOT_A_LINE)], key=str)
    assert sorted(r.tables["evidence"].get_column("line").to_list()) == [3, 4, 5, 7, 9, 10, 11, 12]


def test_journal_json_host_and_times() -> None:
    r = runtime_journal.parse([fixture(JSON)])
    assert uses(r) == [
        # logrus time (+02:00) wins over __REALTIME_TIMESTAMP
        ("node-b2.cluster.local", "docker.io/checkmarx/kics:alpine", "docker.io/checkmarx/kics",
         "alpine", KICS_ALPINE, "index",
         t("2026-04-22 13:15:13.482915"), t("2026-04-22 13:15:13.482916"), 2, [2]),
        # CRI-O plain message: the journal's exact µs stamp
        ("node-b2.cluster.local", f"docker.io/checkmarx/kics@{KICS_LATEST}",
         "docker.io/checkmarx/kics", None, KICS_LATEST, "index",
         t("2026-04-22 13:16:13.000123"), t("2026-04-22 13:16:13.000123"), 3, [3]),
    ]  # fmt: skip
    stats = r.files[JSON]
    assert (stats.lines, stats.unparsed) == (6, 1)
    assert sorted(stats.errors, key=str) == sorted([(5, UTF8), (6, NOT_A_LINE)], key=str)


def test_batch_of_files_keeps_files_apart() -> None:
    r = runtime_journal.parse([fixture(DOCKER), fixture(CRI), fixture(JSON)])
    assert r.tables["image_uses"].height == 6
    assert set(r.files) == {DOCKER, CRI, JSON}
    assert r.tables["image_uses"].get_column("file").unique().len() == 3


def test_bare_logrus_and_terminal_forms() -> None:
    nginx = h("nginx index")
    r = parse_text(
        'time="2023-05-31T15:38:26.259996466Z" level=debug msg="Pulled image \\"nginx:stable\\"'
        f' with image id \\"{h("nginx config")}\\", repo tag \\"docker.io/library/nginx:stable\\",'
        f' repo digest \\"docker.io/library/nginx@{nginx}\\""',
        f"INFO[2025-09-11T10:01:26.994748261+02:00] Pulled image: docker.io/library/redis@{nginx}"
        " id=057b232a name=/runtime.v1.ImageService/PullImage",
        f"INFO[2026-04-22T13:15:13Z] image pulled  digest={KICS_ALPINE} "
        "remote=docker.io/checkmarx/kics:alpine",
    )
    assert uses(r) == [
        ("h1", "nginx:stable", "docker.io/library/nginx", "stable", nginx, "index",
         t("2023-05-31 15:38:26.259996"), t("2023-05-31 15:38:26.259997"), 1, [1]),
        ("h1", f"docker.io/library/redis@{nginx}", "docker.io/library/redis", None, nginx,
         "index", t("2025-09-11 08:01:26.994748"), t("2025-09-11 08:01:26.994749"), 2, [2]),
        # a time to the second covers the whole second
        ("h1", "docker.io/checkmarx/kics:alpine", "docker.io/checkmarx/kics", "alpine",
         KICS_ALPINE, "index", t("2026-04-22 13:15:13"), t("2026-04-22 13:15:13.999999"), 3,
         [3]),
    ]  # fmt: skip
    assert r.files["hosts/h1/runtime.log"].unparsed == 0


def test_config_digest_only_and_pulls_more_than_a_second_apart() -> None:
    cfg = h("kics config")
    line = (
        'time="2026-04-22T13:15:{s}.000000000Z" level=info msg="PullImage '
        f'\\"checkmarx/kics:latest\\" returns image reference \\"{cfg}\\""'
    )
    r = parse_text(line.format(s="13"), line.format(s="14"), line.format(s="16"))
    got = [(u[5], u[4], u[9]) for u in uses(r)]
    assert got == [("config", cfg, [1, 2]), ("config", cfg, [3])]


def test_syslog_time_is_never_used_and_hostname_comes_from_the_prefix() -> None:
    r = parse_text(f"Apr 22 13:15:13 node-9 crio[77]: Pulled image: quay.io/x/y@{KICS_LATEST} id=1")
    (u,) = r.tables["image_uses"].to_dicts()
    assert (u["host"], u["image"], u["ts_lo"], u["ts_hi"]) == ("node-9", "quay.io/x/y", None, None)


def test_go_struct_image_update_with_digest() -> None:
    r = parse_text(
        'Jul 10 17:02:22 cloud-node containerd[79222]: time="2025-07-10T17:02:22.302053978+08:00"'
        ' level=info msg="ImageUpdate event &ImageUpdate{Name:localhost:5001/heavy-py@'
        f'{KICS_LATEST},Labels:map[string]string{{io.cri-containerd.image: managed,}},}}"'
    )
    (u,) = uses(r)
    assert u == (
        "cloud-node", f"localhost:5001/heavy-py@{KICS_LATEST}", "localhost:5001/heavy-py", None,
        KICS_LATEST, "index", t("2025-07-10 09:02:22.302053"), t("2025-07-10 09:02:22.302054"),
        1, [1],
    )  # fmt: skip


def test_empty_batch_and_empty_file() -> None:
    assert runtime_journal.parse([]).tables == {}
    r = runtime_journal.parse([(Source("hosts/h1/x.log"), b"")])
    assert r.tables == {} and r.files["hosts/h1/x.log"].unparsed == 0


def test_garbage_never_raises() -> None:
    r = parse_text("{", '{"MESSAGE": 5}', "\x00\x01", 'time="x" level= msg="', "[]")
    assert "image_uses" not in r.tables
    stats = r.files["hosts/h1/runtime.log"]
    # a JSON object with MESSAGE is a journal record, whatever the message holds
    assert stats.unparsed == 4 and [n for n, _ in stats.errors] == [1, 3, 4, 5]


@pytest.mark.parametrize("name", [DOCKER, CRI, JSON])
def test_sniff_accepts_fixtures(name: str) -> None:
    assert runtime_journal.sniff(name, fixture(name)[1][:HEAD_BYTES])


@pytest.mark.parametrize(
    "head",
    [
        b'{"Type":"image","Action":"pull","Actor":{"ID":"node:20"},"time":1776861300}\n',
        b'{"status":"pull","id":"busybox:latest","time":1595821525}\n',
        b'[{"account": "checkmarx", "action": "repo.tag.push", "name": "x"}]',
        b'{"logs": [{"action": "repo.tag.push"}]}',
        b'{"total_count": 1, "jobs": [{"id": 1}]}',
        b"2026-04-22T12:41:07.1234567Z ##[group]Run x\n",
        b'2026-04-22T12:41:07.1234567Z time="2026-04-22T12:41:07Z" level=info msg="x"\n',
        b"\x1b[0KRunning with gitlab-runner 17.4.0 (b92ee590)\x1b[0;m\n",
        b"Started by user admin\nRunning as SYSTEM\n[Pipeline] Start of Pipeline\n",
        b"REPOSITORY   TAG   IMAGE ID   CREATED   SIZE\n",
        b'time="2025-09-11T08:01:26.99Z" level=info msg="response completed" go.version=go1.22'
        b' http.request.method=GET http.request.uri="/v2/x/manifests/1" service=registry\n',
        b'time="2025-09-11T08:01:26.99Z" level=info msg="Adding new scheduler entry for x@y"\n',
        b"",
    ],
)
def test_sniff_rejects_other_formats(head: bytes) -> None:
    assert not runtime_journal.sniff("x", head)


def _sample_members() -> list[tuple[str, bytes]]:
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(SAMPLE) as bundle:
        return [(m.path, m.data[:HEAD_BYTES]) for m in walk(bundle, errors) if not is_zip(m.data)]


def test_sniff_rejects_every_sample_log() -> None:
    members = _sample_members()
    assert members
    accepted = [path for path, head in members if runtime_journal.sniff(path, head)]
    assert accepted == ["hosts/build-07/docker-journal.txt"]


@pytest.mark.parametrize("name", [DOCKER, CRI, JSON])
def test_fixtures_rejected_by_every_other_parser(name: str) -> None:
    head = fixture(name)[1][:HEAD_BYTES]
    others = [n for n, m in REGISTRY.items() if n != runtime_journal.NAME and m.sniff(name, head)]
    assert others == []

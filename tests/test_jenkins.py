"""Jenkins console logs: the two fixture logs, then one test per quirk of the format."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from forensics.bundle import is_zip, open_bundle, walk
from forensics.ingest import HEAD_BYTES
from forensics.parsers import REGISTRY, jenkins
from forensics.parsers._base import ParseResult, Source, batch_lines

from .conftest import SAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "jenkins"
NAMES = ("timestamped-pull.log", "console-view-cached.log")
MAL = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
KICS = "docker.io/checkmarx/kics"
PATH = "jenkins/acme/iac-scan/42/log"
NOTE = "\x1b[8mha:////H4sIAAAAAAAA/5VSTU8TQRQ==\x1b[0m"


def at(hms: str, ms: int = 0, extra_us: int = 0) -> datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(2026, 4, 22, h, m, s, ms * 1000 + extra_us, tzinfo=UTC)


def parse_fixture(name: str) -> tuple[str, ParseResult]:
    path = f"jenkins/acme/iac-scan/42/{name}"
    ctx = {"job_key": path, "project": "acme/iac-scan", "run": "42", "job_name": "iac-scan"}
    return path, jenkins.parse([(Source(path, ctx), (FIXTURES / name).read_bytes())])


def parse(*lines: str | bytes) -> ParseResult:
    data = b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n"
    return jenkins.parse([(Source(PATH, {"job_key": PATH}), data)])


def uses(result: ParseResult) -> list[dict[str, Any]]:
    frame = result.tables.get("image_uses")
    return [] if frame is None else frame.sort("line").to_dicts()


def key(u: dict[str, Any]) -> tuple[object, ...]:
    return (u["action"], u["image"], u["tag"], u["digest"], u["cached"], u["line"],
            u["evidence_lines"])  # fmt: skip


def secrets(result: ParseResult) -> list[tuple[object, ...]]:
    frame = result.tables.get("job_secrets")
    rows = [] if frame is None else frame.sort("line", "name").to_dicts()
    return [(s["name"], s["context"], s["step"], s["line"]) for s in rows]


def test_timestamped_pipeline_pulls_the_malicious_digest() -> None:
    path, r = parse_fixture("timestamped-pull.log")
    (u,) = uses(r)
    # inspect (22) + "No such object" (24), then the docker pull block (29, 30, 33, 34)
    assert key(u) == ("pull", KICS, "latest", MAL, False, 22, [22, 24, 29, 30, 33, 34])
    assert (u["ref"], u["digest_kind"], u["step"], u["host"]) == (
        "checkmarx/kics:latest",
        "index",
        "IaC scan",
        "ci-agent-07",
    )
    assert (u["format"], u["actor_kind"], u["job_key"]) == ("jenkins", "job", path)
    # millisecond stamps: [first line's t, last line's t + 999 µs]
    assert (u["ts_lo"], u["ts_hi"]) == (at("12:50:01", 200), at("12:50:05", 402, 999))
    assert secrets(r) == [
        ("PASSWORD", "credentials", "IaC scan", 46),
        ("USERNAME", "credentials", "IaC scan", 46),
        ("FILE", "credentials", "IaC scan", 50),
        ("TOKEN", "credentials", "IaC scan", 50),
    ]
    (meta,) = r.tables["job_logs"].to_dicts()
    assert (meta["ci"], meta["project"], meta["run"], meta["file_job_name"]) == (
        "jenkins",
        "acme/iac-scan",
        "42",
        "iac-scan",
    )
    assert (meta["runner_name"], meta["machine_name"], meta["log_job_name"]) == (
        "ci-agent-07",
        "ci-agent-07",
        None,
    )
    # line 1 ("Started by") precedes the decorator and has no time
    assert (meta["ts_first"], meta["ts_last"]) == (at("12:49:58", 101), at("12:50:20", 600, 999))
    stats = r.files[path]
    assert (stats.lines, stats.unparsed) == (68, 1)
    assert stats.errors == [
        (54, "invalid UTF-8 bytes (replaced with U+FFFD)"),
        (53, "corrupt timestamp"),
    ]


def test_console_view_with_cached_image() -> None:
    path, r = parse_fixture("console-view-cached.log")
    (u,) = uses(r)
    # inspect (9) answered "." (10): the agent container (13) ran from the local cache
    assert key(u) == ("run", KICS, "alpine", None, True, 9, [9, 10, 13])
    assert (u["digest_kind"], u["step"], u["host"]) == (None, "Scan", "build-linux-03")
    # HH:mm:ss in an unknown zone with no date: no time at all
    assert (u["ts_lo"], u["ts_hi"]) == (None, None)
    assert secrets(r) == [("KICS_TOKEN", "credentials", "Scan", 17)]
    (meta,) = r.tables["job_logs"].to_dicts()
    assert (meta["runner_name"], meta["ts_first"], meta["ts_last"]) == (
        "build-linux-03",
        None,
        None,
    )
    stats = r.files[path]
    assert (stats.lines, stats.unparsed) == (36, 1)
    assert stats.errors == [
        (22, "invalid UTF-8 bytes (replaced with U+FFFD)"),
        (21, "corrupt timestamp"),
    ]


def test_fixture_evidence_is_display_safe() -> None:
    for name in NAMES:
        _, r = parse_fixture(name)
        text = r.tables["evidence"].get_column("text")
        assert not text.str.contains("\x1b", literal=True).any()
        assert not text.str.contains("ha:////", literal=True).any()
        assert not text.str.contains("<script>", literal=True).any()


def test_frame_strips_notes_and_prefixes_and_reads_stages() -> None:
    data = (FIXTURES / "timestamped-pull.log").read_bytes()
    df = jenkins.frame(batch_lines([(Source(PATH), data)], ParseResult()))
    row = df.filter(pl.col("line_no") == 16).row(0, named=True)
    assert (row["msg"], row["scope"], row["step"]) == ("[Pipeline] { (IaC scan)", 16, "IaC scan")
    assert (row["ts_lo"], row["ts_hi"]) == (at("12:50:00", 321), at("12:50:00", 321, 999))
    # between "// stage" (12) and the next stage (16): outside any stage
    row = df.filter(pl.col("line_no") == 13).row(0, named=True)
    assert (row["msg"], row["scope"], row["step"]) == ("[Pipeline] withEnv", None, None)
    first = df.filter(pl.col("line_no") == 1).row(0, named=True)
    assert (first["msg"], first["ts_lo"]) == ("Started by user Alice Admin", None)
    bad = df.filter(pl.col("line_no") == 53).row(0, named=True)
    assert bad["msg"].startswith("+ curl -u ****:****") and bad["ts_lo"] is None


def test_timestamps_are_not_sorted_and_each_line_keeps_its_own() -> None:
    r = parse(
        "[2026-04-22T12:50:11.407Z] + docker pull checkmarx/kics:latest",
        "[2026-04-22T12:50:11.390Z] latest: Pulling from checkmarx/kics",
        f"[2026-04-22T12:50:12.000Z] Digest: {MAL}",
        "[2026-04-22T12:50:11.999Z] Status: Downloaded newer image for checkmarx/kics:latest",
    )
    (u,) = uses(r)
    assert u["evidence_lines"] == [1, 2, 3, 4]
    assert (u["ts_lo"], u["ts_hi"]) == (at("12:50:11", 390), at("12:50:12", 0, 999))


def test_lowercase_missing_object_and_scripted_inside() -> None:
    r = parse(
        "[Pipeline] { (Build)",
        "+ docker inspect -f . node:18-alpine",
        "",
        "error: no such object: node:18-alpine",
        "[Pipeline] sh",
        "+ docker pull node:18-alpine",
        "18-alpine: Pulling from library/node",
        f"Digest: {MAL}",
        "Status: Downloaded newer image for node:18-alpine",
        "$ docker run -t -d -u 0:0 -w /w -e ******** node:18-alpine cat",
    )
    (u,) = uses(r)
    assert key(u) == ("pull", "docker.io/library/node", "18-alpine", MAL, False, 2,
                      [2, 4, 6, 7, 8, 9])  # fmt: skip


def test_cached_inspect_without_a_container_start_is_its_own_use() -> None:
    r = parse("+ docker inspect -f . golang:1.22-alpine", ".", "+ go build ./...")
    (u,) = uses(r)
    assert key(u) == ("inspect", "docker.io/library/golang", "1.22-alpine", None, True, 1, [1, 2])


def test_an_answer_too_far_away_or_after_the_next_inspect_is_not_taken() -> None:
    far = parse("+ docker inspect -f . alpine:3", *["x"] * 11, ".")
    assert uses(far) == []
    r = parse("+ docker inspect -f . alpine:3", "+ docker inspect -f . busybox:1", ".")
    assert [(u["image"], u["line"]) for u in uses(r)] == [("docker.io/library/busybox", 2)]


def test_console_notes_and_ansi_are_removed_for_matching() -> None:
    r = parse(
        f"[2026-04-22T12:50:00.000Z] {NOTE}[Pipeline] {{ (Scan)",
        "[2026-04-22T12:50:01.000Z] \x1b[1m+ docker inspect -f . checkmarx/kics:alpine\x1b[0m",
        "[2026-04-22T12:50:01.001Z] .",
        f"{NOTE}[Pipeline] withDockerContainer",
        "$ docker run -t -d -u 0:0 checkmarx/kics:alpine cat",
    )
    (u,) = uses(r)
    assert key(u) == ("run", KICS, "alpine", None, True, 2, [2, 3, 5])
    assert u["step"] == "Scan"
    assert (u["ts_lo"], u["ts_hi"]) == (at("12:50:01"), at("12:50:01", 1, 999))


def test_truncated_console_note_is_reported() -> None:
    r = parse("[Pipeline] stage", "\x1b[8mha:////H4sIAAAAAAAA/5VS")
    assert r.files[PATH].errors == [(2, "truncated console note")]
    assert r.files[PATH].unparsed == 1


def test_corrupt_timestamp_only_counts_in_a_timestamped_log() -> None:
    r = parse("[Pipeline] stage", "[2026-04-22T12:5?:20.000Z] x", "21:5?:20  y")
    assert r.files[PATH].unparsed == 0
    r = parse("[2026-04-22T12:50:20.000Z] x", "[2026-04-22T12:5?:20.000Z] y")
    assert r.files[PATH].errors == [(2, "corrupt timestamp")]
    r = parse("21:51:15  x", "21:5?:20  y", "12:00 is not a prefix")
    assert r.files[PATH].errors == [(2, "corrupt timestamp")]


def test_secret_names_from_credentials_binding() -> None:
    r = parse(
        "[Pipeline] withCredentials",
        "Masking supported pattern matches of $USERNAME or $PASSWORD or $KEY_FILE",
        "Masking supported pattern matches of %WIN_TOKEN%",
        "\t\t Affected argument(s) used the following variable(s): [FILE, TOKEN]",
        "+ docker login -u **** -p ****",
        "Affected argument(s) used the following variable(s): [<script>alert(1)</script>]",
    )
    assert [n for n, *_ in secrets(r)] == [
        "KEY_FILE", "PASSWORD", "USERNAME", "WIN_TOKEN", "FILE", "TOKEN",
    ]  # fmt: skip


def test_markup_in_a_reference_is_not_an_image() -> None:
    r = parse("+ docker inspect -f . <script>alert(1)</script>", ".")
    assert uses(r) == []


def test_empty_batch_and_empty_file() -> None:
    assert jenkins.parse([]).tables.get("image_uses") is None
    r = jenkins.parse([(Source(PATH, {}), b"")])
    assert r.files[PATH].lines == 0 and "image_uses" not in r.tables


def test_one_batch_gives_the_same_rows_as_one_file_at_a_time() -> None:
    items = []
    for name in NAMES:
        path = f"jenkins/acme/iac-scan/42/{name}"
        items.append((Source(path, {"job_key": path}), (FIXTURES / name).read_bytes()))
    both = jenkins.parse(items)
    for table in ("image_uses", "job_secrets", "job_logs", "evidence"):
        alone = pl.concat([jenkins.parse([item]).tables[table] for item in items])
        assert both.tables[table].sort("file", "line").equals(alone.sort("file", "line"))


def test_sniff() -> None:
    for name in NAMES:
        assert jenkins.sniff("x", (FIXTURES / name).read_bytes()[:HEAD_BYTES])
    assert jenkins.sniff("x", b"Started by user anonymous\nRunning as SYSTEM\n")
    assert jenkins.sniff("x", b"[2022-01-12T19:00:00.613Z] [Pipeline] Start of Pipeline\n")
    assert jenkins.sniff("x", f"{NOTE}[Pipeline] node\n".encode())
    assert jenkins.sniff("x", b"21:51:15  Started by user anonymous\n")
    stamp = b"[2022-01-12T19:00:00.613Z] "
    assert jenkins.sniff("x", stamp + b"Obtained Jenkinsfile\n" + stamp + b"[Pipeline] node\n")
    assert not jenkins.sniff("x", b"[2022-01-12T19:00:00.613Z] hello\n")
    gha = b"2026-04-22T12:41:07.1234567Z "
    assert not jenkins.sniff("x", gha + b"Current runner version\n[Pipeline] sh\n")
    assert not jenkins.sniff("x", b"Running with gitlab-runner 17.4.0\nStarted by user x\n")
    assert not jenkins.sniff("x", b"section_start:1000:x\r\x1b[0K\n[Pipeline] sh\n")
    assert not jenkins.sniff("x", b'{"log": "[Pipeline] sh"}\n')
    assert not jenkins.sniff("x", b'[\n"Started by user"\n]\n')
    assert not jenkins.sniff("x", b'[{"msg": "x"},\n{"msg": "[Pipeline] sh"}]\n')


def sample_members() -> list[tuple[str, bytes]]:
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(SAMPLE) as bundle:
        return [(m.path, m.data) for m in walk(bundle, errors) if not is_zip(m.data)]


@pytest.mark.parametrize(
    ("path", "data"), sample_members(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_sample_bundle_files_are_not_jenkins(path: str, data: bytes) -> None:
    # the sample bundle holds one Jenkins build of its own
    expected = path.startswith("jenkins/") and path.endswith("/log")
    assert jenkins.sniff(path, data[:HEAD_BYTES]) == expected


@pytest.mark.parametrize("name", NAMES)
def test_fixtures_are_rejected_by_other_parsers(name: str) -> None:
    head = (FIXTURES / name).read_bytes()[:HEAD_BYTES]
    others = [n for n, m in REGISTRY.items() if n != jenkins.NAME and m.sniff(name, head)]
    assert others == []

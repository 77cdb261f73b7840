"""GitLab CI job traces: the two fixture traces, then one test per quirk of the format."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from forensics.parsers import gitlab_ci
from forensics.parsers._base import ParseResult, Source, batch_lines

FIXTURES = Path(__file__).parent / "fixtures" / "gitlab"
MAL = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
PG = "sha256:4c2a8e1f0b9d7c6e5a4f3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e"
ID = "sha256:" + "1f" * 32
PATH = "gitlab/acme/web/4711.log"
E = "\x1b"
K = E + "[0K"


def at(hms: str, us: int = 0) -> datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(2026, 4, 22, h, m, s, us, tzinfo=UTC)


def parse_fixture(name: str) -> tuple[str, ParseResult]:
    path = f"gitlab/acme/web/{name}"
    src = Source(path, {"job_key": path, "project": "acme/web", "job_name": "4711"})
    return path, gitlab_ci.parse([(src, (FIXTURES / name).read_bytes())])


def parse(*lines: str | bytes, context: dict[str, str] | None = None) -> ParseResult:
    data = b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n"
    ctx = {"job_key": PATH, "project": "acme/web"} if context is None else context
    return gitlab_ci.parse([(Source(PATH, ctx), data)])


def uses(result: ParseResult) -> list[dict[str, Any]]:
    frame = result.tables.get("image_uses")
    return [] if frame is None else frame.sort("line").to_dicts()


def key(u: dict[str, Any]) -> tuple[object, ...]:
    return (u["action"], u["image"], u["tag"], u["digest"], u["cached"], u["line"],
            u["evidence_lines"])  # fmt: skip


def sec(kind: str, epoch: int, name: str) -> str:
    return f"section_{kind}:{epoch}:{name}\r{K}"


def test_trace_without_timestamps() -> None:
    path, r = parse_fixture("no-timestamps.log")
    got = [key(u) for u in uses(r)]
    assert got == [
        ("job-image", "docker.io/checkmarx/kics", "latest", MAL, False, 4, [4, 9, 10, 18]),
        ("service", "docker.io/library/postgres", "16", PG, False, 5, [5, 6, 7]),
    ]
    kics, pg = uses(r)
    assert kics["ref"] == "checkmarx/kics:latest" and kics["digest_kind"] == "index"
    assert (kics["step"], kics["host"], kics["format"]) == (
        "prepare_executor",
        "ci-runner-02.acme.internal",
        "gitlab_ci",
    )
    # no timestamps: a line lies between the section markers around it (1 s resolution)
    assert (kics["ts_lo"], kics["ts_hi"]) == (at("12:40:00"), at("12:40:40", 999999))
    assert (pg["ts_lo"], pg["ts_hi"]) == (at("12:40:00"), at("12:40:12", 999999))
    (meta,) = r.tables["job_logs"].to_dicts()
    assert (meta["ci"], meta["project"], meta["run"], meta["file_job_name"]) == (
        "gitlab",
        "acme/web",
        None,
        "4711",
    )
    assert (meta["runner_name"], meta["machine_name"], meta["log_job_name"]) == (
        "acme docker runner 02",
        "ci-runner-02.acme.internal",
        None,
    )
    # the banner precedes every marker; the last line follows the last one
    assert (meta["ts_first"], meta["ts_last"]) == (at("12:40:00"), at("12:40:41", 999999))
    stats = r.files[path]
    assert (stats.lines, stats.unparsed) == (28, 1)
    assert stats.errors == [
        (16, "invalid UTF-8 bytes (replaced with U+FFFD)"),
        (23, "unrecognized image line"),
    ]


def test_trace_with_ff_timestamps_and_cached_image() -> None:
    path, r = parse_fixture("ff-timestamps.log")
    (u,) = uses(r)
    assert key(u) == (
        "job-image", "docker.io/checkmarx/kics", "alpine", None, True, 5, [5, 6, 7, 15, 16]
    )  # fmt: skip
    assert u["digest_kind"] is None and u["host"] == "gl-shared-07-vm-3"
    assert (u["ts_lo"], u["ts_hi"]) == (at("12:50:00", 300000), at("12:50:03", 100005))
    (meta,) = r.tables["job_logs"].to_dicts()
    assert (meta["runner_name"], meta["machine_name"]) == ("gl-shared-07", "gl-shared-07-vm-3")
    assert (meta["ts_first"], meta["ts_last"]) == (at("12:50:00", 101000), at("12:50:20", 10))
    stats = r.files[path]
    assert (stats.lines, stats.unparsed) == (24, 1)
    assert stats.errors == [
        (20, "invalid UTF-8 bytes (replaced with U+FFFD)"),
        (21, "corrupt timestamp"),
    ]


def test_fixture_evidence_is_display_safe() -> None:
    for name in ("no-timestamps.log", "ff-timestamps.log"):
        _, r = parse_fixture(name)
        text = r.tables["evidence"].get_column("text")
        assert not text.str.contains("\x1b", literal=True).any()
        assert not text.str.contains(r"glpat-[A-Za-z0-9_-]{16}").any()


def test_frame_joins_continuations_and_reads_sections() -> None:
    data = (FIXTURES / "ff-timestamps.log").read_bytes()
    df = gitlab_ci.frame(batch_lines([(Source(PATH), data)], ParseResult()))
    # "+" lines 4, 9-10, 13-14, 19, 24 are folded into the line before
    assert df.get_column("line_no").to_list() == [1, 2, 3, 5, 6, 7, 8, 11, 12, 15, 16, 17, 18,
                                                  20, 21, 22, 23]  # fmt: skip
    row = df.filter(pl.col("line_no") == 8).row(0, named=True)
    assert (row["msg"], row["scope"], row["step"]) == ("Preparing environment", 8, "prepare_script")
    assert (row["ts_lo"], row["ts_hi"]) == (at("12:50:02"), at("12:50:02", 2))
    # the line reader drops the "\r" that ends a flushed physical line, so pieces abut
    progress = df.filter(pl.col("line_no") == 18).row(0, named=True)
    assert progress["msg"] == "Downloading queries 10%Downloading queries 100%"
    assert (progress["ts_lo"], progress["ts_hi"]) == (at("12:50:05"), at("12:50:09"))
    # the corrupt line keeps its message and takes its neighbours' interval
    bad = df.filter(pl.col("line_no") == 21).row(0, named=True)
    assert bad["msg"] == "export TOKEN=glpat-[MASKED]" and bad["unparsed"]
    assert (bad["ts_lo"], bad["ts_hi"]) == (at("12:50:10"), at("12:50:12"))


def test_image_line_split_by_a_continuation_is_joined() -> None:
    p = "2026-04-22T12:50:01.000000Z 00O"
    r = parse(
        f"{p} {K}Using docker image {ID} for checkmarx/kics:latest with digest check\r",
        f"{p}+marx/kics@{MAL} ...",
    )
    (u,) = uses(r)
    assert (u["digest"], u["line"], u["evidence_lines"], u["action"]) == (MAL, 1, [1], "pull")
    ev = r.tables["evidence"].to_dicts()
    assert [e["line"] for e in ev] == [1]
    assert "with digest checkmarx/kics@sha256:a0d9366f" in str(ev[0]["text"])


def test_several_markers_on_one_line_and_nested_sections() -> None:
    r = parse(
        f"{K}{sec('start', 1776861600, 'step_script')}{K}{E}[36;1mExecuting{E}[0;m",
        f"{K}{sec('start', 1776861601, 'scan[collapsed=true]')}Scanning",
        "docker pull checkmarx/kics:latest",
        f"{sec('end', 1776861605, 'scan')}",
        "docker pull postgres:16",
        f"{sec('end', 1776861609, 'step_script')}{sec('start', 1776861609, 'after_script')}x",
        "docker pull redis:7",
    )
    got = [(u["tag"], u["step"], u["ts_lo"], u["ts_hi"]) for u in uses(r)]
    assert got == [
        ("latest", "scan", at("12:40:01"), at("12:40:05", 999999)),
        ("16", "step_script", at("12:40:05"), at("12:40:09", 999999)),
        ("7", "after_script", at("12:40:09"), None),
    ]


def test_stray_section_end_does_not_hide_later_sections() -> None:
    r = parse(
        sec("end", 1776861600, "prepare_executor"),
        sec("start", 1776861601, "step_script") + "Executing",
        "docker pull redis:7",
    )
    (u,) = uses(r)
    assert u["step"] == "step_script"


def test_docker_cli_in_a_script_step() -> None:
    r = parse(
        f"{K}{sec('start', 1776861600, 'step_script')}Executing",
        f"{E}[32;1m$ docker pull checkmarx/kics:v2.1.20{E}[0;m",
        "v2.1.20: Pulling from checkmarx/kics",
        f"Digest: {MAL}",
        "Status: Downloaded newer image for checkmarx/kics:v2.1.20",
        f"{E}[32;1m$ docker run --rm checkmarx/kics:alpine scan -p .{E}[0;m",
    )
    got = [key(u) for u in uses(r)]
    assert got == [
        ("pull", "docker.io/checkmarx/kics", "v2.1.20", MAL, False, 2, [2, 3, 4, 5]),
        ("run", "docker.io/checkmarx/kics", "alpine", None, True, 6, [6]),
    ]


def test_older_runner_and_failed_pull() -> None:
    r = parse(
        "Using Docker executor with image alpine ...",
        "Pulling docker image alpine ...",
        f"Using docker image {ID} for alpine:latest ...",
        "Starting service registry.acme.io/db:15 ...",
        "Pulling docker image registry.acme.io/db:15 ...",
        "ERROR: Job failed: failed to pull image",
    )
    got = [key(u) for u in uses(r)]
    assert got == [
        ("job-image", "docker.io/library/alpine", "latest", None, False, 1, [1, 2, 3]),
        ("service", "registry.acme.io/db", "15", None, False, 4, [4, 5]),
    ]


def test_cache_marker_only_applies_to_the_next_image_line() -> None:
    r = parse(
        "Using Docker executor with image checkmarx/kics:latest ...",
        "Starting service postgres:16 ...",
        'Using locally found image version due to "if-not-present" pull policy',
        f"Using docker image {ID} for postgres:16 with digest postgres@{PG} ...",
        "Pulling docker image checkmarx/kics:latest ...",
        f"Using docker image {ID} for checkmarx/kics:latest with digest checkmarx/kics@{MAL} ...",
    )
    got = {(u["action"], u["digest"], u["cached"], tuple(u["evidence_lines"])) for u in uses(r)}
    assert got == {("service", PG, True, (2, 3, 4)), ("job-image", MAL, False, (1, 5, 6))}


def test_file_job_name_falls_back_to_the_file_stem() -> None:
    r = parse("Running with gitlab-runner 17.4.0 (b92ee590)", context={})
    (meta,) = r.tables["job_logs"].to_dicts()
    assert (meta["file_job_name"], meta["job_key"], meta["ts_first"]) == ("4711", None, None)
    named = parse("x", context={"job_name": "scan", "run": "99"}).tables["job_logs"]
    assert named.select("file_job_name", "run").row(0) == ("scan", "99")


def test_corrupt_timestamp_only_counts_in_a_timestamped_trace() -> None:
    r = parse("2026-04-22T12:40:20Z scanning", "2026-04-22T12:4?:20.000000Z 00O x")
    assert r.files[PATH].unparsed == 0
    r = parse("2026-04-22T12:40:20.000000Z 00O x", "2026-04-22T12:4?:20.000000Z 00O x")
    assert r.files[PATH].errors == [(2, "corrupt timestamp")]


def test_empty_batch_and_empty_file() -> None:
    assert gitlab_ci.parse([]).tables.get("image_uses") is None
    r = gitlab_ci.parse([(Source(PATH, {}), b"")])
    assert r.files[PATH].lines == 0 and "image_uses" not in r.tables


def test_sniff() -> None:
    for name in ("no-timestamps.log", "ff-timestamps.log"):
        assert gitlab_ci.sniff("x", (FIXTURES / name).read_bytes())
    assert gitlab_ci.sniff("x", b"Running with gitlab-runner 11.2.0 (35e8515d)\n")
    ff = b"2024-01-01T00:01:00.000000Z 00O "
    assert gitlab_ci.sniff("x", ff + b"section_start:1000:my_section[key1=value1]\r\n")
    assert gitlab_ci.sniff("x", b"\n\x1b[0;mhello\n\x1b[0Ksection_start:1621524382:x\r\x1b[0K\n")
    assert not gitlab_ci.sniff("x", ff + b"hello\n")
    gha = b"2026-04-22T12:41:07.1234567Z "
    assert not gitlab_ci.sniff("x", gha + b"Current runner version: '2.330.0'\n")
    assert not gitlab_ci.sniff("x", gha + b"echo section_start:1000:x\n")
    assert not gitlab_ci.sniff("x", b'{"trace": "section_start:1000:x"}')
    assert not gitlab_ci.sniff("x", b'[{"name": "Running with gitlab-runner 17"}]')


def test_one_batch_gives_the_same_rows_as_one_file_at_a_time() -> None:
    items = []
    for name in ("no-timestamps.log", "ff-timestamps.log"):
        path = f"gitlab/acme/web/{name}"
        items.append((Source(path, {"job_key": path}), (FIXTURES / name).read_bytes()))
    both = gitlab_ci.parse(items)
    for table in ("image_uses", "job_logs", "evidence"):
        alone = pl.concat([gitlab_ci.parse([item]).tables[table] for item in items])
        assert both.tables[table].sort("file", "line").equals(alone.sort("file", "line"))
    assert {p: s.unparsed for p, s in both.files.items()} == {
        "gitlab/acme/web/no-timestamps.log": 1,
        "gitlab/acme/web/ff-timestamps.log": 1,
    }


def test_markup_in_a_reference_is_not_an_image() -> None:
    r = parse(
        "Starting service <script>alert(1)</script> ...",
        "Pulling docker image <script>alert(1)</script> ...",
        f"Using docker image {ID} for <script>alert(1)</script> ...",
    )
    assert uses(r) == []

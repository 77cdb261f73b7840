"""GitHub Actions job logs: the quirks listed in the log-format reference, one test each."""

import polars as pl

from forensics.parsers import github_actions
from forensics.parsers._base import ParseResult, Source

MAL = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
PKG = "sha256:290722aa3281d5caf23d0acdc3dbeb3424786a1a01a9cc97e72f147225e37c38"
T = "2026-04-22T12:41:"
PATH = "run/0_scan.txt"
RUN_ARGS = '-v "$PWD:/src" --entrypoint "" checkmarx/kics:alpine scan'


def parse(*lines: str | bytes) -> ParseResult:
    data = b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n"
    src = Source("run/0_scan.txt", {"job_key": "run/0_scan.txt", "project": "acme/api",
                                    "run": "1", "job_name": "scan"})  # fmt: skip
    return github_actions.parse([(src, data)])


def uses(result: ParseResult) -> list[dict[str, object]]:
    frame = result.tables.get("image_uses")
    return [] if frame is None else frame.to_dicts()


def test_sniff_needs_seven_digit_fraction() -> None:
    assert github_actions.sniff("x", b"\xef\xbb\xbf2026-04-22T12:41:07.1234567Z Current runner")
    assert github_actions.sniff("x", b"2026-04-22T12:41:07.1234567Z x")
    assert not github_actions.sniff("x", b"2024-01-01T00:01:00.000000Z 00O line")
    assert not github_actions.sniff("x", b'{"Type":"image"}')


def test_bom_and_seven_digit_fraction_become_a_microsecond_interval() -> None:
    r = parse(f"\ufeff{T}07.1234567Z docker pull checkmarx/kics:latest")
    (u,) = uses(r)
    assert str(u["ts_lo"]) == "2026-04-22 12:41:07.123456+00:00"
    assert str(u["ts_hi"]) == "2026-04-22 12:41:07.123457+00:00"
    assert r.files[PATH].unparsed == 0


def test_docker_pull_block_gives_digest_and_evidence_lines() -> None:
    r = parse(
        f"{T}00.0000000Z ##[group]Run docker run --rm checkmarx/kics:latest scan",
        f"{T}00.0000001Z \x1b[36;1mdocker run --rm checkmarx/kics:latest scan\x1b[0m",
        f"{T}00.0000002Z ##[endgroup]",
        f"{T}01.0000000Z Unable to find image 'checkmarx/kics:latest' locally",
        f"{T}02.0000000Z latest: Pulling from checkmarx/kics",
        f"{T}03.0000000Z 9a2f3c1b7d4e: Pull complete",
        f"{T}04.0000000Z Digest: {MAL}",
        f"{T}04.1000000Z Status: Downloaded newer image for checkmarx/kics:latest",
    )
    (u,) = uses(r)
    assert (u["image"], u["tag"], u["digest"], u["action"]) == (
        "docker.io/checkmarx/kics",
        "latest",
        MAL,
        "run",
    )
    assert u["evidence_lines"] == [2, 4, 5, 7, 8]
    assert u["line"] == 2 and not u["cached"]


def test_immutable_action_package_digest_is_not_an_image() -> None:
    r = parse(
        f"{T}00.0000000Z ##[group]Download immutable action package 'actions/checkout@v4'",
        f"{T}00.0000001Z Version: 4.2.2",
        f"{T}00.0000002Z Digest: {PKG}",
        f"{T}00.0000003Z ##[endgroup]",
    )
    assert uses(r) == []


def test_container_action_starts_at_the_group_line() -> None:
    r = parse(
        f"{T}00.0000000Z ##[group]Pull down action image 'checkmarx/kics:v2.1.20'",
        f"{T}00.0000001Z ##[command]/usr/bin/docker pull checkmarx/kics:v2.1.20",
        f"{T}01.0000000Z v2.1.20: Pulling from checkmarx/kics",
        f"{T}02.0000000Z Digest: {MAL}",
        f"{T}02.0000001Z Status: Image is up to date for checkmarx/kics:v2.1.20",
        f"{T}02.0000002Z ##[endgroup]",
    )
    (u,) = uses(r)
    assert u["action"] == "action-image" and u["line"] == 1 and u["digest"] == MAL


def test_job_and_service_containers() -> None:
    r = parse(
        f"{T}00.0000000Z ##[group]Starting job container",
        f"{T}00.0000001Z ##[command]/usr/bin/docker --config /tmp/.docker_1 pull ghcr.io/acme/ci:1",
        f"{T}01.0000000Z 1: Pulling from acme/ci",
        f"{T}02.0000000Z Digest: {MAL}",
        f"{T}02.0000001Z Status: Downloaded newer image for ghcr.io/acme/ci:1",
        f"{T}03.0000000Z ##[group]Starting redis service container",
        f"{T}03.0000001Z ##[command]/usr/bin/docker pull redis:7",
        f"{T}04.0000000Z 7: Pulling from library/redis",
        f"{T}05.0000000Z Digest: {PKG}",
        f"{T}05.0000001Z Status: Downloaded newer image for redis:7",
    )
    got = {(u["image"], u["action"]) for u in uses(r)}
    assert got == {
        ("ghcr.io/acme/ci", "job-container"),
        ("docker.io/library/redis", "service-container"),
    }


def test_buildkit_from_records_the_resolved_digest() -> None:
    r = parse(
        f"{T}00.0000000Z #5 [1/3] FROM docker.io/checkmarx/kics:alpine@{MAL}",
        f"{T}00.1000000Z #5 resolve docker.io/checkmarx/kics:alpine@{MAL} done",
        f"{T}00.2000000Z #5 [1/3] FROM docker.io/checkmarx/kics:alpine@{MAL}",
    )
    (u,) = uses(r)
    assert (u["action"], u["tag"], u["digest"], u["evidence_lines"]) == (
        "buildkit-from",
        "alpine",
        MAL,
        [1, 3],
    )


def test_quiet_pull_then_run_is_one_tag_only_use() -> None:
    r = parse(
        f"{T}00.0000000Z ##[group]Run docker pull -q checkmarx/kics:alpine",
        f"{T}00.0000001Z \x1b[36;1mdocker pull -q checkmarx/kics:alpine\x1b[0m",
        f"{T}00.0000002Z \x1b[36;1mdocker run --rm checkmarx/kics:alpine scan -p .\x1b[0m",
        f"{T}00.0000003Z ##[endgroup]",
        f"{T}01.0000000Z docker.io/checkmarx/kics:alpine",
    )
    (u,) = uses(r)
    assert (u["action"], u["digest"], u["cached"], u["line"]) == ("pull", None, False, 2)


def test_run_with_no_pull_is_served_from_cache() -> None:
    r = parse(
        f"{T}00.0000000Z ##[group]Run docker run --rm " + RUN_ARGS,
        f"{T}00.0000001Z \x1b[36;1mdocker run --rm " + RUN_ARGS + "\x1b[0m",
    )
    (u,) = uses(r)
    assert (u["tag"], u["cached"], u["action"]) == ("alpine", True, "run")


def test_secret_names_from_masked_env_and_with_blocks() -> None:
    r = parse(
        f"{T}00.0000000Z ##[group]Run actions/checkout@v4",
        f"{T}00.0000001Z with:",
        f"{T}00.0000002Z   token: ***",
        f"{T}00.0000003Z   fetch-depth: 1",
        f"{T}00.0000004Z ##[endgroup]",
        f"{T}01.0000000Z ##[group]Run ./deploy.sh",
        f"{T}01.0000001Z shell: /usr/bin/bash -e {{0}}",
        f"{T}01.0000002Z env:",
        f"{T}01.0000003Z   SSH_PRIVATE_KEY: ***",
        "",
        f"{T}01.0000004Z   TZ: UTC",
        f"{T}01.0000005Z   DATABASE_URL: postgres://app:***@db/app",
        f"{T}01.0000006Z ##[endgroup]",
        f"{T}01.0000007Z   NOT_IN_BLOCK: ***",
    )
    names = sorted(r.tables["job_secrets"].get_column("name").to_list())
    assert names == ["DATABASE_URL", "SSH_PRIVATE_KEY", "token (with: actions/checkout@v4)"]
    assert r.files[PATH].unparsed == 0


def test_token_permissions_runner_and_machine() -> None:
    r = parse(
        f"{T}00.0000000Z Runner name: 'build-07'",
        f"{T}00.0000001Z Machine name: 'build-07.acme.internal'",
        f"{T}00.0000002Z ##[group]GITHUB_TOKEN Permissions",
        f"{T}00.0000003Z Contents: read",
        f"{T}00.0000004Z PullRequests: write",
        f"{T}00.0000005Z IdToken: write",
        f"{T}00.0000006Z ##[endgroup]",
        f"{T}00.0000007Z Secret source: Actions",
        f"{T}00.0000008Z Complete job name: scan (linux)",
    )
    perms = dict(r.tables["token_permissions"].select("scope", "access").iter_rows())
    assert perms == {"contents": "read", "pull-requests": "write", "id-token": "write"}
    meta = r.tables["job_logs"].row(0, named=True)
    assert (meta["runner_name"], meta["machine_name"], meta["log_job_name"]) == (
        "build-07",
        "build-07.acme.internal",
        "scan (linux)",
    )


def test_continuation_line_takes_its_neighbours_interval() -> None:
    r = parse(
        f"{T}00.0000000Z env:",
        f"{T}00.0000001Z   CA_PEM: ***",
        "",
        "  CERT_PEM: ***",
        f"{T}09.0000000Z ##[endgroup]",
    )
    rows = r.tables["job_secrets"].sort("line").to_dicts()
    assert [s["name"] for s in rows] == ["CA_PEM", "CERT_PEM"]
    assert str(rows[1]["ts_lo"]).startswith("2026-04-22 12:41:00")
    assert str(rows[1]["ts_hi"]).startswith("2026-04-22 12:41:09")


def test_broken_line_invalid_utf8_and_payload_are_reported_not_fatal() -> None:
    r = parse(
        f"{T}00.0000000Z ##[group]Run echo",
        b"2026-04-22T12:41:00.1000000Z commit: \xff\xfe fix",
        f"{T}00.2000000Z <script>alert(1)</script>",
        "2026-04-22T12:4?:00.3000000Z Digest: " + MAL,
        f"{T}01.0000000Z docker pull checkmarx/kics:latest",
    )
    assert r.files[PATH].unparsed == 1
    assert (2, "invalid UTF-8 bytes (replaced with U+FFFD)") in r.files[PATH].errors
    assert (4, "corrupt timestamp") in r.files[PATH].errors
    assert len(uses(r)) == 1
    assert r.files[PATH].lines == 5


def test_evidence_text_is_redacted_and_trimmed() -> None:
    r = parse(
        f"{T}00.0000000Z env:",
        f"{T}00.0000001Z   GH_PAT: ***",
        f"{T}01.0000000Z ##[group]Pull down action image 'checkmarx/kics:latest' " + "x" * 400,
    )
    ev = r.tables["evidence"]
    assert ev.filter(pl.col("text").str.len_chars() > 240).is_empty()
    assert ev.get_column("line").to_list() == [2, 3]
    assert ev.get_column("text").str.ends_with("…").to_list() == [False, True]


def test_a_pull_lasts_from_its_first_to_its_last_line() -> None:
    r = parse(
        "2026-04-22T14:04:59.0000000Z latest: Pulling from checkmarx/kics",
        "2026-04-22T14:05:03.0000000Z Status: Downloaded newer image for checkmarx/kics:latest",
    )
    (u,) = uses(r)
    assert str(u["ts_lo"]) == "2026-04-22 14:04:59+00:00"
    assert str(u["ts_hi"]) == "2026-04-22 14:05:03+00:00"


def test_sniff_tolerates_a_leading_line_without_timestamp() -> None:
    assert github_actions.sniff("x", b"\n2026-04-22T12:41:07.1234567Z Current runner version")

"""The verdict rules of queries/use_verdicts.sql, one case per rule, on synthetic case tables."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from forensics.advisory import load_advisory
from forensics.analysis import analyze
from forensics.schema import TABLES, conform

MAL = "sha256:" + "ba" * 32
MAL_PLATFORM = "sha256:" + "bb" * 32
GOOD = "sha256:" + "60" * 32
AUDIT_GOOD = "sha256:" + "61" * 32
OTHER = "sha256:" + "0f" * 32
START = datetime(2026, 4, 22, 12, 35, tzinfo=UTC)
END = datetime(2026, 4, 22, 14, 5, tzinfo=UTC)
ADVISORY = f"""
id = "t"
[window]
start = "2026-04-22T12:35:00Z"
end = "2026-04-22T14:05:00Z"
[[images]]
name = "checkmarx/kics"
tags = ["latest", "alpine"]
malicious = ["{MAL}", {{ digest = "{MAL_PLATFORM}", kind = "platform", platform = "linux/amd64" }}]
known_good = ["{GOOD}"]
[mirrors]
"mirror.gcr.io" = "docker.io"
"harbor.acme.internal/hub" = "docker.io"
"""
INSIDE = START + timedelta(minutes=10)
BEFORE = START - timedelta(days=1)
AFTER = END + timedelta(hours=2)


def use(
    image: str = "docker.io/checkmarx/kics",
    tag: str | None = "latest",
    digest: str | None = None,
    at: datetime | None = INSIDE,
    width: timedelta = timedelta(0),
    cached: bool = False,
) -> dict[str, Any]:
    return {
        "format": "test", "actor_kind": "job", "job_key": "j1", "host": None,
        "action": "pull", "ref": image, "image": image, "tag": tag, "digest": digest,
        "digest_kind": "index" if digest else None, "cached": cached, "step": None,
        "ts_lo": at, "ts_hi": None if at is None else at + width,
        "file": "f.txt", "line": 7, "evidence_lines": [7],
    }  # fmt: skip


def judge(tmp_path: Path, row: dict[str, Any], pushes: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    case = tmp_path / "case"
    case.mkdir()
    for name in TABLES:
        frame = pl.DataFrame(schema=TABLES[name])
        if name == "image_uses":
            frame = conform(name, pl.DataFrame([row], schema_overrides=TABLES[name], strict=False))
        if name == "tag_pushes" and pushes:
            frame = conform(name, pl.DataFrame(list(pushes), strict=False))
        frame.write_parquet(case / f"{name}.parquet")
    adv_path = tmp_path / "adv.toml"
    adv_path.write_text(ADVISORY)
    result = analyze(case, load_advisory(adv_path)).results["use_verdicts"]
    assert result.height <= 1
    return result.row(0, named=True) if result.height else {"verdict": "absent"}


RULES = [
    # confirmed: a malicious digest of any kind, whatever the time
    (use(digest=MAL, at=BEFORE), "confirmed"),
    (use(digest=MAL_PLATFORM, at=AFTER, tag="v9"), "confirmed"),
    (use(digest=MAL, at=None), "confirmed"),
    (use(image="docker.io/acme/kics-copy", digest=MAL), "confirmed"),
    # cleared: known-good listed, or a non-malicious digest outside the window
    (use(digest=GOOD, at=INSIDE), "cleared"),
    (use(digest=OTHER, at=BEFORE), "cleared"),
    (use(digest=OTHER, at=AFTER), "cleared"),
    # cleared: tag only, entirely outside
    (use(at=BEFORE), "cleared"),
    (use(at=AFTER), "cleared"),
    # likely: tag only, entirely inside
    (use(at=INSIDE), "likely"),
    (use(tag="alpine", at=END), "likely"),
    # possible: unknown time, straddling, unlisted digest inside, cache after the window opened
    (use(at=None), "possible"),
    (use(at=END - timedelta(microseconds=10), width=timedelta(seconds=1)), "possible"),
    (use(digest=OTHER, at=INSIDE), "possible"),
    (use(digest=OTHER, at=None), "possible"),
    (use(at=AFTER, cached=True), "possible"),
    (use(at=BEFORE, cached=True), "cleared"),
    # counted only: an unlisted tag with no digest
    (use(tag="v1.7.13", at=INSIDE), None),
    # not an advisory image and no listed digest: not a use at all
    (use(image="docker.io/library/alpine", at=INSIDE), "absent"),
    # mirrors map to their upstream
    (use(image="mirror.gcr.io/checkmarx/kics", at=INSIDE), "likely"),
    (use(image="harbor.acme.internal/hub/checkmarx/kics", at=INSIDE), "likely"),
]


@pytest.mark.parametrize(("row", "verdict"), RULES)
def test_rule(tmp_path: Path, row: dict[str, Any], verdict: str | None) -> None:
    got = judge(tmp_path, row)
    assert got["verdict"] == verdict, got.get("reason")
    if verdict not in (None, "absent"):
        assert got["reason"]


def test_audit_log_makes_digest_known_good_outside_window(tmp_path: Path) -> None:
    push = {
        "image": "docker.io/checkmarx/kics", "tag": "latest", "digest": AUDIT_GOOD,
        "action": "repo.tag.push", "actor": "pub", "ts_lo": BEFORE, "ts_hi": BEFORE,
        "file": "dockerhub/a.json", "line": 3,
    }  # fmt: skip
    got = judge(tmp_path, use(digest=AUDIT_GOOD, at=INSIDE), [push])
    assert got["verdict"] == "cleared"
    assert "audit log shows tag latest" in got["reason"]


def test_push_inside_window_is_not_known_good(tmp_path: Path) -> None:
    push = {
        "image": "docker.io/checkmarx/kics", "tag": "latest", "digest": AUDIT_GOOD,
        "action": "repo.tag.push", "actor": "pub", "ts_lo": INSIDE, "ts_hi": INSIDE,
        "file": "dockerhub/a.json", "line": 3,
    }  # fmt: skip
    got = judge(tmp_path, use(digest=AUDIT_GOOD, at=INSIDE), [push])
    assert got["verdict"] == "possible"


def test_open_ended_window(tmp_path: Path) -> None:
    global ADVISORY
    saved = ADVISORY
    ADVISORY = saved.replace('end = "2026-04-22T14:05:00Z"\n', "")
    try:
        assert judge(tmp_path, use(at=AFTER))["verdict"] == "likely"
    finally:
        ADVISORY = saved


def _host_case(tmp_path: Path, inventory: list[dict[str, Any]]) -> dict[str, Any]:
    case = tmp_path / "case"
    case.mkdir()
    row = use(at=INSIDE) | {"actor_kind": "host", "job_key": None, "host": "build-07"}
    for name in TABLES:
        frame = pl.DataFrame(schema=TABLES[name])
        if name == "image_uses":
            frame = conform(name, pl.DataFrame([row], schema_overrides=TABLES[name], strict=False))
        if name == "host_images" and inventory:
            frame = conform(name, pl.DataFrame(inventory, strict=False))
        frame.write_parquet(case / f"{name}.parquet")
    adv_path = tmp_path / "adv.toml"
    adv_path.write_text(ADVISORY)
    hosts = analyze(case, load_advisory(adv_path)).results["host_verdicts"]
    return hosts.row(0, named=True)


@pytest.mark.parametrize(
    ("digest", "taken", "present"),
    [
        (MAL, None, True),
        (GOOD, None, None),  # undated: it may predate the pull
        (GOOD, AFTER, False),  # taken after the window and the use: gone
        (GOOD, INSIDE, None),  # taken during the window: proves nothing
        (MAL, AFTER, True),
        (None, None, None),
    ],
    ids=["bad", "good-undated", "good-after", "good-during", "bad-after", "none"],
)
def test_still_present_from_the_host_inventory(
    tmp_path: Path, digest: str | None, taken: datetime | None, present: bool | None
) -> None:
    inventory = [] if digest is None else [
        {"host": "build-07", "image": "docker.io/checkmarx/kics", "tag": "latest",
         "digest": digest, "image_id": None, "captured_at": taken,
         "file": "hosts/build-07/images.txt", "line": 2}
    ]  # fmt: skip
    host = _host_case(tmp_path, inventory)
    assert (host["verdict"], host["still_present"]) == ("likely", present)


def _job_and_host(tmp_path: Path, host_at: datetime) -> dict[str, Any]:
    case = tmp_path / "case"
    case.mkdir()
    job_use = use(at=INSIDE) | {"host": "build-07"}
    host_use = use(digest=MAL, at=host_at) | {
        "actor_kind": "host", "job_key": None, "host": "build-07", "file": "journal.txt", "line": 6,
    }  # fmt: skip
    job = {"job_key": "j1", "ci": "github", "project": "acme/x", "run": "1",
           "file_job_name": "scan", "ts_first": INSIDE - timedelta(minutes=1),
           "ts_last": INSIDE + timedelta(minutes=5), "file": "f.txt", "line": 1}  # fmt: skip
    rows = {"image_uses": [job_use, host_use], "job_logs": [job]}
    for name in TABLES:
        frame = pl.DataFrame(schema=TABLES[name])
        if name in rows:
            frame = conform(name, pl.DataFrame(rows[name], strict=False))
        frame.write_parquet(case / f"{name}.parquet")
    adv_path = tmp_path / "adv.toml"
    adv_path.write_text(ADVISORY)
    jobs = analyze(case, load_advisory(adv_path)).results["job_verdicts"]
    return jobs.row(0, named=True)


def test_job_takes_the_digest_its_host_logged_while_it_ran(tmp_path: Path) -> None:
    job = _job_and_host(tmp_path, INSIDE + timedelta(seconds=8))
    assert (job["verdict"], job["digest"]) == ("confirmed", MAL)
    assert job["reason"].startswith(
        "host build-07 logged the digest while the job ran (journal.txt:6)"
    )
    assert {"file": "journal.txt", "line": 6} in job["evidence"]


def test_host_digest_outside_the_job_is_not_taken(tmp_path: Path) -> None:
    job = _job_and_host(tmp_path, INSIDE + timedelta(hours=1))
    assert (job["verdict"], job["digest"]) == ("likely", None)

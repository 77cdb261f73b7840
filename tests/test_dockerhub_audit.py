import json

from forensics.parsers import dockerhub_audit, github_jobs
from forensics.parsers._base import Source

GOOD = "sha256:" + "60" * 32
BAD = "sha256:" + "ba" * 32


def entry(tag: str, digest: str, ts: str, action: str = "repo.tag.push") -> dict[str, object]:
    return {
        "account": "checkmarx", "action": action, "name": "checkmarx/kics", "actor": "cxbuild",
        "data": {"digest": digest, "tag": tag}, "timestamp": ts,
        "action_description": f"pushed the tag {tag} <script>alert(1)</script>",
    }  # fmt: skip


ENTRIES = [
    entry("latest", GOOD, "2026-03-30T10:00:00Z"),
    entry("latest", BAD, "2026-04-22T12:35:40Z"),
]


def parse(data: bytes) -> dict[str, object]:
    r = dockerhub_audit.parse([(Source("dockerhub/a.json"), data)])
    rows = r.tables.get("tag_pushes")
    stats = r.files["dockerhub/a.json"]
    return {"rows": [] if rows is None else rows.to_dicts(), "errors": stats.errors,
            "unparsed": stats.unparsed}  # fmt: skip


def test_api_page_pretty_printed_gives_entry_lines() -> None:
    data = json.dumps({"logs": ENTRIES}, indent=1).encode()
    assert dockerhub_audit.sniff("x", data)
    got = parse(data)
    rows = got["rows"]
    assert [(r["image"], r["tag"], r["digest"]) for r in rows] == [
        ("docker.io/checkmarx/kics", "latest", GOOD),
        ("docker.io/checkmarx/kics", "latest", BAD),
    ]
    lines = data.decode().splitlines()
    assert all(lines[r["line"] - 1].strip().startswith('"digest"') for r in rows)
    assert rows[0]["line"] < rows[1]["line"]
    assert (rows[1]["ts_hi"] - rows[1]["ts_lo"]).total_seconds() == 0.999999


def test_bare_array_and_json_lines() -> None:
    assert len(parse(json.dumps(ENTRIES).encode())["rows"]) == 2
    jsonl = "\n".join(json.dumps(e) for e in ENTRIES) + '\n{"account": "x", "act\n'
    got = parse(jsonl.encode())
    assert [r["line"] for r in got["rows"]] == [1, 2]
    assert got["unparsed"] == 1


def test_truncated_document_is_an_error_with_its_line() -> None:
    data = json.dumps({"logs": ENTRIES}, indent=1).encode()[:-40]
    got = parse(data)
    assert got["rows"] == []
    ((line, reason),) = got["errors"]
    assert line == data.decode().count("\n") + 1 or line > 1
    assert reason.startswith("invalid JSON")


def test_jobs_api_response() -> None:
    doc = {"total_count": 1, "jobs": [{"id": 42, "run_id": 9001, "name": "scan / kics",
           "runner_name": "GitHub Actions 12", "started_at": "2026-04-22T12:40:00Z",
           "completed_at": "2026-04-22T12:45:00Z", "steps": []}]}  # fmt: skip
    data = json.dumps(doc, indent=2).encode()
    assert github_jobs.sniff("x", data) and not dockerhub_audit.sniff("x", data)
    r = github_jobs.parse(
        [(Source("github/a/b/9001/jobs.json", {"project": "a/b", "run": "9001"}), data)]
    )
    (row,) = r.tables["api_jobs"].to_dicts()
    assert (row["job_id"], row["name"], row["runner_name"], row["run"]) == (
        "42",
        "scan / kics",
        "GitHub Actions 12",
        "9001",
    )
    bad = github_jobs.parse([(Source("j.json"), b'{"total_count": 1, "jobs": [')]).files["j.json"]
    assert bad.errors and bad.errors[0][1].startswith("invalid JSON")

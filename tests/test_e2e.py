"""The CLI on sample_logs/: exact findings, determinism, the case store and `forensics sql`."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from forensics.cli import app

from .conftest import KICS, SAMPLE

MAL_LATEST = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
MAL_ALPINE = "sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d"
CHECKOUT = "token (with: actions/checkout@v4)"
AWS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", CHECKOUT]
WEB = ["GITHUB_TOKEN", "SLACK_WEBHOOK_URL", "SSH_PRIVATE_KEY", CHECKOUT,
       "token (with: docker://checkmarx/kics:v2.1.20)"]  # fmt: skip
RUN = "github/acme/api/9001/logs.zip!0_iac-scan.txt"
GITLAB = "gitlab/acme/platform/infra/4711.log"

# (project, run, job, verdict, tag, digest, first_use, secrets, evidence)
JOBS = [
    ('acme/api', '8990', 'iac-scan', 'cleared', 'latest', 'sha256:600d4129e5b83c3d1fd597138903fa57db627750c62295d46fd3e7ad830c8006',
     '2026-04-21T09:12:27.396841Z', ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'token (with: actions/checkout@v4)'],
     [('github/acme/api/8990/0_iac-scan.txt', 111), ('github/acme/api/8990/0_iac-scan.txt', 117), ('github/acme/api/8990/0_iac-scan.txt', 118), ('github/acme/api/8990/0_iac-scan.txt', 146), ('github/acme/api/8990/0_iac-scan.txt', 147)]),
    ('acme/api', '9001', 'iac-scan', 'confirmed', 'latest', 'sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0',
     '2026-04-22T12:41:04.000769Z', ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'token (with: actions/checkout@v4)'],
     [('github/acme/api/9001/logs.zip!0_iac-scan.txt', 111), ('github/acme/api/9001/logs.zip!0_iac-scan.txt', 117), ('github/acme/api/9001/logs.zip!0_iac-scan.txt', 118), ('github/acme/api/9001/logs.zip!0_iac-scan.txt', 146), ('github/acme/api/9001/logs.zip!0_iac-scan.txt', 147)]),
    ('acme/infra', '9200', 'terraform-scan', 'confirmed', 'alpine', 'sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d',
     '2026-04-22T13:15:05.516078Z', ['ARM_CLIENT_SECRET', 'GITHUB_TOKEN', 'TF_API_TOKEN', 'token (with: actions/checkout@v4)'],
     [('github/acme/infra/9200/0_terraform-scan.txt', 102), ('hosts/build-07/docker-journal.txt', 6)]),
    ('acme/infra', '9201', 'nightly-scan', 'possible', 'alpine', None,
     '2026-04-22T16:00:06.738227Z', ['GITHUB_TOKEN', 'TF_API_TOKEN', 'token (with: actions/checkout@v4)'],
     [('github/acme/infra/9201/0_nightly-scan.txt', 96)]),
    ('acme/infra', '9202', 'terraform-scan', 'likely', 'alpine', None,
     '2026-04-22T13:15:05.516078Z', ['ARM_CLIENT_SECRET', 'GITHUB_TOKEN', 'TF_API_TOKEN', 'token (with: actions/checkout@v4)'],
     [('github/acme/infra/9202/0_terraform-scan.txt', 102)]),
    ('acme/mobile', '9400', 'scan', 'possible', 'debian', 'sha256:d1ffec5dc132d13c0fff906726ee23791541cb02a963a37eeba4427c6faec605',
     '2026-04-22T12:50:19.819561Z', ['FASTLANE_PASSWORD', 'GITHUB_TOKEN', 'MATCH_PASSWORD', 'token (with: actions/checkout@v4)'],
     [('github/acme/mobile/9400/0_scan.txt', 51), ('github/acme/mobile/9400/0_scan.txt', 52), ('github/acme/mobile/9400/0_scan.txt', 85), ('github/acme/mobile/9400/0_scan.txt', 86)]),
    ('acme/platform', '9600', 'build-scanner-image', 'confirmed', 'alpine', 'sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d',
     '2026-04-22T13:05:40.529012Z', ['DOCKERHUB_TOKEN', 'GITHUB_TOKEN', 'token (with: actions/checkout@v4)'],
     [('github/acme/platform/9600/0_build-scanner-image.txt', 146)]),
    ('acme/web', '9100', 'kics', 'confirmed', 'v2.1.20', 'sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d',
     '2026-04-22T12:58:11.566670Z', ['GITHUB_TOKEN', 'SLACK_WEBHOOK_URL', 'SSH_PRIVATE_KEY', 'token (with: actions/checkout@v4)', 'token (with: docker://checkmarx/kics:v2.1.20)'],
     [('github/acme/web/9100/0_kics.txt', 33), ('github/acme/web/9100/0_kics.txt', 34), ('github/acme/web/9100/0_kics.txt', 35), ('github/acme/web/9100/0_kics.txt', 63), ('github/acme/web/9100/0_kics.txt', 64)]),
    ('acme/web', '9500', 'kics', 'cleared', 'v2.1.20', 'sha256:600d1539ac1202c5d76145f69d58786adbc4a0400e6f897784cc190490fbaf65',
     '2026-04-22T15:30:49.186854Z', ['GITHUB_TOKEN', 'SLACK_WEBHOOK_URL', 'SSH_PRIVATE_KEY', 'token (with: actions/checkout@v4)', 'token (with: docker://checkmarx/kics:v2.1.20)'],
     [('github/acme/web/9500/0_kics.txt', 33), ('github/acme/web/9500/0_kics.txt', 34), ('github/acme/web/9500/0_kics.txt', 35), ('github/acme/web/9500/0_kics.txt', 63), ('github/acme/web/9500/0_kics.txt', 64)]),
    ('acme/platform/infra', '4712', '4712', 'possible', 'alpine', None,
     '2026-04-22T12:50:00.300000Z', ['CI_JOB_TOKEN'],
     [('gitlab/acme/platform/infra/4712.log', 5), ('gitlab/acme/platform/infra/4712.log', 6), ('gitlab/acme/platform/infra/4712.log', 7), ('gitlab/acme/platform/infra/4712.log', 15), ('gitlab/acme/platform/infra/4712.log', 16)]),
    ('acme/platform/infra', '98123', 'kics-scan <script>alert(1)</script>', 'confirmed', 'latest', 'sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0',
     '2026-04-22T12:40:00.000000Z', ['CI_JOB_TOKEN'],
     [('gitlab/acme/platform/infra/4711.log', 4), ('gitlab/acme/platform/infra/4711.log', 9), ('gitlab/acme/platform/infra/4711.log', 10), ('gitlab/acme/platform/infra/4711.log', 18)]),
    ('acme/kics-scan', '57', 'kics-scan', 'confirmed', 'latest', 'sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0',
     '2026-04-22T12:50:01.200000Z', ['FILE', 'PASSWORD', 'TOKEN', 'USERNAME'],
     [('jenkins/acme/kics-scan/57/log', 22), ('jenkins/acme/kics-scan/57/log', 24), ('jenkins/acme/kics-scan/57/log', 29), ('jenkins/acme/kics-scan/57/log', 30), ('jenkins/acme/kics-scan/57/log', 33), ('jenkins/acme/kics-scan/57/log', 34)]),
    ('acme/kics-scan', '58', 'kics-scan', 'possible', 'alpine', None,
     '2026-04-22T16:20:00.000000Z', ['KICS_TOKEN'],
     [('jenkins/acme/kics-scan/58/log', 9), ('jenkins/acme/kics-scan/58/log', 10), ('jenkins/acme/kics-scan/58/log', 13)]),
]  # fmt: skip
HOSTS = [
    ('build-07', 'confirmed', 'alpine', '2026-04-22T13:15:05.516078Z',
     [('github/acme/infra/9200/0_terraform-scan.txt', 102), ('hosts/build-07/docker-journal.txt', 6)]),
    ('build-09', 'likely', 'v2.1.21', '2026-04-22T13:40:12.000000Z',
     [('hosts/build-09/docker-events.jsonl', 18)]),
    ('build-linux-03', 'possible', 'alpine', '2026-04-22T16:20:00.000000Z',
     [('jenkins/acme/kics-scan/58/log', 9), ('jenkins/acme/kics-scan/58/log', 10), ('jenkins/acme/kics-scan/58/log', 13)]),
    ('ci-agent-07', 'confirmed', 'latest', '2026-04-22T12:50:01.200000Z',
     [('jenkins/acme/kics-scan/57/log', 22), ('jenkins/acme/kics-scan/57/log', 24), ('jenkins/acme/kics-scan/57/log', 29), ('jenkins/acme/kics-scan/57/log', 30), ('jenkins/acme/kics-scan/57/log', 33), ('jenkins/acme/kics-scan/57/log', 34)]),
    ('ci-runner-02.acme.internal', 'confirmed', 'latest', '2026-04-22T12:40:00.000000Z',
     [('gitlab/acme/platform/infra/4711.log', 4), ('gitlab/acme/platform/infra/4711.log', 9), ('gitlab/acme/platform/infra/4711.log', 10), ('gitlab/acme/platform/infra/4711.log', 18)]),
    ('fv-az512-33', 'likely', 'alpine', '2026-04-22T13:15:05.516078Z',
     [('github/acme/infra/9202/0_terraform-scan.txt', 102)]),
    ('gl-shared-07-vm-3', 'possible', 'alpine', '2026-04-22T12:50:00.300000Z',
     [('gitlab/acme/platform/infra/4712.log', 5), ('gitlab/acme/platform/infra/4712.log', 6), ('gitlab/acme/platform/infra/4712.log', 7), ('gitlab/acme/platform/infra/4712.log', 15), ('gitlab/acme/platform/infra/4712.log', 16)]),
    ('k8s-node-1', 'confirmed', 'latest', '2026-04-22T12:50:01.000000Z',
     [('kubernetes/prod-eu/events.json', 51), ('kubernetes/prod-eu/events.json', 84), ('kubernetes/prod-eu/pods.json', 48)]),
    ('runner-03', 'confirmed', 'alpine', None,
     [('hosts/runner-03/docker-image-inspect.json', 9)]),
]  # fmt: skip
SECRETS = [
    ("acme/api", "AWS_ACCESS_KEY_ID", "confirmed"),
    ("acme/api", "AWS_SECRET_ACCESS_KEY", "confirmed"),
    ("acme/api", "GITHUB_TOKEN", "confirmed"),
    ("acme/api", "token (with: actions/checkout@v4)", "confirmed"),
    ("acme/infra", "ARM_CLIENT_SECRET", "confirmed"),
    ("acme/infra", "GITHUB_TOKEN", "confirmed"),
    ("acme/infra", "TF_API_TOKEN", "confirmed"),
    ("acme/infra", "token (with: actions/checkout@v4)", "confirmed"),
    ("acme/mobile", "FASTLANE_PASSWORD", "possible"),
    ("acme/mobile", "GITHUB_TOKEN", "possible"),
    ("acme/mobile", "MATCH_PASSWORD", "possible"),
    ("acme/mobile", "token (with: actions/checkout@v4)", "possible"),
    ("acme/platform", "DOCKERHUB_TOKEN", "confirmed"),
    ("acme/platform", "GITHUB_TOKEN", "confirmed"),
    ("acme/platform", "token (with: actions/checkout@v4)", "confirmed"),
    ("acme/web", "GITHUB_TOKEN", "confirmed"),
    ("acme/web", "SLACK_WEBHOOK_URL", "confirmed"),
    ("acme/web", "SSH_PRIVATE_KEY", "confirmed"),
    ("acme/web", "token (with: actions/checkout@v4)", "confirmed"),
    ("acme/web", "token (with: docker://checkmarx/kics:v2.1.20)", "confirmed"),
    ("acme/platform/infra", "CI_JOB_TOKEN", "confirmed"),
    ("acme/kics-scan", "FILE", "confirmed"),
    ("acme/kics-scan", "KICS_TOKEN", "possible"),
    ("acme/kics-scan", "PASSWORD", "confirmed"),
    ("acme/kics-scan", "TOKEN", "confirmed"),
    ("acme/kics-scan", "USERNAME", "confirmed"),
]
ERRORS = [
    ('dockerhub/checkmarx-kics-auditlog-page-1.json', 211, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('dockerhub/checkmarx-kics-auditlog-page-2.json', 36, 'invalid JSON: Unterminated string starting at (column 17)'),
    ('dockerhub/usage-acme-2026-04.csv', 7, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('dockerhub/usage-acme-2026-04.csv', 8, 'not a pull-usage row (wrong field count, bad datehour or counts)'),
    ('github/acme/api/9001/logs.zip!1_unit-tests.txt', 149, 'corrupt timestamp'),
    ('github/acme/api/9001/logs.zip!1_unit-tests.txt', 151, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('github/acme/docs/9700/0_lint.txt', 114, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('github/acme/docs/9700/0_lint.txt', 131, 'corrupt timestamp'),
    ('github/acme/infra/9200/0_terraform-scan.txt', 100, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('github/acme/infra/9200/0_terraform-scan.txt', 118, 'corrupt timestamp'),
    ('github/acme/infra/9202/0_terraform-scan.txt', 100, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('github/acme/infra/9202/0_terraform-scan.txt', 118, 'corrupt timestamp'),
    ('github/acme/legacy/8800/logs.zip', None, 'corrupt zip archive: File is not a zip file'),
    ('github/acme/mobile/9400/0_scan.txt', 187, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('github/acme/mobile/9400/0_scan.txt', 252, 'corrupt timestamp'),
    ('gitlab/acme/platform/infra/4711.json', 17, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('gitlab/acme/platform/infra/4711.log', 16, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('gitlab/acme/platform/infra/4711.log', 23, 'unrecognized image line'),
    ('gitlab/acme/platform/infra/4712.log', 20, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('gitlab/acme/platform/infra/4712.log', 21, 'corrupt timestamp'),
    ('hosts/build-07/docker-events.jsonl', 2, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('hosts/build-07/docker-events.jsonl', 26, 'not a docker event (invalid or truncated JSON)'),
    ('hosts/build-07/docker-journal.txt', 9, 'truncated or malformed logrus line (no closing quote after msg=)'),
    ('hosts/build-07/docker-journal.txt', 10, 'not a runtime log line (no journal prefix, logrus fields or journal JSON)'),
    ('hosts/build-07/docker-journal.txt', 11, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('hosts/build-07/notes.txt', None, 'unrecognized file: no parser accepts its content'),
    ('hosts/build-09/docker-events.jsonl', 13, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('hosts/build-09/docker-events.jsonl', 17, 'not a docker event (invalid or truncated JSON)'),
    ('hosts/runner-03/docker-image-inspect.json', 104, 'repository is not a valid image name (row kept with an empty image)'),
    ('hosts/runner-03/docker-image-inspect.json', 161, 'not an image inspect object (no valid Id)'),
    ('jenkins/acme/kics-scan/57/build.xml', 19, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('jenkins/acme/kics-scan/57/log', 53, 'corrupt timestamp'),
    ('jenkins/acme/kics-scan/57/log', 54, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('jenkins/acme/kics-scan/58/log', 21, 'corrupt timestamp'),
    ('jenkins/acme/kics-scan/58/log', 22, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('kubernetes/prod-eu/events.json', 84, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('registries/artifactory-cache/request.log', 10, 'not an Artifactory request log line (7 or 6 pipe layout)'),
    ('registries/artifactory-cache/request.log', 11, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('registries/harbor-cache/registry.log', 14, 'not a registry log line (logrus or access format)'),
    ('registries/harbor-cache/registry.log', 15, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
    ('registries/nexus-proxy/request.log', 7, 'not a Nexus request.log line'),
    ('registries/nexus-proxy/request.log', 9, 'invalid UTF-8 bytes (replaced with U+FFFD)'),
]  # fmt: skip


@pytest.fixture(scope="module")
def findings(sample_run: tuple[Path, Any]) -> dict[str, Any]:
    out, result = sample_run
    assert result.exit_code == 1, result.output
    doc: dict[str, Any] = json.loads((out / "findings.json").read_text())
    return doc


def test_exit_status_and_summary(sample_run: tuple[Path, Any]) -> None:
    out, result = sample_run
    assert result.exit_code == 1  # the bundle holds broken input on purpose
    assert "jobs     6 confirmed, 1 likely, 4 possible, 2 cleared" in result.stdout
    assert "hosts    5 confirmed, 2 likely, 2 possible, 0 cleared" in result.stdout
    assert "accounts 5 confirmed, 0 likely, 0 possible, 0 cleared" in result.stdout
    assert "caches   3 confirmed, 0 likely, 0 possible, 0 cleared" in result.stdout
    assert f"report:   {out / 'report.html'}" in result.stdout


def test_jobs_exactly(findings: dict[str, Any]) -> None:
    got = [
        (j["project"], j["run"], j["job"], j["verdict"], j["tag"], j["digest"], j["first_use"],
         j["secrets"], [(e["file"], e["line"]) for e in j["evidence"]])
        for j in findings["jobs"]
    ]  # fmt: skip
    assert got == JOBS
    assert {j["image"] for j in findings["jobs"]} == {"docker.io/checkmarx/kics"}
    runners = {(j["run"], j["runner"], j["host"]) for j in findings["jobs"]}
    assert ("9001", "GitHub Actions 12", None) in runners
    assert ("9200", "build-07", "build-07") in runners
    assert all(j["reason"] for j in findings["jobs"])


def test_unit_tests_job_with_immutable_action_digest_is_not_a_finding(
    findings: dict[str, Any],
) -> None:
    assert ("9001", "unit-tests") not in {(j["run"], j["job"]) for j in findings["jobs"]}
    assert findings["uses"] == {"counted_only": 1, "judged": 36}  # 9700 lint: unlisted tag


def test_hosts_exactly(findings: dict[str, Any]) -> None:
    got = [
        (h["host"], h["verdict"], h["tag"], h["first_use"],
         [(e["file"], e["line"]) for e in h["evidence"]])
        for h in findings["hosts"]
    ]  # fmt: skip
    assert got == HOSTS
    present = {h["host"]: h["still_present"] for h in findings["hosts"]}
    assert {h: p for h, p in present.items() if p is not None} == {
        "runner-03": True,  # its inspect output still lists the malicious digest
        "build-09": False,  # its inventory of 2026-04-23 09:00 no longer lists it
    }


def test_secrets_to_rotate(findings: dict[str, Any]) -> None:
    rows = {(s["project"], s["name"]): s for s in findings["secrets"]}
    assert sorted((p, n, rows[(p, n)]["verdict"]) for p, n in rows) == sorted(SECRETS)
    assert not {p for p, _ in rows} & {"acme/docs"}
    token = rows[("acme/infra", "GITHUB_TOKEN")]
    assert token["expires_with_job"] is True
    assert token["permissions"] == {"contents": "read", "metadata": "read"}
    assert token["jobs"] == [
        "acme/infra/9200/terraform-scan",
        "acme/infra/9201/nightly-scan",
        "acme/infra/9202/terraform-scan",
    ]
    assert token["verdict"] == "confirmed"  # 9200 took build-07's journal digest
    aws = rows[("acme/api", "AWS_SECRET_ACCESS_KEY")]
    assert aws["jobs"] == ["acme/api/9001/iac-scan"]  # 8990 is cleared: nothing to rotate there
    assert aws["first_exposed"] == "2026-04-22T12:41:04.000769Z"
    assert aws["expires_with_job"] is False and aws["permissions"] is None


def test_coverage_lists_every_problem(findings: dict[str, Any]) -> None:
    cov = findings["coverage"]
    got = [(e["file"], e["line"], e["reason"]) for e in cov["errors"]]
    assert got == ERRORS
    assert (cov["files"], cov["lines"], cov["unparsed_lines"]) == (57, 3806, 54)


def test_header(findings: dict[str, Any]) -> None:
    sha = hashlib.sha256(KICS.read_bytes()).hexdigest()
    assert findings["format"] == "forensics-findings/1"
    assert findings["advisory"] == {"id": "kics-2026-04-22", "sha256": sha}
    assert findings["window"] == {"start": "2026-04-22T12:35:00Z", "end": "2026-04-22T14:05:00Z"}


def test_identical_input_gives_identical_bytes(
    tmp_path: Path, sample_run: tuple[Path, Any], runner: CliRunner
) -> None:
    first, _ = sample_run
    second = tmp_path / "again"
    args = ["investigate", str(SAMPLE), "--advisory", str(KICS), "--out", str(second)]
    assert runner.invoke(app, args).exit_code == 1
    for name in ("findings.json", "report.html", "case/manifest.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_manifest_hashes_every_input(sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    manifest = json.loads((out / "case" / "manifest.json").read_text())
    files = {f["path"]: f for f in manifest["files"]}
    assert len(files) == 57
    notes = SAMPLE / "hosts" / "build-07" / "notes.txt"
    assert (
        files["hosts/build-07/notes.txt"]["sha256"]
        == hashlib.sha256(notes.read_bytes()).hexdigest()
    )
    assert files[RUN]["status"] == "parsed" and files[RUN]["format"] == "github_actions"
    assert files["github/acme/api/9001/logs.zip"]["status"] == "archive"
    assert manifest["advisory"]["sha256"] == hashlib.sha256(KICS.read_bytes()).hexdigest()
    assert manifest["tool"]["version"]


def test_no_secret_value_or_machine_path_in_outputs(sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    for path in [out / "findings.json", out / "report.html", *sorted((out / "case").glob("*"))]:
        data = path.read_bytes()
        assert b"BEGIN OPENSSH PRIVATE KEY" not in data
        assert b"ghp_" not in data, path
        # only the manifest records where the inputs were (for `forensics verify`)
        assert str(SAMPLE).encode() not in data or path.name == "manifest.json", path


def test_sql_formats(sample_run: tuple[Path, Any], runner: CliRunner) -> None:
    out, _ = sample_run
    query = "SELECT project, job, verdict FROM job_verdicts WHERE verdict = 'likely'"
    table = runner.invoke(app, ["sql", str(out), query])
    assert table.exit_code == 0 and "terraform-scan" in table.stdout and "(1 rows)" in table.stdout
    csv = runner.invoke(app, ["sql", str(out), query, "--csv"])
    assert csv.stdout == "project,job,verdict\nacme/infra,terraform-scan,likely\n"
    js = runner.invoke(app, ["sql", str(out), query, "--json"])
    assert json.loads(js.stdout) == [
        {"project": "acme/infra", "job": "terraform-scan", "verdict": "likely"}
    ]
    nested = runner.invoke(app, ["sql", str(out), "SELECT evidence FROM host_verdicts", "--csv"])
    assert nested.exit_code == 0 and "docker-events.jsonl" in nested.stdout


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "SELECT * FROM nope",
            "error: query failed: Catalog Error: Table with name nope does not exist!",
        ),
        ("COPY (SELECT 1) TO 'x.csv'", "file system operations are disabled by configuration"),
        ("SELECT * FROM read_csv('/etc/hostname')", "file system operations are disabled"),
        ("SET enable_external_access = true", "error: query failed:"),
    ],
)
def test_sql_is_read_only(
    sample_run: tuple[Path, Any], runner: CliRunner, query: str, message: str
) -> None:
    out, _ = sample_run
    result = runner.invoke(app, ["sql", str(out), query])
    assert result.exit_code == 2
    assert message in result.stderr


def test_sql_on_a_folder_without_case(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["sql", str(tmp_path), "SELECT 1"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path}: not an output folder of 'forensics investigate' (no case/)"
    )


def test_case_duckdb_has_a_view_per_table(sample_run: tuple[Path, Any]) -> None:
    import duckdb

    out, _ = sample_run
    tables = sorted(p.stem for p in (out / "case").glob("*.parquet"))
    con = duckdb.connect(str(out / "case" / "case.duckdb"), read_only=True)
    try:
        views = sorted(
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        )
    finally:
        con.close()
    assert views == tables


ACCOUNTS = [
    (
        "<script>alert(1)</script>",
        "x��y",
        "confirmed",
        "alpine",
        ["203.0.113.10"],
        [("dockerhub/usage-acme-2026-04.csv", 7)],
    ),
    (
        "acme-bot",
        "bot-pat",
        "confirmed",
        "latest",
        ["203.0.113.8"],
        [("dockerhub/usage-acme-2026-04.csv", 4)],
    ),
    (
        "acme-ci",
        "ci-token",
        "confirmed",
        "latest",
        ["203.0.113.7"],
        [("dockerhub/usage-acme-2026-04.csv", 2)],
    ),
    (
        "acme-dev",
        "dev-pat",
        "confirmed",
        None,
        ["203.0.113.9"],
        [("dockerhub/usage-acme-2026-04.csv", 5)],
    ),
    (
        None,
        "generated",
        "confirmed",
        "alpine",
        ["198.51.100.4", "198.51.100.5"],
        [("dockerhub/usage-acme-2026-04.csv", 3)],
    ),
]
CACHES = [
    (
        "artifactory-cache",
        "confirmed",
        "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0",
        ["10.0.4.21", "10.0.4.23", "10.0.4.25"],
        None,
        [
            ("registries/artifactory-cache/request.log", 3),
            ("registries/artifactory-cache/request.log", 7),
            ("registries/artifactory-cache/request.log", 11),
        ],
    ),
    (
        "harbor-cache",
        "confirmed",
        "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0",
        ["10.0.4.17"],
        True,
        [("registries/harbor-cache/registry.log", 4), ("registries/harbor-cache/registry.log", 9)],
    ),
    (
        "nexus-proxy",
        "confirmed",
        "sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d",
        ["10.0.5.31", "10.0.5.32", "10.0.5.34"],
        None,
        [
            ("registries/nexus-proxy/request.log", 3),
            ("registries/nexus-proxy/request.log", 4),
            ("registries/nexus-proxy/request.log", 8),
        ],
    ),
]


def test_accounts_and_caches(findings: dict[str, Any]) -> None:
    got = [(a["account"], a["token"], a["verdict"], a["tag"], a["ips"],
            [(e["file"], e["line"]) for e in a["evidence"]]) for a in findings["accounts"]]  # fmt: skip
    assert got == ACCOUNTS
    got = [(c["cache"], c["verdict"], c["digest"], c["clients"], c["still_present"],
            [(e["file"], e["line"]) for e in c["evidence"]]) for c in findings["caches"]]  # fmt: skip
    assert got == CACHES

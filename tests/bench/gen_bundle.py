"""Generate a synthetic bundle of a given size for ``make bench``.

GitHub Actions job logs make up most of it (test and install output with a few docker pulls of
the advisory image per job), plus docker events on a few hosts. Content is deterministic.
"""

import json
import random
from pathlib import Path

MAL = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
NOISE = [
    "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
    "tests/test_api.py::test_create_user[{}] PASSED                              [ 42%]",
    "  Downloading pydantic_core-2.50.5-cp311-cp311-manylinux_2_17_x86_64.whl (2.0 MB)",
    "remote: Counting objects:  {}% (13/123)        ",
    "\x1b[36;1mpython -m pytest -q --maxfail=1\x1b[0m",
    "Collecting numpy>=1.26 (from -r requirements.txt (line {}))",
    "added 1342 packages, and audited 1343 packages in 21s",
]


def _job_log(rng: random.Random, job: int, lines: int) -> str:
    base = 1776861300 + job * 37
    out = ["\ufeff2026-04-22T12:35:00.0000000Z Current runner version: '2.334.0'"]
    pull_at = {lines // 3, 2 * lines // 3}
    for i in range(lines):
        sec = base + i // 50
        hh, mm, ss = (sec // 3600) % 24, (sec // 60) % 60, sec % 60
        ts = f"2026-04-22T{hh:02d}:{mm:02d}:{ss:02d}.{rng.randrange(10**7):07d}Z"
        if i in pull_at:
            out += [
                f"{ts} ##[group]Run docker run --rm checkmarx/kics:latest scan -p .",
                f"{ts} \x1b[36;1mdocker run --rm checkmarx/kics:latest scan -p .\x1b[0m",
                f"{ts} env:",
                f"{ts}   AWS_SECRET_ACCESS_KEY: ***",
                f"{ts} ##[endgroup]",
                f"{ts} Unable to find image 'checkmarx/kics:latest' locally",
                f"{ts} latest: Pulling from checkmarx/kics",
                f"{ts} Digest: {MAL}",
                f"{ts} Status: Downloaded newer image for checkmarx/kics:latest",
            ]
        else:
            out.append(f"{ts} {rng.choice(NOISE).format(i % 100)}")
    return "\n".join(out) + "\n"


def _events(rng: random.Random, count: int) -> str:
    rows = []
    for i in range(count):
        t = 1776861300 + i
        image = "checkmarx/kics:alpine" if i % 97 == 0 else f"node:{20 + i % 3}"
        action = rng.choice(["create", "start", "die"])
        rows.append(json.dumps({"Type": "container", "Action": action,
                                "Actor": {"ID": f"{i:064x}", "Attributes": {"image": image}},
                                "scope": "local", "time": t, "timeNano": t * 10**9}))  # fmt: skip
    return "\n".join(rows) + "\n"


def generate(root: Path, size_mb: int, seed: int = 7) -> int:
    """Write a bundle of about ``size_mb`` MB under ``root``.

    Args:
        root: the bundle folder (created).
        size_mb: target size in megabytes.
        seed: random seed (the content is deterministic for a seed).

    Returns:
        The bytes written.
    """
    rng = random.Random(seed)
    target = size_mb * 1_000_000
    template = _job_log(rng, 0, 40_000)
    written = 0
    job = 0
    while written < target * 0.95:
        run = root / "github" / "acme" / f"svc{job % 50}" / str(10_000 + job)
        run.mkdir(parents=True, exist_ok=True)
        data = template if job % 5 else _job_log(rng, job, 40_000)
        (run / f"0_job{job}.txt").write_text(data, encoding="utf-8")
        written += len(data.encode())
        job += 1
    for host in range(4):
        folder = root / "hosts" / f"runner-{host:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        data = _events(rng, max(1, int(target * 0.05 / 4 / 180)))
        (folder / "docker-events.jsonl").write_text(data, encoding="utf-8")
        written += len(data.encode())
    return written


_OTHER = {
    # bundle folder -> (fixture to replicate, file name, share of the bundle)
    "gitlab/acme/platform/infra": ("gitlab/ff-timestamps.log", "{n}.log", 0.04),
    "jenkins/acme/kics-scan": ("jenkins/timestamped-pull.log", "{n}/log", 0.04),
    "hosts/journal-host": ("runtime_journal/docker-journal.txt", "journal-{n}.txt", 0.03),
    "registries/bench-cache": ("registry_log/registry.log", "registry-{n}.log", 0.03),
}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _clean_lines(fixture: Path) -> bytes:
    """The fixture's lines minus those with invalid UTF-8 (rare in real logs)."""
    kept = []
    for line in fixture.read_bytes().split(b"\n"):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        kept.append(line)
    return b"\n".join(kept).rstrip(b"\n") + b"\n"


def generate_other_formats(root: Path, size_mb: int) -> dict[str, int]:
    """Add GitLab, Jenkins, runtime-journal and registry logs (a few % each).

    Args:
        root: the bundle folder.
        size_mb: the bundle's target size in megabytes.

    Returns:
        Bytes written per bundle folder.
    """
    written: dict[str, int] = {}
    for folder, (fixture, pattern, share) in _OTHER.items():
        body = _clean_lines(FIXTURES / fixture)
        # like a real log: the fixture's story once, then lines that name no image
        noise = b"".join(
            line + b"\n"
            for line in body.split(b"\n")
            if line and b"kics" not in line and b"sha256" not in line
        )
        per_file = body + noise * max(1, 2_000_000 // max(len(noise), 1))
        target = int(size_mb * 1_000_000 * share)
        total, n = 0, 0
        while total < target:
            path = root / folder / pattern.format(n=1000 + n)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(per_file)
            total += len(per_file)
            n += 1
        written[folder] = total
    return written

"""Report scale benchmark: a bundle of 10,000 jobs and 1,000,000 docker events.

Runs the whole ``investigate`` job on it and prints the time, peak memory and the sizes of
report.html and findings.json. A benchmark, not a test: nothing asserts.

Usage: python -m tests.bench.scale [--jobs 10000] [--events 1000000]
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench.run import ADVISORY

MAL = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
TAGS = ["latest", "alpine", "v2.1.20", "v1.7.13"]
_CHILD = """
import resource, sys, time
from forensics.cli import main
t = time.perf_counter()
sys.argv = ["forensics"] + sys.argv[1:]
try:
    main()
except SystemExit:
    pass
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print("seconds", round(time.perf_counter() - t, 1), "peak MiB", peak)
"""


def _job(rng: random.Random, n: int) -> str:
    sec = 1776861300 - 3600 + (n * 7) % 14400
    stamp = f"2026-04-22T{sec // 3600 % 24:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
    lines = [f"\ufeff{stamp}.0000000Z Current runner version: '2.334.0'"]
    lines += [f"{stamp}.{i:07d}Z npm notice line {i}" for i in range(1, 30)]
    if n % 3 == 0:
        tag = rng.choice(TAGS)
        lines += [
            f"{stamp}.1000000Z ##[group]Run docker run --rm checkmarx/kics:{tag} scan",
            f"{stamp}.1000001Z env:",
            f"{stamp}.1000002Z   AWS_SECRET_ACCESS_KEY: ***",
            f"{stamp}.1000003Z ##[endgroup]",
            f"{stamp}.2000000Z {tag}: Pulling from checkmarx/kics",
        ]
        if n % 2 == 0:
            lines.append(f"{stamp}.3000000Z Digest: {MAL}")
        lines.append(f"{stamp}.4000000Z Status: Downloaded newer image for checkmarx/kics:{tag}")
    return "\n".join(lines) + "\n"


def _events(host: int, count: int) -> str:
    rows = []
    for i in range(count):
        t = 1776861300 - 7200 + (i * 13 + host) % 28800
        image = "checkmarx/kics:alpine" if i % 5000 == 0 else f"node:{20 + i % 3}"
        kind = "image" if i % 50 == 0 else "container"
        action = "pull" if kind == "image" else "start"
        actor = {"ID": image if kind == "image" else f"{i:x}", "Attributes": {"image": image}}
        rows.append(json.dumps({"Type": kind, "Action": action, "Actor": actor, "time": t}))
    return "\n".join(rows) + "\n"


def generate(root: Path, jobs: int, events: int) -> None:
    """Write the scale bundle."""
    rng = random.Random(11)
    for n in range(jobs):
        run = root / "github" / "acme" / f"svc{n % 400}" / str(20_000 + n)
        run.mkdir(parents=True, exist_ok=True)
        (run / f"0_job{n}.txt").write_text(_job(rng, n), encoding="utf-8")
    hosts = 200
    for h in range(hosts):
        folder = root / "hosts" / f"node-{h:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "events.jsonl").write_text(_events(h, events // hosts), encoding="utf-8")


def main() -> None:
    """Generate, run, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forensics-scale-") as tmp:
        bundle, out = Path(tmp) / "bundle", Path(tmp) / "out"
        generate(bundle, args.jobs, args.events)
        args = ["investigate", str(bundle), "--advisory", str(ADVISORY), "--out", str(out)]
        done = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True)
        print(done.stdout.strip() or done.stderr[-2000:])
        for name in ("report.html", "findings.json"):
            print(f"{name}: {(out / name).stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

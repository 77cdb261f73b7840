"""``make bench``: generate a synthetic bundle, then measure ingest and the whole run.

Each measurement runs in a fresh child process so that its peak memory (``ru_maxrss``) is its
own. Prints throughput (MB/s of input) and peak resident memory. Not a test: nothing asserts.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.gen_bundle import generate, generate_other_formats

ROOT = Path(__file__).resolve().parents[2]
_FORMAT_OF = {"gitlab": "GitLab traces", "jenkins": "Jenkins logs", "hosts": "runtime journals",
              "registries": "registry logs"}  # fmt: skip
ADVISORY = ROOT / "sample_logs" / "advisories" / "kics-2026-04-22.toml"

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from forensics.bundle import open_bundle
from forensics.ingest import ingest
from forensics.investigate import investigate
bundle, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
if mode == "ingest":
    (out / "case").mkdir(parents=True)
    with open_bundle(bundle) as b:
        ingest(b, out / "case")
else:
    investigate(bundle, Path(sys.argv[4]), out)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": wall, "peak_bytes": peak}))
"""


def _measure(bundle: Path, out: Path, mode: str) -> dict[str, float]:
    cmd = [sys.executable, "-c", _CHILD, str(bundle), str(out), mode, str(ADVISORY)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--keep", type=Path, help="generate the bundle here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forensics-bench-") as tmp:
        bundle = args.keep or Path(tmp) / "bundle"
        t = time.perf_counter()
        size = generate(bundle, args.size_mb)
        others = generate_other_formats(bundle, args.size_mb)
        size += sum(others.values())
        print(f"generated {size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")
        github = sum(p.stat().st_size for p in (bundle / "github").rglob("*") if p.is_file())
        runs = [
            ("ingest, GitHub logs only", bundle / "github", github, "ingest"),
            *[
                (
                    f"ingest, {_FORMAT_OF[folder.split('/')[0]]} only",
                    bundle / folder,
                    n,
                    "ingest",
                )
                for folder, n in others.items()
            ],
            ("ingest, whole bundle", bundle, size, "ingest"),
            ("investigate, whole bundle", bundle, size, "investigate"),
        ]
        for i, (label, source, nbytes, mode) in enumerate(runs):
            m = _measure(source, Path(tmp) / f"out-{i}", mode)
            rate = nbytes / 1e6 / m["seconds"]
            peak = m["peak_bytes"] / 2**20
            print(
                f"{label:32} {nbytes / 1e6:6.0f} MB {m['seconds']:6.1f} s "
                f"{rate:6.1f} MB/s  peak RSS {peak:5.0f} MiB"
            )


if __name__ == "__main__":
    main()

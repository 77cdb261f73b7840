"""Rebuild the demo run-log archive from its extracted source files, byte-identically.

Source: tests/data/gha-run-9001/ (the files of a GitHub ``runs/{id}/logs`` archive: top-level
``N_<job>.txt`` plus ``<job>/N_<step>.txt`` and ``<job>/system.txt``).
Target: sample_logs/kics-incident/github/acme/api/9001/logs.zip

The output depends only on the source files' paths and bytes: members are sorted by path, every
member gets the same timestamp and permissions, no directory entries are written, and data is
stored uncompressed so that different zlib builds cannot change the bytes.

Usage:
    python tests/tools/build_sample_zip.py            # (re)write the archive
    python tests/tools/build_sample_zip.py --check    # exit 1 if the archive is out of date
"""

import argparse
import io
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "data" / "gha-run-9001"
TARGET = ROOT / "sample_logs" / "kics-incident" / "github" / "acme" / "api" / "9001" / "logs.zip"
MEMBER_TIME = (2026, 4, 22, 12, 44, 10)


def build(source: Path) -> bytes:
    """Return the archive bytes for the files under ``source``."""
    files = sorted((p.relative_to(source).as_posix(), p) for p in source.rglob("*") if p.is_file())
    if not files:
        raise SystemExit(f"no files under {source}")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, path in files:
            info = zipfile.ZipInfo(name, MEMBER_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    data = build(args.source)
    if args.check:
        current = args.target.read_bytes() if args.target.exists() else b""
        if current != data:
            print(f"{args.target} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.target.parent.mkdir(parents=True, exist_ok=True)
    args.target.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Lay out the installed package shape (forensics.parsers -> parsers/ ...) as symlinks for mypy.

mypy cannot follow setuptools' editable-install finder, so this builds the same tree that the
wheel contains, made of symlinks back into the checkout, and mypy checks that.
"""

import shutil
import sys
from pathlib import Path

MAPPING = {"parsers": "parsers", "queries": "queries", "reports": "reports"}


def main(target: str) -> None:
    """Create TARGET/forensics with links to the source folders."""
    root = Path(__file__).resolve().parents[2]
    dest = Path(target) / "forensics"
    shutil.rmtree(Path(target), ignore_errors=True)
    dest.mkdir(parents=True)
    for entry in sorted((root / "forensics").iterdir()):
        if entry.name != "__pycache__":
            (dest / entry.name).symlink_to(entry)
    for name, folder in MAPPING.items():
        (dest / name).symlink_to(root / folder, target_is_directory=True)


if __name__ == "__main__":
    main(sys.argv[1])

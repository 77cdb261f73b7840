"""``forensics verify``: re-hash the inputs a case was built from and say what changed."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.bundle import open_bundle, walk
from forensics.errors import BundleError, CaseError
from forensics.manifest import sha256_bytes, sha256_file
from forensics.store import CASE


@dataclass
class Verification:
    """What ``verify`` found: ``(path, problem)`` pairs and the number of files checked."""

    checked: int = 0
    changed: list[tuple[str, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing named in the manifest changed or went missing."""
        return not self.changed


def _load(out_dir: Path) -> dict[str, Any]:
    path = out_dir / CASE / "manifest.json"
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError(f"{out_dir}: no case/manifest.json (run 'forensics investigate')") from None
    except (OSError, ValueError) as exc:
        raise CaseError(f"{path}: unreadable manifest: {exc}") from None
    if doc.get("format") != "forensics-manifest/1" or not isinstance(doc.get("files"), list):
        raise CaseError(f"{path}: not a forensics-manifest/1 document")
    return doc


def _check_file(path: Path, expected: str | None, label: str, result: Verification) -> None:
    if expected is None:
        return
    result.checked += 1
    if not path.is_file():
        result.changed.append((label, "missing"))
    elif sha256_file(path)[0] != expected:
        result.changed.append((label, "changed (SHA-256 differs)"))


def _check_inputs(bundle: Path, doc: dict[str, Any], result: Verification) -> None:
    expected = {f["path"]: f["sha256"] for f in doc["files"]}
    seen: set[str] = set()
    errors: list[tuple[str, int | None, str]] = []
    with open_bundle(bundle) as opened:
        if doc["bundle"].get("archive_sha256") not in (None, opened.archive_sha256):
            result.changed.append((str(bundle), "changed (archive SHA-256 differs)"))
        for member in walk(opened, errors):
            seen.add(member.path)
            if member.path not in expected:
                result.added.append(member.path)
            elif sha256_bytes(member.data) != expected[member.path]:
                result.changed.append((member.path, "changed (SHA-256 differs)"))
    result.checked += len(expected)
    result.changed += [(p, "missing") for p in sorted(set(expected) - seen)]


def verify(out_dir: Path, bundle: Path | None = None) -> Verification:
    """Re-hash every input named in ``DIR/case/manifest.json``, the advisory and findings.json.

    Args:
        out_dir: the output folder of ``investigate``.
        bundle: where the bundle is now (default: the path recorded in the manifest).

    Returns:
        What was checked and what changed, went missing or was added.

    Raises:
        CaseError: when the folder holds no readable manifest.
        BundleError: when the bundle cannot be opened.
    """
    doc = _load(out_dir)
    result = Verification()
    source = bundle or Path(doc["bundle"]["path"])
    if not source.exists():
        raise BundleError(f"{source}: bundle not found (give its new place with --bundle)")
    _check_inputs(source, doc, result)
    advisory = doc["advisory"]
    _check_file(
        Path(advisory["path"]), advisory.get("sha256"), "advisory " + advisory["path"], result
    )
    _check_file(out_dir / "findings.json", doc.get("findings_sha256"), "findings.json", result)
    result.changed.sort()
    result.added.sort()
    return result

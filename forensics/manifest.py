"""Hashes of every input, for the chain of custody (``case/manifest.json``)."""

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks.

    Args:
        path: the file.

    Returns:
        ``(hex digest, size in bytes)``.
    """
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def sha256_bytes(data: bytes) -> str:
    """SHA-256 of bytes.

    Args:
        data: content.

    Returns:
        The hex digest.
    """
    return hashlib.sha256(data).hexdigest()

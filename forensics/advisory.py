"""Load and validate an advisory file (TOML, one per incident).

An advisory names the images whose tags were overwritten, the exposure window, the tags that
pointed to malicious content, the malicious and known-good digests (of any kind: ``index``,
``platform`` or ``config``), and registry mirrors that serve the same repositories. Every
problem is reported as ``<file>: <key>: <problem>``.
"""

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dateutil.parser import isoparse

from forensics.errors import AdvisoryError
from forensics.reference import normalize

DIGEST_KINDS = ("index", "platform", "config")
_DIGEST_RX = re.compile(r"^sha256:[0-9a-fA-F]{64}$")
_TOP_KEYS = {"id", "title", "references", "window", "images", "mirrors"}
_WINDOW_KEYS = {"start", "end"}
_IMAGE_KEYS = {"name", "tags", "malicious", "known_good"}
_DIGEST_KEYS = {"digest", "kind", "platform", "index", "note"}


@dataclass(frozen=True)
class AdvisoryDigest:
    """One listed digest.

    Attributes:
        digest: ``sha256:<64 lower-case hex>``.
        kind: ``index``, ``platform`` or ``config``.
        image: the normalized image it belongs to.
        malicious: True for ``malicious``, False for ``known_good``.
        platform: e.g. ``linux/amd64`` for a platform manifest, else None.
        index: the index digest a platform or config digest belongs to, else None.
    """

    digest: str
    kind: str
    image: str
    malicious: bool
    platform: str | None = None
    index: str | None = None


@dataclass(frozen=True)
class AdvisoryImage:
    """One repository named by the advisory."""

    name: str
    raw_name: str
    tags: tuple[str, ...]
    digests: tuple[AdvisoryDigest, ...]


@dataclass(frozen=True)
class Advisory:
    """A validated advisory."""

    id: str
    title: str
    references: tuple[str, ...]
    window_start: datetime
    window_end: datetime | None
    images: tuple[AdvisoryImage, ...]
    mirrors: dict[str, str] = field(default_factory=dict)
    sha256: str = ""
    path: str = ""

    @property
    def digests(self) -> list[AdvisoryDigest]:
        """All listed digests, malicious and known-good."""
        return [d for image in self.images for d in image.digests]


def load_advisory(path: Path) -> Advisory:
    """Read and validate the advisory at ``path``.

    Args:
        path: the TOML file.

    Returns:
        The validated advisory.

    Raises:
        AdvisoryError: naming the file, the key and the problem.
    """
    where = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdvisoryError(where, "(file)", f"cannot read: {exc.strerror}") from None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise AdvisoryError(where, "(file)", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise AdvisoryError(where, "(toml)", f"invalid TOML: {exc}") from None
    return _build(where, doc, hashlib.sha256(data).hexdigest())


def _build(where: str, doc: dict[str, Any], sha: str) -> Advisory:
    _no_unknown(where, doc, _TOP_KEYS, "")
    adv_id = _required_str(where, doc, "id")
    title = _optional_str(where, doc, "title") or adv_id
    refs = _str_list(where, doc.get("references", []), "references")
    start, end = _window(where, doc.get("window"))
    images_raw = doc.get("images")
    if not isinstance(images_raw, list) or not images_raw:
        raise AdvisoryError(where, "images", "at least one [[images]] table is required")
    images = tuple(_image(where, raw, i) for i, raw in enumerate(images_raw))
    mirrors = _mirrors(where, doc.get("mirrors", {}))
    return Advisory(
        id=adv_id,
        title=title,
        references=tuple(refs),
        window_start=start,
        window_end=end,
        images=images,
        mirrors=mirrors,
        sha256=sha,
        path=where,
    )


def _no_unknown(where: str, table: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in sorted(table):
        if key not in allowed:
            raise AdvisoryError(where, f"{prefix}{key}", "unknown key")


def _required_str(where: str, doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AdvisoryError(where, key, "required, a non-empty string")
    return value


def _optional_str(where: str, doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise AdvisoryError(where, key, "must be a string")
    return value


def _str_list(where: str, value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AdvisoryError(where, key, "must be a list of strings")
    return list(value)


def _timestamp(where: str, value: object, key: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = isoparse(value)
        except (ValueError, OverflowError):
            raise AdvisoryError(where, key, f"not an ISO-8601 timestamp: {value!r}") from None
    else:
        raise AdvisoryError(where, key, "must be an ISO-8601 timestamp with a UTC offset")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise AdvisoryError(where, key, "needs a UTC offset (e.g. 'Z' or '+02:00')")
    return parsed.astimezone(UTC)


def _window(where: str, window: object) -> tuple[datetime, datetime | None]:
    if not isinstance(window, dict):
        raise AdvisoryError(where, "window", "a [window] table with 'start' is required")
    _no_unknown(where, window, _WINDOW_KEYS, "window.")
    if "start" not in window:
        raise AdvisoryError(where, "window.start", "required")
    start = _timestamp(where, window["start"], "window.start")
    end = None
    if window.get("end") is not None:
        end = _timestamp(where, window["end"], "window.end")
        if end < start:
            raise AdvisoryError(where, "window.end", "is before window.start")
    return start, end


def _image(where: str, raw: object, i: int) -> AdvisoryImage:
    key = f"images[{i}]"
    if not isinstance(raw, dict):
        raise AdvisoryError(where, key, "must be a table")
    _no_unknown(where, raw, _IMAGE_KEYS, f"{key}.")
    name = raw.get("name")
    if not isinstance(name, str):
        raise AdvisoryError(where, f"{key}.name", "required, an image reference")
    ref = normalize(name)
    if ref.image is None:
        raise AdvisoryError(where, f"{key}.name", f"not an image reference: {name!r}")
    tags = _str_list(where, raw.get("tags", []), f"{key}.tags")
    digests: list[AdvisoryDigest] = []
    for group, malicious in (("malicious", True), ("known_good", False)):
        entries = raw.get(group, [])
        if not isinstance(entries, list):
            raise AdvisoryError(where, f"{key}.{group}", "must be a list")
        for j, entry in enumerate(entries):
            digests.append(_digest(where, entry, f"{key}.{group}[{j}]", ref.image, malicious))
    return AdvisoryImage(name=ref.image, raw_name=name, tags=tuple(tags), digests=tuple(digests))


def _check_digest(where: str, value: object, key: str) -> str:
    if not isinstance(value, str) or not _DIGEST_RX.match(value):
        raise AdvisoryError(where, key, f"malformed digest {value!r} (want sha256:<64 hex>)")
    return value.lower()


def _digest(where: str, entry: object, key: str, image: str, malicious: bool) -> AdvisoryDigest:
    if isinstance(entry, str):
        return AdvisoryDigest(_check_digest(where, entry, key), "index", image, malicious)
    if not isinstance(entry, dict):
        raise AdvisoryError(where, key, "must be a digest string or a table")
    _no_unknown(where, entry, _DIGEST_KEYS, f"{key}.")
    digest = _check_digest(where, entry.get("digest"), f"{key}.digest")
    kind = entry.get("kind", "index")
    if kind not in DIGEST_KINDS:
        raise AdvisoryError(where, f"{key}.kind", f"must be one of {', '.join(DIGEST_KINDS)}")
    platform = entry.get("platform")
    if platform is not None and not isinstance(platform, str):
        raise AdvisoryError(where, f"{key}.platform", "must be a string")
    index = entry.get("index")
    if index is not None:
        index = _check_digest(where, index, f"{key}.index")
    return AdvisoryDigest(digest, kind, image, malicious, platform, index)


def _mirrors(where: str, raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise AdvisoryError(where, "mirrors", 'must be a table of "host" = "upstream"')
    out: dict[str, str] = {}
    for host, upstream in sorted(raw.items()):
        if not isinstance(upstream, str) or not upstream:
            raise AdvisoryError(where, f"mirrors.{host}", "must name an upstream registry host")
        out[host.strip("/").lower()] = upstream.strip("/").lower()
    return out

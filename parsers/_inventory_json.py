"""The JSON-document image inventories read by ``docker_images``: inspect and crictl.

- ``docker image inspect <ids...>`` (docker/cli ``image_inspect.md``): a JSON array of objects
  with ``Id``, ``RepoTags`` and ``RepoDigests`` (several arrays one after another are read too).
- ``crictl images -o json`` on a Kubernetes node (cri-tools ``crictl images``): the CRI
  ``ListImagesResponse`` as pretty-printed protojson, ``{"images": [{"id", "repoTags",
  "repoDigests", "size", "uid", "username", "spec", "pinned"}, ...]}``. ``id`` is the CRI image
  ID (the config digest on containerd); ``repoDigests`` hold the index digest pulled.

Both give one row per reference, paired like ``docker images --digests`` pairs them
(docker/cli ``formatter/image.go``): each tag with each digest of the same repository, then each
digest whose repository has no tag; an image with neither is one row with only ``image_id``.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from forensics.lines import LineFrame
from forensics.parsers import _json
from forensics.parsers._base import ParseResult, record_unparsed
from forensics.reference import with_normalized

NOT_INSPECT = "not an image inspect object (no valid Id)"
NOT_CRICTL = "not a crictl image object (no valid id)"

_FULL_ID_RX = r"^sha256:[0-9a-f]{64}$"
_REF_TAG_RX = r":([\w][\w.-]{0,127})$"
_REF_DIGEST_RX = r"@(sha256:[0-9a-fA-F]{64})$"
_SNIFF_CRICTL_RX = re.compile(rb'"images"\s*:\s*\[')
_SNIFF_CRICTL_REF_RX = re.compile(rb'"repo(?:Tags|Digests)"\s*:\s*(?:\[|null)')
COLUMNS = ("image", "tag", "digest", "image_id", "file", "line", "bad_name")
"""The columns of :func:`document_rows`."""
_EMPTY = {
    c: pl.Int64 if c == "line" else pl.Boolean if c == "bad_name" else pl.String for c in COLUMNS
}


@dataclass(frozen=True)
class Shape:
    """Where one JSON inventory keeps its image entries and their keys.

    Attributes:
        wrapper: the top-level key holding the entries (``None``: the document is the array).
        id_key: the image ID key; ``tags_key`` and ``digests_key`` the reference lists.
        depth: the nesting depth of an entry's ``{`` in the pretty-printed document.
        not_doc: the error for a document of another shape; ``bad_entry`` for an entry.
    """

    wrapper: str | None
    id_key: str
    tags_key: str
    digests_key: str
    depth: int
    not_doc: str
    bad_entry: str


INSPECT = Shape(
    None, "Id", "RepoTags", "RepoDigests", 1,
    "JSON document that is not a docker image inspect array", NOT_INSPECT,
)  # fmt: skip
CRICTL = Shape(
    "images", "id", "repoTags", "repoDigests", 2,
    'JSON document that is not a crictl images object ({"images": [...]})', NOT_CRICTL,
)  # fmt: skip


def is_crictl(text: bytes) -> bool:
    """Whether a head (BOM and leading space removed) looks like ``crictl images -o json``.

    Args:
        text: the first bytes of the file.

    Returns:
        True for a JSON object with an ``images`` array and ``repoTags``/``repoDigests`` keys.
    """
    return (
        text[:1] == b"{"
        and bool(_SNIFF_CRICTL_RX.search(text))
        and bool(_SNIFF_CRICTL_REF_RX.search(text))
    )


def _documents(text: str) -> tuple[list[tuple[int, Any]], tuple[int | None, str] | None]:
    """Decode one or more JSON documents written one after another, with their first lines."""
    decoder = json.JSONDecoder()
    docs: list[tuple[int, Any]] = []
    pos, line = 0, 1
    try:
        while True:
            start = len(text) - len(text[pos:].lstrip())
            line += text.count("\n", pos, start)
            if start >= len(text):
                return docs, None
            doc, pos = decoder.raw_decode(text, start)
            docs.append((line, doc))
            line += text.count("\n", start, pos)
    except json.JSONDecodeError as exc:
        return docs, (exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
    except RecursionError:
        return docs, (None, "invalid JSON: nested too deeply")


def _entries(doc: Any, shape: Shape) -> list[Any] | None:
    """The image entries of one document, or None when it is not of ``shape``."""
    if shape.wrapper is not None:
        doc = doc.get(shape.wrapper) if isinstance(doc, dict) else None
    return doc if isinstance(doc, list) else None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _refs(entries: list[Any], starts: list[int], shape: Shape) -> tuple[pl.DataFrame, list[int]]:
    """One row per tag/digest entry (or per dangling image), and the bad entries."""
    rows: list[dict[str, Any]] = []
    bad: list[int] = []
    for entry, start in zip(entries, starts, strict=True):
        image_id = entry.get(shape.id_key) if isinstance(entry, dict) else None
        valid = isinstance(image_id, str) and re.fullmatch(_FULL_ID_RX, image_id.lower())
        if not isinstance(entry, dict) or not isinstance(image_id, str) or not valid:
            bad.append(start)
            continue
        refs: list[tuple[str, str | None]] = [
            ("tag", r) for r in _strings(entry.get(shape.tags_key))
        ]
        refs += [("digest", r) for r in _strings(entry.get(shape.digests_key))]
        for kind, ref in refs or [("id", None)]:
            rows.append({"entry": start, "image_id": image_id.lower(), "kind": kind, "ref": ref})
    schema = {"entry": pl.Int64, "image_id": pl.String, "kind": pl.String, "ref": pl.String}
    return pl.DataFrame(rows, schema=schema), bad


def _ref_lines(
    refs: pl.DataFrame, lines: pl.DataFrame, starts: list[int], shape: Shape
) -> pl.DataFrame:
    """The line of each reference's own string in its entry (else the entry's first line)."""
    key = re.escape(shape.id_key)
    value = pl.col("line").str.extract(rf'^\s*(?:"{key}"\s*:\s*)?"([^"\\]*)"\s*,?\s*$', 1)
    found = lines.select(pl.col("line_no").cast(pl.Int64).alias("at"), value.alias("value"))
    bounds = pl.DataFrame({"entry": starts}, schema={"entry": pl.Int64}).unique().sort("entry")
    bounds = bounds.with_columns(pl.col("entry").shift(-1).alias("next"))
    keyed = refs.with_row_index("_i").with_columns(pl.coalesce("ref", "image_id").alias("value"))
    inside = (pl.col("at") > pl.col("entry")) & (
        pl.col("next").is_null() | (pl.col("at") < pl.col("next"))
    )
    hits = (
        keyed.join(bounds, on="entry", how="left")
        .join(found, on="value", how="inner")
        .filter(inside)
        .group_by("_i")
        .agg(pl.col("at").min())
    )
    return (
        keyed.join(hits, on="_i", how="left")
        .with_columns(pl.coalesce("at", "entry").alias("line"))
        .drop("_i", "at", "value")
    )


def _paired(refs: pl.DataFrame) -> pl.DataFrame:
    """Pair tags with digests of the same repository, as ``docker images --digests`` does."""
    named = with_normalized(refs, "ref", ("image", "_tag", "_digest"))
    named = named.with_columns(
        pl.col("ref").str.extract(_REF_DIGEST_RX, 1).str.to_lowercase().alias("digest"),
        # an invalid name still shows its tag, as the table form does
        pl.when(pl.col("kind") == "tag")
        .then(pl.coalesce("_tag", pl.col("ref").str.extract(_REF_TAG_RX, 1)))
        .alias("tag"),
        (pl.col("ref").is_not_null() & pl.col("image").is_null()).alias("bad_name"),
    )
    tags = named.filter(pl.col("kind") == "tag").drop("digest")
    digests = named.filter(pl.col("kind") == "digest")
    keys = ["entry", "image"]
    tagged = tags.join(
        digests.select(*keys, "digest", pl.col("line").alias("d_line")), on=keys, how="left"
    ).with_columns(pl.coalesce("d_line", "line").alias("line"))
    alone = digests.join(tags.select(keys).unique(), on=keys, how="anti")
    dangling = named.filter(pl.col("kind") == "id")
    cols = ["entry", "image", "tag", "digest", "image_id", "line", "bad_name"]
    return pl.concat([f.select(cols) for f in (tagged, alone, dangling)], how="vertical_relaxed")


def document_rows(
    path: str, data: bytes, lines: pl.DataFrame, result: ParseResult, shape: Shape
) -> pl.DataFrame:
    """Rows of one JSON inventory file (decoded once); what is not understood is recorded.

    Args:
        path: the file's logical path.
        data: its bytes.
        lines: its ``line_no`` and ``line`` columns.
        result: receives the file's errors and unparsed lines.
        shape: which inventory it is.

    Returns:
        The :data:`COLUMNS` of each reference held (``bad_name``: not a valid image name).
    """
    stats = result.stats(path)
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    docs, error = _documents(text)
    parts = [_entries(d, shape) for _, d in docs]
    if error is None and any(p is None for p in parts):
        error = (1, shape.not_doc)
    if error is not None:
        stats.errors.append(error)
        stats.unparsed = stats.lines
        return pl.DataFrame(schema=_EMPTY)
    entries = [e for p in parts for e in p or []]
    starts = _json.entry_lines(LineFrame(lines, []), len(entries), shape.depth)
    if len(set(starts)) == 1:  # not one entry per line block: cite each document's first line
        starts = [n for (n, _), p in zip(docs, parts, strict=True) for _ in p or []]
    refs, bad = _refs(entries, starts, shape)
    if bad:  # entries sharing a line (compact JSON) count that line once
        lines_bad = sorted(set(bad))
        bad_frame = pl.DataFrame({"file": [path] * len(lines_bad), "line_no": lines_bad})
        record_unparsed(result, bad_frame, shape.bad_entry)
    rows = _paired(_ref_lines(refs, lines, starts, shape))
    return rows.select(*COLUMNS[:4], pl.lit(path).alias("file"), "line", "bad_name")

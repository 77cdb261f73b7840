"""Image inventories taken on a host: ``docker images``/``image inspect``, ``crictl images``.

Accepted shapes (docker/cli ``image_ls.md``, ``image_inspect.md``; cri-tools ``crictl.md``):

- the ``docker images --digests [--no-trunc]`` table. Columns are located by where the
  header's names start (CREATED holds spaces, e.g. ``9 weeks ago``); ``<none>`` marks a
  missing repository, tag or digest. Without ``--no-trunc`` IMAGE ID is the 12-hex prefix;
  without ``--digests`` there is no DIGEST column.
- ``docker images --digests --format '{{json .}}'``: one object per line with ``Repository``,
  ``Tag``, ``Digest``, ``ID``, ``CreatedAt``, ``Size``.
- ``docker image inspect <ids...>``: a JSON array of objects with ``Id``, ``RepoTags`` and
  ``RepoDigests`` (several arrays one after another are read too).
- ``crictl images -o json`` on a Kubernetes node: ``{"images": [...]}`` whose entries hold
  ``id``, ``repoTags`` and ``repoDigests`` (the JSON documents are read by
  :mod:`forensics.parsers._inventory_json`).

Output: ``host_images``, one row per reference the host holds, paired like ``docker images
--digests`` pairs them (docker/cli ``formatter/image.go``): each repo tag with each repo digest
of the same repository, then each digest whose repository has no tag (tag null). An image with
neither (dangling) is one row with only ``image_id``. ``digest`` is the repo digest (the index
digest for a multi-arch pull); ``image_id`` is the config digest, except on a containerd-store
host, where docker reports the index digest as the image ID. The host is the bundle folder.
"""

import re
from collections.abc import Sequence

import polars as pl

from forensics.parsers import _inventory_json
from forensics.parsers._base import (
    Item,
    ParseResult,
    batch_lines,
    context_frame,
    evidence_rows,
    record_unparsed,
)
from forensics.reference import with_normalized

NAME = "docker_images"
DESCRIPTION = (
    "docker images --digests (table or {{json .}} lines), docker image inspect "
    "and crictl images -o json"
)

HOST_IMAGES = pl.Schema(
    {
        "host": pl.String(),
        "image": pl.String(),  # normalized repository
        "tag": pl.String(),
        "digest": pl.String(),  # repo (index) digest, sha256:<hex>
        "image_id": pl.String(),  # sha256:<hex>, or the 12-hex prefix a truncated listing shows
        "captured_at": pl.Datetime("us", "UTC"),  # from the file name, e.g. ...-20260423T0900Z.txt
        "file": pl.String(),
        "line": pl.Int64(),
    }
)

_HEADER_RX = r"^REPOSITORY {2,}TAG {2,}(?:DIGEST {2,})?IMAGE ID {2,}CREATED {2,}SIZE\s*$"
_SNIFF_HEADER_RX = re.compile(rb"^REPOSITORY +TAG +(?:DIGEST +)?IMAGE ID +CREATED +SIZE\b")
_SNIFF_JSONL_RX = re.compile(rb'^\{.*"ID"\s*:.*"Repository"\s*:|^\{.*"Repository"\s*:.*"ID"\s*:')
_SNIFF_INSPECT_START_RX = re.compile(rb"^\[\s*\{")
_SNIFF_INSPECT_RX = re.compile(rb'"Repo(?:Tags|Digests)"\s*:\s*(?:\[|null)')
_NONE = "<none>"
_REPO_RX = r"^\S+$"
_TAG_RX = r"^(?:<none>|[\w][\w.-]{0,127})$"
_DIGEST_RX = r"^(?:<none>|sha256:[0-9a-fA-F]{64})?$"
_ID_RX = r"^(?:(?:sha256:)?[0-9a-fA-F]{64}|[0-9a-fA-F]{12})$"
_HEAD = 64 * 1024  # what sniffing sees (forensics.ingest.HEAD_BYTES)
_JSON_FIELDS = {"j_repo": "$.Repository", "j_tag": "$.Tag", "j_digest": "$.Digest", "j_id": "$.ID"}
_COLUMNS = ("REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE")

NOT_A_ROW = "not a docker images row (does not fit the header columns)"
NO_HEADER = "not a docker images row (no REPOSITORY header line before it)"
NOT_JSON = "not a docker images JSON line (invalid JSON or missing Repository/ID)"
NOT_INSPECT = _inventory_json.NOT_INSPECT
NOT_CRICTL = _inventory_json.NOT_CRICTL
BAD_NAME = "repository is not a valid image name (row kept with an empty image)"


def sniff(path: str, head: bytes) -> bool:
    """Recognize an image listing by its header, JSON-lines keys or JSON-document keys.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True for a ``docker images`` table or JSON lines, a ``docker image inspect`` array or
        ``crictl images -o json`` output.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    while text.startswith(b"#"):  # a collector's comment lines (e.g. "# captured ...")
        text = text.split(b"\n", 1)[1].lstrip() if b"\n" in text else b""
    first = text.split(b"\n", 1)[0].rstrip()
    if _SNIFF_HEADER_RX.match(first):
        return True
    if first.startswith(b"{") and b'"Action"' not in first and _SNIFF_JSONL_RX.match(first):
        return True
    if _SNIFF_INSPECT_START_RX.match(text) and _SNIFF_INSPECT_RX.search(text):
        return True
    return _inventory_json.is_crictl(text)


# --- the table and JSON lines -------------------------------------------------------------


def _headers(lines: pl.DataFrame) -> pl.DataFrame:
    """Column start offsets of every header line (``DIGEST`` null when the column is absent)."""
    text = pl.col("text")
    names = ("o_repo", "o_tag", "o_digest", "o_id", "o_created", "o_size")
    return lines.filter(text.str.contains(_HEADER_RX)).select(
        "file",
        pl.col("line_no").alias("hdr"),
        *(text.str.find(c, literal=True).alias(n) for c, n in zip(_COLUMNS, names, strict=True)),
    )


def _cell(start: pl.Expr, end: pl.Expr | None = None) -> pl.Expr:
    text = pl.col("text")
    cut = text.str.slice(start) if end is None else text.str.slice(start, end - start)
    return cut.str.strip_chars()


def _table_cells(rows: pl.DataFrame) -> pl.DataFrame:
    """Cut table rows at the header's offsets and check that each cell starts its column."""
    text = pl.col("text")
    starts = [pl.col(c) for c in ("o_tag", "o_digest", "o_id", "o_created", "o_size")]
    # A cell starts exactly at its column: a space before it, no space at it.
    aligned = pl.all_horizontal(
        text.str.slice(pl.col("o_repo"), 1).str.contains(r"^\S$"),
        *(s.is_null() | text.str.slice(s - 1, 2).str.contains(r"^ \S$") for s in starts),
    )
    return rows.with_columns(
        _cell(pl.col("o_repo"), pl.col("o_tag")).alias("repo"),
        _cell(pl.col("o_tag"), pl.coalesce("o_digest", "o_id")).alias("tag_raw"),
        _cell(pl.col("o_digest"), pl.col("o_id")).alias("digest_raw"),
        _cell(pl.col("o_id"), pl.col("o_created")).alias("id_raw"),
        _cell(pl.col("o_created"), pl.col("o_size")).alias("created"),
        _cell(pl.col("o_size")).alias("size"),
        aligned.fill_null(False).alias("aligned"),
    )


def _valid(repo: str, tag: str, digest: str, image_id: str) -> pl.Expr:
    return (
        pl.col(repo).fill_null("").str.contains(_REPO_RX)
        & pl.col(tag).fill_null("").str.contains(_TAG_RX)
        & pl.col(digest).fill_null("").str.contains(_DIGEST_RX)
        & pl.col(image_id).fill_null("").str.contains(_ID_RX)
    )


def _json_lines(df: pl.DataFrame) -> pl.DataFrame:
    """The cells of ``{{json .}}`` lines, and whether each line is a valid row (``ok``)."""
    jsonl = df.with_columns(
        **{k: pl.col("text").str.json_path_match(p) for k, p in _JSON_FIELDS.items()}
    )
    stripped = pl.col("text").str.strip_chars()
    return jsonl.with_columns(
        (stripped.str.ends_with("}") & _valid("j_repo", "j_tag", "j_digest", "j_id")).alias("ok")
    ).select(
        "file", "line_no", "host", "ok",
        pl.col("j_repo").alias("repo"), pl.col("j_tag").alias("tag_raw"),
        pl.col("j_digest").alias("digest_raw"), pl.col("j_id").alias("id_raw"),
    )  # fmt: skip


def _listing(lines: pl.DataFrame, result: ParseResult) -> pl.DataFrame:
    """Rows of ``docker images`` tables and JSON lines; lines not understood are recorded."""
    text = pl.col("line").str.strip_prefix("\ufeff").str.strip_chars_end()
    df = lines.with_columns(text.alias("text")).filter(
        (pl.col("text").str.strip_chars() != "") & ~pl.col("text").str.starts_with("#")
    )
    headers = _headers(df)
    # the header in force on each line: the nearest one at or above it in the same file
    hdr = pl.when(pl.col("text").str.contains(_HEADER_RX)).then(pl.col("line_no"))
    df = (
        df.sort("file", "line_no")
        .with_columns(hdr.forward_fill().over("file").alias("hdr"))
        .join(headers, on=["file", "hdr"], how="left")
    )
    is_json = pl.col("text").str.strip_chars().str.starts_with("{")
    is_header = (pl.col("hdr") == pl.col("line_no")).fill_null(False)
    jsonl = _json_lines(df.filter(is_json))
    table = df.filter(~is_json & ~is_header)
    orphans = table.filter(pl.col("hdr").is_null())
    table = _table_cells(table.filter(pl.col("hdr").is_not_null()))
    table = table.with_columns(
        (
            pl.col("aligned")
            & (pl.col("created") != "")
            & (pl.col("size") != "")
            & _valid("repo", "tag_raw", "digest_raw", "id_raw")
        ).alias("ok")
    ).select("file", "line_no", "host", "ok", "repo", "tag_raw", "digest_raw", "id_raw")
    record_unparsed(result, orphans.select("file", "line_no"), NO_HEADER)
    record_unparsed(result, table.filter(~pl.col("ok")).select("file", "line_no"), NOT_A_ROW)
    record_unparsed(result, jsonl.filter(~pl.col("ok")).select("file", "line_no"), NOT_JSON)
    both = pl.concat([table, jsonl]).filter(pl.col("ok"))
    none = pl.lit(_NONE)
    id_raw = pl.col("id_raw").str.to_lowercase()
    both = both.with_columns(
        pl.when(pl.col("repo") != none).then(pl.col("repo")).alias("repo"),
        pl.when(pl.col("tag_raw") != none).then(pl.col("tag_raw")).alias("tag"),
        pl.when(~pl.col("digest_raw").is_in([_NONE, ""]))
        .then(pl.col("digest_raw").str.to_lowercase())
        .alias("digest"),
        pl.when(id_raw.str.len_chars() == 64).then(pl.lit("sha256:") + id_raw).otherwise(id_raw)
        .alias("image_id"),
    )  # fmt: skip
    named = with_normalized(both, "repo", ("image", "_tag", "_digest"))
    return named.select(
        "host", "image", "tag", "digest", "image_id", "file",
        pl.col("line_no").cast(pl.Int64).alias("line"),
        (pl.col("repo").is_not_null() & pl.col("image").is_null()).alias("bad_name"),
    )  # fmt: skip


_INTERNAL = pl.Schema(
    {k: v for k, v in HOST_IMAGES.items() if k != "captured_at"} | {"bad_name": pl.Boolean()}
)


def _document_shape(data: bytes) -> _inventory_json.Shape | None:
    """The JSON-document inventory a file holds, or None for a table or JSON lines."""
    text = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] == b"[":
        return _inventory_json.INSPECT
    first = text.split(b"\n", 1)[0].rstrip()
    if _SNIFF_JSONL_RX.match(first) or not _inventory_json.is_crictl(text[:_HEAD]):
        return None
    return _inventory_json.CRICTL


def _captured_at(path: pl.Expr) -> pl.Expr:
    """When the inventory was taken, from a stamp in its file name (``...-20260423T0900Z.txt``)."""
    stamp = path.str.extract(r"(\d{8}T\d{4}(?:\d\d)?Z)[^/!]*$", 1)
    return pl.coalesce(
        stamp.str.to_datetime("%Y%m%dT%H%M%SZ", time_zone="UTC", time_unit="us", strict=False),
        stamp.str.to_datetime("%Y%m%dT%H%MZ", time_zone="UTC", time_unit="us", strict=False),
    )


def _header_stamps(lines: pl.DataFrame) -> pl.DataFrame:
    """A capture time a collector wrote in a leading comment (``# captured 2026-04-23T09:00Z``)."""
    stamp = pl.col("line").str.extract(
        r"^#.*?(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d))", 1
    )
    found = lines.filter(pl.col("line_no") <= 3).with_columns(stamp.alias("raw")).drop_nulls("raw")
    raw = pl.col("raw").str.replace(r"Z$", "+00:00")
    formats = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z")
    return (
        found.group_by("file")
        .agg(pl.col("raw").first())
        .select(
            "file",
            pl.coalesce(
                raw.str.to_datetime(f, time_unit="us", time_zone="UTC", strict=False)
                for f in formats
            ).alias("stamp"),
        )
    )


def _parse(items: Sequence[Item], result: ParseResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``host_images`` rows of a batch, and the batch's lines (for evidence)."""
    lines = batch_lines(items, result)
    hosts = context_frame(items, ["host"])
    shapes = {src.path: shape for src, data in items if (shape := _document_shape(data))}
    listed = lines.filter(~pl.col("file").is_in(list(shapes))).join(hosts, on="file", how="left")
    frames = [_listing(listed, result)]
    for src, data in items:
        if src.path in shapes:
            mine = lines.filter(pl.col("file") == src.path).select("line_no", "line")
            doc = _inventory_json.document_rows(src.path, data, mine, result, shapes[src.path])
            frames.append(doc)
    cols = [c for c in _INTERNAL.names() if c != "host"]
    out = pl.concat([f.select(cols).cast({c: _INTERNAL[c] for c in cols}) for f in frames])
    out = out.join(hosts, on="file", how="left").sort("file", "line", maintain_order=True)
    stamped = _header_stamps(lines)
    out = (
        out.join(stamped, on="file", how="left")
        .with_columns(pl.coalesce(_captured_at(pl.col("file")), "stamp").alias("captured_at"))
        .drop("stamp")
    )
    for (path,), bad in out.filter(pl.col("bad_name")).group_by("file", maintain_order=True):
        result.stats(str(path)).errors.extend((int(n), BAD_NAME) for n in bad["line"])
    return out.select(HOST_IMAGES.names()).cast(HOST_IMAGES), lines


def rows(items: Sequence[Item]) -> pl.DataFrame:
    """The ``host_images`` rows of a batch, with exactly :data:`HOST_IMAGES` as schema.

    Args:
        items: the files; ``context["host"]`` names each one's machine.

    Returns:
        One row per reference held (see the module docstring), ordered by file and line.
    """
    return _parse(items, ParseResult())[0]


def _uses(frame: pl.DataFrame) -> pl.DataFrame:
    """Each image a host holds is a use at an unknown time: what it holds is the evidence."""
    full_id = pl.col("image_id").str.contains(r"^sha256:[0-9a-f]{64}$").fill_null(False)
    digest = pl.coalesce("digest", pl.when(full_id).then(pl.col("image_id")))
    kind = pl.when(pl.col("digest").is_not_null()).then(pl.lit("index"))
    return frame.select(
        pl.lit(NAME).alias("format"),
        pl.lit("host").alias("actor_kind"),
        "host",
        pl.lit("inventory").alias("action"),
        pl.coalesce(pl.format("{}:{}", "image", "tag"), "image").alias("ref"),
        "image",
        "tag",
        digest.alias("digest"),
        kind.when(full_id).then(pl.lit("config")).alias("digest_kind"),
        pl.lit(False).alias("cached"),
        "file",
        "line",
        pl.concat_list("line").alias("evidence_lines"),
    ).filter(pl.col("image").is_not_null() | pl.col("digest").is_not_null())


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of image inventories.

    Args:
        items: the files; ``context["host"]`` names each one's machine.

    Returns:
        ``host_images`` rows, one ``image_uses`` row each (time unknown), evidence lines
        and coverage.
    """
    result = ParseResult()
    frame, lines = _parse(items, result)
    result.add("host_images", frame)
    result.add("image_uses", _uses(frame))
    result.add("evidence", evidence_rows(lines, frame.select("file", "line")))
    return result

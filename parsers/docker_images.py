"""Image inventories taken on a host: ``docker images --digests`` and ``docker image inspect``.

Accepted shapes (docker/cli ``image_ls.md``, ``image_inspect.md``):

- the ``docker images --digests [--no-trunc]`` table. Columns are located by where the
  header's names start (CREATED holds spaces, e.g. ``9 weeks ago``); ``<none>`` marks a
  missing repository, tag or digest. Without ``--no-trunc`` IMAGE ID is the 12-hex prefix;
  without ``--digests`` there is no DIGEST column.
- ``docker images --digests --format '{{json .}}'``: one object per line with ``Repository``,
  ``Tag``, ``Digest``, ``ID``, ``CreatedAt``, ``Size``.
- ``docker image inspect <ids...>``: a JSON array of objects with ``Id``, ``RepoTags`` and
  ``RepoDigests`` (several arrays one after another are read too).

Output: ``host_images``, one row per reference the host holds, paired like ``docker images
--digests`` pairs them (docker/cli ``formatter/image.go``): each repo tag with each repo digest
of the same repository, then each digest whose repository has no tag (tag null). An image with
neither (dangling) is one row with only ``image_id``. ``digest`` is the repo digest (the index
digest for a multi-arch pull); ``image_id`` is the config digest, except on a containerd-store
host, where docker reports the index digest as the image ID. The host is the bundle folder.
"""

import json
import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from forensics.lines import LineFrame
from forensics.parsers import _json
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
DESCRIPTION = "docker images --digests (table or {{json .}} lines) and docker image inspect"

HOST_IMAGES = pl.Schema(
    {
        "host": pl.String(),
        "image": pl.String(),  # normalized repository
        "tag": pl.String(),
        "digest": pl.String(),  # repo (index) digest, sha256:<hex>
        "image_id": pl.String(),  # sha256:<hex>, or the 12-hex prefix a truncated listing shows
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
_FULL_ID_RX = r"^sha256:[0-9a-f]{64}$"
_REF_TAG_RX = r":([\w][\w.-]{0,127})$"
_REF_DIGEST_RX = r"@(sha256:[0-9a-fA-F]{64})$"
_JSON_FIELDS = {"j_repo": "$.Repository", "j_tag": "$.Tag", "j_digest": "$.Digest", "j_id": "$.ID"}
_COLUMNS = ("REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE")

NOT_A_ROW = "not a docker images row (does not fit the header columns)"
NO_HEADER = "not a docker images row (no REPOSITORY header line before it)"
NOT_JSON = "not a docker images JSON line (invalid JSON or missing Repository/ID)"
NOT_INSPECT = "not an image inspect object (no valid Id)"
BAD_NAME = "repository is not a valid image name (row kept with an empty image)"


def sniff(path: str, head: bytes) -> bool:
    """Recognize an image listing by its header, JSON-lines keys or inspect-array keys.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True for a ``docker images`` table or JSON lines, or a ``docker image inspect`` array.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    first = text.split(b"\n", 1)[0].rstrip()
    if _SNIFF_HEADER_RX.match(first):
        return True
    if first.startswith(b"{") and b'"Action"' not in first and _SNIFF_JSONL_RX.match(first):
        return True
    return bool(_SNIFF_INSPECT_START_RX.match(text) and _SNIFF_INSPECT_RX.search(text))


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


def _listing(lines: pl.DataFrame, result: ParseResult) -> pl.DataFrame:
    """Rows of ``docker images`` tables and JSON lines; lines not understood are recorded."""
    text = pl.col("line").str.strip_prefix("\ufeff").str.strip_chars_end()
    df = lines.with_columns(text.alias("text")).filter(pl.col("text").str.strip_chars() != "")
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
    jsonl = df.filter(is_json).with_columns(
        **{k: pl.col("text").str.json_path_match(p) for k, p in _JSON_FIELDS.items()}
    )
    stripped = pl.col("text").str.strip_chars()
    jsonl = jsonl.with_columns(
        (stripped.str.ends_with("}") & _valid("j_repo", "j_tag", "j_digest", "j_id")).alias("ok")
    ).select(
        "file", "line_no", "host", "ok",
        pl.col("j_repo").alias("repo"), pl.col("j_tag").alias("tag_raw"),
        pl.col("j_digest").alias("digest_raw"), pl.col("j_id").alias("id_raw"),
    )  # fmt: skip
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


# --- docker image inspect -------------------------------------------------------------------


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


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _refs(entries: list[Any], starts: list[int]) -> tuple[pl.DataFrame, list[int]]:
    """One row per RepoTags/RepoDigests entry (or per dangling image), and the bad entries."""
    rows: list[dict[str, Any]] = []
    bad: list[int] = []
    for entry, start in zip(entries, starts, strict=True):
        image_id = entry.get("Id") if isinstance(entry, dict) else None
        valid = isinstance(image_id, str) and re.fullmatch(_FULL_ID_RX, image_id.lower())
        if not isinstance(entry, dict) or not isinstance(image_id, str) or not valid:
            bad.append(start)
            continue
        refs: list[tuple[str, str | None]] = [("tag", r) for r in _strings(entry.get("RepoTags"))]
        refs += [("digest", r) for r in _strings(entry.get("RepoDigests"))]
        for kind, ref in refs or [("id", None)]:
            rows.append({"entry": start, "image_id": image_id.lower(), "kind": kind, "ref": ref})
    schema = {"entry": pl.Int64, "image_id": pl.String, "kind": pl.String, "ref": pl.String}
    return pl.DataFrame(rows, schema=schema), bad


def _ref_lines(refs: pl.DataFrame, lines: pl.DataFrame, starts: list[int]) -> pl.DataFrame:
    """The line of each reference's own string in its entry (else the entry's first line)."""
    value = pl.col("line").str.extract(r'^\s*(?:"Id"\s*:\s*)?"([^"\\]*)"\s*,?\s*$', 1)
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


def _inspect(path: str, data: bytes, lines: pl.DataFrame, result: ParseResult) -> pl.DataFrame:
    """Rows of one ``docker image inspect`` file (decoded once)."""
    stats = result.stats(path)
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    docs, error = _documents(text)
    if error is None and not all(isinstance(d, list) for _, d in docs):
        error = (1, "JSON document that is not a docker image inspect array")
    if error is not None:
        stats.errors.append(error)
        stats.unparsed = stats.lines
        return pl.DataFrame(schema=_INTERNAL)
    entries = [e for _, d in docs for e in d]
    starts = _json.entry_lines(LineFrame(lines, []), len(entries), 1)
    if len(set(starts)) == 1:  # not one entry per line block: cite each array's first line
        starts = [n for n, d in docs for _ in d]
    refs, bad = _refs(entries, starts)
    if bad:  # entries sharing a line (compact JSON) count that line once
        lines_bad = sorted(set(bad))
        bad_frame = pl.DataFrame({"file": [path] * len(lines_bad), "line_no": lines_bad})
        record_unparsed(result, bad_frame, NOT_INSPECT)
    rows = _paired(_ref_lines(refs, lines, starts))
    return rows.select(
        pl.lit(path).alias("file"),
        *[c for c in _INTERNAL if c not in ("file", "host")],
    ).with_columns(pl.lit(None, pl.String).alias("host"))


_INTERNAL = pl.Schema(dict(HOST_IMAGES) | {"bad_name": pl.Boolean()})


def _parse(items: Sequence[Item], result: ParseResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``host_images`` rows of a batch, and the batch's lines (for evidence)."""
    lines = batch_lines(items, result)
    hosts = context_frame(items, ["host"])
    inspect = {
        src.path for src, data in items if data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"["
    }
    listed = lines.filter(~pl.col("file").is_in(list(inspect))).join(hosts, on="file", how="left")
    frames = [_listing(listed, result)]
    for src, data in items:
        if src.path in inspect:
            mine = lines.filter(pl.col("file") == src.path).select("line_no", "line")
            frames.append(_inspect(src.path, data, mine, result))
    out = pl.concat([f.select(_INTERNAL.names()).cast(_INTERNAL) for f in frames])
    out = (
        out.drop("host")
        .join(hosts, on="file", how="left")
        .sort("file", "line", maintain_order=True)
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

"""Image uses in docker CLI output captured inside a CI log (shared by the CI parsers).

Input is a frame of the lines of a batch of log files with columns ``file``, ``line_no``
(UInt32), ``msg`` (the line's text, ANSI-stripped), ``scope`` (Int64 id of the enclosing
step/group within its file, null outside any), ``step`` (its title), ``ts_lo``/``ts_hi``.
Everything is column expressions and joins keyed by file.

A *pull block* starts at ``<tag>: Pulling from <repo>`` and collects the first ``Digest:``
and ``Status:`` lines before the next block. A *request* is a line that names a reference:
``docker pull REF``, ``Pull down action image 'REF'``, ``Unable to find image 'REF' locally``,
``Step n/m : FROM REF``, ``docker run/create ... REF``. Requests in the same scope as a block,
for the same repository path and before it, are that block's evidence. Requests no block
explains become uses of their own: a ``docker run`` with no pull anywhere before it in the job
is served from the local cache (``cached``); a pull with no output (``-q``) is a tag-only use.
BuildKit ``#n [k/m] FROM REF@sha256:...`` lines are uses with the resolved digest.
"""

import polars as pl

from forensics.redact import strip_ansi
from forensics.reference import with_normalized

_DIGEST = r"sha256:[0-9a-f]{64}"
_VALUE = r"""(?:"[^"]*"|'[^']*'|\S+)"""
# `docker pull` as the runner logs it (##[command]) or as a script echoes it.
_PULL_RX = (
    r"^(?:##\[command\]\S*docker(?:\s+--config\s+\S+)?|(?:\+\s+)?(?:sudo\s+)?docker)"
    r"\s+(?:image\s+)?pull\s+(?:(?:-q|--quiet|-a|--all-tags|--disable-content-trust(?:=\S+)?"
    r"|--platform(?:=|\s+)\S+)\s+)*(?P<ref>[^\s-]\S*)\s*$"
)
_BOOL_FLAGS = (
    r"--rm|--init|--privileged|--read-only|--detach|--interactive|--tty|--no-healthcheck"
    r"|--oom-kill-disable|--publish-all|--rm=\S+|-[ditP]+"
)
# `docker run [options] IMAGE`, echoed by a script (never the runner's own ##[command]).
_RUN_RX = (
    r"^(?:\+\s+)?(?:sudo\s+)?docker\s+(?:container\s+)?(?:run|create)\s+"
    rf"(?:(?:{_BOOL_FLAGS})\s+|--?[\w-]+(?:={_VALUE}|\s+{_VALUE})\s+)*(?P<ref>[^\s-]\S*)"
)
_ACTION_IMAGE_RX = r"^##\[group\]Pull down action image '(?P<ref>[^']+)'"
_UNABLE_RX = r"^Unable to find image '(?P<ref>[^']+)' locally"
_LEGACY_FROM_RX = r"^Step \d+/\d+ : FROM (?P<ref>\S+)"
_PULLING_RX = (
    rf"^(?:(?P<dref>\S+@{_DIGEST})|(?P<tag>[\w][\w.-]{{0,127}})): Pulling from (?P<repo>\S+)\s*$"
)
_DIGEST_RX = rf"^Digest: (?P<digest>{_DIGEST})\s*$"
_STATUS_RX = r"^Status: (?:Downloaded newer image|Image is up to date) for (?P<ref>\S+)\s*$"
_BUILDKIT_FROM_RX = rf"^#\d+ \[[^\]]*\] FROM (?P<ref>\S+@{_DIGEST})"
_IMMUTABLE_GROUP = "Download immutable action package"
_LITERALS = ("docker", "Pulling from", "Digest: ", "Status: ", "Unable to find image", " FROM ",
             "Pull down action image")  # fmt: skip

OUT_COLUMNS = [
    "file", "action", "ref", "image", "tag", "digest", "digest_kind", "cached",
    "step", "ts_lo", "ts_hi", "line", "evidence_lines",
]  # fmt: skip


def _path(image: pl.Expr) -> pl.Expr:
    return image.str.replace(r"^[^/]+/", "")


def _requests(df: pl.DataFrame) -> pl.DataFrame:
    """Lines that name a reference, with the kind of request."""
    msg = pl.col("msg")
    kinds = [
        ("pull", _PULL_RX),
        ("action-image", _ACTION_IMAGE_RX),
        ("run", _UNABLE_RX),
        ("build-from", _LEGACY_FROM_RX),
        ("run-command", _RUN_RX),
    ]
    parts = [
        df.filter(msg.str.contains(rx)).select(
            "file",
            "line_no",
            "scope",
            "step",
            pl.lit(kind).alias("kind"),
            msg.str.extract(rx, 1).alias("ref"),
        )  # fmt: skip
        for kind, rx in kinds
    ]
    req = pl.concat(parts).unique(subset=["file", "line_no"], keep="first", maintain_order=True)
    req = with_normalized(req, "ref", ("image", "tag", "digest"))
    return req.filter(pl.col("image").is_not_null())


def _blocks(df: pl.DataFrame) -> pl.DataFrame:
    """One row per pull block: start line, repo path, tag, digest and status lines."""
    msg = pl.col("msg")
    starts = df.filter(msg.str.contains(_PULLING_RX)).select(
        "file", "line_no", "scope", "step",
        msg.str.extract_groups(_PULLING_RX).alias("g"),
    ).unnest("g").rename({"line_no": "start"})  # fmt: skip
    if starts.is_empty():
        return starts
    digests = df.filter(
        msg.str.contains(_DIGEST_RX)
        & ~pl.col("step").fill_null("").str.starts_with(_IMMUTABLE_GROUP)
    ).select("file", "line_no", msg.str.extract(_DIGEST_RX, 1).alias("digest"))
    status = df.filter(msg.str.contains(_STATUS_RX)).select(
        "file", "line_no", msg.str.extract(_STATUS_RX, 1).alias("status_ref")
    )
    anchor = starts.select("file", pl.col("start").alias("line_no"), "start").sort("line_no")
    key = ["file", "start"]
    first_status = (
        status.sort("line_no")
        .join_asof(anchor, on="line_no", by="file", check_sortedness=False)
        .drop_nulls("start")
        .group_by(key)
        .agg(pl.col("line_no").min().alias("status_line"), pl.col("status_ref").first())
    )
    first_digest = (
        digests.sort("line_no")
        .join_asof(anchor, on="line_no", by="file", check_sortedness=False)
        .drop_nulls("start")
        .join(first_status, on=key, how="left")
        .filter(pl.col("status_line").is_null() | (pl.col("line_no") < pl.col("status_line")))
        .sort("line_no")
        .group_by(key)
        .agg(pl.col("line_no").min().alias("digest_line"), pl.col("digest").first())
    )
    return starts.join(first_status, on=key, how="left").join(first_digest, on=key, how="left")


def _block_uses(blocks: pl.DataFrame, req: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Uses from pull blocks, and the request lines they explain."""
    b = with_normalized(blocks, "dref", ("dref_image", "dref_tag", "dref_digest"))
    b = with_normalized(b, "status_ref", ("status_image", "status_tag", "status_digest"))
    b = b.with_columns(pl.coalesce(_path(pl.col("dref_image")), pl.col("repo")).alias("path"))
    b = b.with_columns(
        pl.col("start").shift(1).over(["file", "path"], order_by="start").fill_null(0).alias("prev")
    )
    r = req.with_columns(_path(pl.col("image")).alias("path"))
    matched = (
        b.select("file", "start", "prev", "path", "scope")
        .join(r, on=["file", "path", "scope"], how="inner", nulls_equal=True)
        .filter((pl.col("line_no") < pl.col("start")) & (pl.col("line_no") > pl.col("prev")))
        .sort("line_no")
    )
    per_block = matched.group_by(["file", "start"]).agg(
        pl.col("line_no").alias("req_lines"),
        pl.col("kind").first().alias("req_kind"),
        pl.col("ref").first().alias("req_ref"),
        pl.col("image").first().alias("req_image"),
        pl.col("tag").first().alias("req_tag"),
    )
    uses = b.join(per_block, on=["file", "start"], how="left").select(
        "file",
        pl.coalesce("req_kind", pl.lit("pull")).replace("run-command", "run").alias("action"),
        pl.coalesce("status_ref", "req_ref", "dref", pl.col("tag")).alias("ref"),
        pl.coalesce("status_image", "req_image", pl.lit("docker.io/") + pl.col("repo")).alias(
            "image"
        ),
        pl.coalesce("tag", "status_tag", "req_tag").alias("tag"),
        pl.coalesce("digest", "dref_digest").alias("digest"),
        pl.lit(False).alias("cached"),
        "step",
        pl.concat_list(
            pl.col("req_lines").fill_null(pl.lit([], dtype=pl.List(pl.UInt32))),
            pl.concat_list("start", "digest_line", "status_line"),
        )
        .list.drop_nulls()
        .list.unique()
        .list.sort()
        .alias("evidence_lines"),
    )
    return uses, matched.select("file", "line_no")


def _request_uses(req: pl.DataFrame, explained: pl.DataFrame, pulls: pl.DataFrame) -> pl.DataFrame:
    """Uses from requests that no pull block explains."""
    left = req.join(explained, on=["file", "line_no"], how="anti")
    is_run = pl.col("kind") == "run-command"
    pulled = left.filter(~is_run)
    pulled_uses = pulled.group_by(
        ["file", "scope", "image", "tag", "digest"], maintain_order=True
    ).agg(
        pl.col("kind").first().alias("action"),
        pl.col("ref").first(),
        pl.col("step").first(),
        pl.col("line_no").sort().alias("evidence_lines"),
    )
    known = pl.concat(
        [
            pulls.select("file", "image", "tag", pl.col("line").alias("pull_line")),
            pulled_uses.select(
                "file",
                "image",
                "tag",
                pl.col("evidence_lines").list.first().cast(pl.Int64).alias("pull_line"),
            ),  # fmt: skip
        ]
    )
    runs = left.filter(is_run)
    served = (
        runs.join(known, on=["file", "image", "tag"], how="left", nulls_equal=True)
        .with_columns((pl.col("pull_line") < pl.col("line_no")).fill_null(False).alias("seen"))
        .group_by(["file", "line_no"], maintain_order=True)
        .agg(pl.all().exclude("seen", "pull_line").first(), pl.col("seen").any())
        .filter(~pl.col("seen"))
    )
    cached = served.select(
        "file", pl.lit("run").alias("action"), "ref", "image", "tag", "digest", "step", "scope",
        pl.concat_list(pl.col("line_no")).alias("evidence_lines"),
        (pl.col("digest").is_null()).alias("cached"),
    )  # fmt: skip
    return pl.concat(
        [pulled_uses.with_columns(pl.lit(False).alias("cached")), cached], how="diagonal_relaxed"
    )


def _buildkit_uses(df: pl.DataFrame) -> pl.DataFrame:
    msg = pl.col("msg")
    rows = df.filter(msg.str.contains(_BUILDKIT_FROM_RX)).select(
        "file", "line_no", "scope", "step", msg.str.extract(_BUILDKIT_FROM_RX, 1).alias("ref")
    )
    grouped = rows.group_by(["file", "scope", "ref"], maintain_order=True).agg(
        pl.col("step").first(),
        pl.col("line_no").sort().alias("evidence_lines"),
    )
    return with_normalized(grouped, "ref", ("image", "tag", "digest")).select(
        "file", pl.lit("buildkit-from").alias("action"), "ref", "image", "tag", "digest",
        pl.lit(False).alias("cached"), "step", "evidence_lines",
    )  # fmt: skip


def image_uses(df: pl.DataFrame) -> pl.DataFrame:
    """Every image use that docker CLI output in this log shows.

    Args:
        df: a batch's lines (see the module docstring for the columns).

    Returns:
        Uses with columns :data:`OUT_COLUMNS` (``line`` is the first evidence line).
    """
    times = df.select("file", pl.col("line_no").cast(pl.Int64).alias("line"), "ts_lo", "ts_hi")
    # Only lines holding one of these literals can matter: match the regexes on those alone.
    df = df.filter(pl.col("msg").str.contains_any(list(_LITERALS))).with_columns(
        strip_ansi(pl.col("msg"))
    )
    req = _requests(df)
    blocks = _blocks(df)
    parts = [_buildkit_uses(df)]
    explained = pl.DataFrame(schema={"file": pl.String, "line_no": pl.UInt32})
    if not blocks.is_empty():
        block_uses, explained = _block_uses(blocks, req)
        parts.append(block_uses)
    pulls = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col("evidence_lines").list.first().cast(pl.Int64).alias("line")
    )
    parts.append(_request_uses(req, explained, pulls))
    uses = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col("evidence_lines").cast(pl.List(pl.Int64)),
        pl.col("evidence_lines").list.first().cast(pl.Int64).alias("line"),
    )
    # A use lasts from its first evidence line to its last (a pull can straddle a window edge).
    last = times.select("file", pl.col("line").alias("last"), pl.col("ts_hi").alias("end"))
    return (
        uses.with_columns(pl.col("evidence_lines").list.last().alias("last"))
        .join(times.drop("ts_hi"), on=["file", "line"], how="left")
        .join(last, on=["file", "last"], how="left")
        .rename({"end": "ts_hi"})
        .with_columns(
            pl.when(pl.col("digest").is_not_null()).then(pl.lit("index")).alias("digest_kind")
        )
        .select(OUT_COLUMNS)
        .sort("file", "line")
    )

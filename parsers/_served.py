"""What the cache parsers share: a manifest request answered by a registry or cache is a use.

Used by the Artifactory and Nexus request-log parsers. Input frames carry ``method``,
``status``, ``m_repo`` (the repository path as requested), ``m_ref`` (tag or digest),
``client``, ``registry``, ``host``, ``ts_lo``, ``ts_hi``, ``file`` and ``line_no``.
"""

from collections.abc import Callable, Sequence

import polars as pl

from forensics.parsers._base import (
    Item,
    ParseResult,
    batch_lines,
    context_frame,
    evidence_rows,
    record_unparsed,
)

DIGEST_RX = r"^sha256:[0-9a-f]{64}$"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PATH_RX = rf"^{_COMPONENT}(?:/{_COMPONENT})*$"


def peer(client: pl.Expr) -> pl.Expr:
    """The client address without a port (``[v6]:port`` and ``v4:port``; bare IPv6 kept).

    Args:
        client: the logged client address.

    Returns:
        The address.
    """
    return client.str.replace(r"^\[([^\]]*)\](?::\d+)?$", "$1").str.replace(r"^([^:]+):\d+$", "$1")


def utc(us: pl.Expr) -> pl.Expr:
    """Epoch microseconds as a UTC timestamp.

    Args:
        us: microseconds since the epoch.

    Returns:
        The timestamp expression.
    """
    return pl.from_epoch(us, time_unit="us").dt.replace_time_zone("UTC")


def served_uses(df: pl.DataFrame, fmt: str) -> pl.DataFrame:
    """Successful manifest GETs (served) and HEADs (checked) as uses by the cache.

    Args:
        df: requests with the columns listed in the module docstring.
        fmt: the parser's NAME.

    Returns:
        ``image_uses`` rows, sorted by file and line.
    """
    ok_status = (pl.col("status") >= 200) & (pl.col("status") < 300)
    action = (
        pl.when(ok_status & pl.col("m_repo").is_not_null())
        .then(pl.when(pl.col("method") == "GET").then(pl.lit("served"))
              .when(pl.col("method") == "HEAD").then(pl.lit("checked")))
    )  # fmt: skip
    df = df.with_columns(action.alias("action")).filter(pl.col("action").is_not_null())
    ref_part = pl.col("m_ref")
    is_digest = ref_part.str.to_lowercase().str.contains(DIGEST_RX)
    repo = pl.col("m_repo")
    registry = pl.coalesce("registry", "host").str.to_lowercase()
    sep = pl.when(is_digest).then(pl.lit("@")).otherwise(pl.lit(":"))
    return df.select(
        pl.lit(fmt).alias("format"),
        pl.lit("cache").alias("actor_kind"),
        pl.coalesce("host", registry).alias("host"),
        peer(pl.col("client")).alias("peer"),
        "action",
        pl.concat_str(registry, pl.lit("/"), repo, sep, ref_part).alias("ref"),
        pl.when(repo.str.contains(PATH_RX)).then(registry + "/" + repo).alias("image"),
        pl.when(~is_digest).then(ref_part).alias("tag"),
        pl.when(is_digest).then(ref_part.str.to_lowercase()).alias("digest"),
        pl.lit(False).alias("cached"),
        "ts_lo",
        "ts_hi",
        "file",
        pl.col("line_no").cast(pl.Int64).alias("line"),
        pl.concat_list(pl.col("line_no").cast(pl.Int64)).alias("evidence_lines"),
    ).sort("file", "line")


def parse_cache_log(
    items: Sequence[Item],
    requests: Callable[[pl.DataFrame], pl.DataFrame],
    uses: Callable[[pl.DataFrame], pl.DataFrame],
    reason: str,
) -> ParseResult:
    """The parse of a cache request log: lines → requests → uses, evidence, coverage.

    Args:
        items: the files; ``context["host"]``/``context["registry"]`` name the cache.
        requests: the format's line reader (adds ``ok`` false for lines not understood).
        uses: the format's request → use mapping.
        reason: what a line not understood is reported as.

    Returns:
        Image uses (manifests served or checked), evidence lines and coverage.
    """
    result = ParseResult()
    lines = batch_lines(items, result)
    ctx = context_frame(items, ["host", "registry"])
    frame = lines.filter(pl.col("line").str.strip_chars() != "").join(ctx, on="file", how="left")
    req = requests(frame)
    record_unparsed(result, req.filter(~pl.col("ok")).select("file", "line_no"), reason)
    found = uses(req.filter(pl.col("ok")))
    result.add("image_uses", found)
    result.add("evidence", evidence_rows(lines, found.select("file", "line")))
    return result

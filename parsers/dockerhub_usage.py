"""Docker Hub pull-usage CSV export (hub.docker.com/usage/pulls, the emailed report).

Columns (docker/docs ``content/manuals/docker-hub/usage/pulls.md``): ``datehour, user_name,
repository, access_token_name, ips, repository_privacy, tag, digest, version_checks, pulls``;
older exports call ``access_token_name`` ``pat_name``. Columns are located by the header, so
either name and any order work; a file without a header is read in the documented order.

Each row aggregates one hour: ``datehour`` (``yyyy/mm/dd/hh``, assumed UTC — the time zone is
not documented) gives the interval ``[hh:00:00, hh:59:59.999999]``. A row is a use by the Hub
account (actor_kind ``host``, host ``hub:<user_name>``, or ``hub:(token <name>)`` when the user
is empty; the token name is also in ``step``): action ``pull`` when ``pulls`` > 0, else
``version-check`` when ``version_checks`` > 0 (a manifest HEAD, not a pull); rows with neither
are skipped. ``tag`` is empty for pulls by digest. Which digest kind ``digest`` holds is not
documented ("the unique image digest"); it is recorded as ``index``, what a pull by a
multi-arch tag resolves first (unverified). ``ips`` may hold several addresses in one quoted
field; it stays in the evidence line only.
"""

from collections.abc import Sequence

import polars as pl

from forensics.parsers._base import Item, ParseResult, batch_lines, evidence_rows, record_unparsed
from forensics.reference import with_normalized

NAME = "dockerhub_usage"
DESCRIPTION = "Docker Hub pull-usage CSV export (datehour, user_name, repository, ... pulls)"

COLUMNS = (
    "datehour", "user_name", "repository", "access_token_name", "ips",
    "repository_privacy", "tag", "digest", "version_checks", "pulls",
)  # fmt: skip
_ALIASES = {"pat_name": "access_token_name"}
# one CSV field: quoted (with "" escapes) or bare
_FIELD = r'(?:"(?:[^"]|"")*"|[^,"]*)'
_ROW_RX = rf"^{_FIELD}(?:,{_FIELD})*$"
_DIGEST_RX = r"^sha256:[0-9a-f]{64}$"


def sniff(path: str, head: bytes) -> bool:
    """Recognize the export by its header line.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True when the first line (quotes ignored) is a header starting ``datehour,`` that names
        ``repository`` and ``digest``.
    """
    first = head.lstrip(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0].lower().replace(b'"', b"")
    return first.startswith(b"datehour,") and b"repository" in first and b"digest" in first


def _header(line: str) -> dict[str, int] | None:
    """Column name → index, when ``line`` is a header naming the required columns."""
    names = [_ALIASES.get(n, n) for n in (c.strip().strip('"').lower() for c in line.split(","))]
    if not {"datehour", "repository", "digest"} <= set(names):
        return None
    return {n: names.index(n) for n in COLUMNS if n in names}


def _layouts(lines: pl.DataFrame) -> pl.DataFrame:
    """Per file: the column indices (``i_<name>``), field count and header line (0 if none)."""
    firsts = lines.filter(pl.col("line_no") == 1)
    rows = []
    for path, text in firsts.select("file", "line").iter_rows():
        header = _header(str(text).lstrip("\ufeff"))
        found = header is not None
        index = header if header is not None else {n: i for i, n in enumerate(COLUMNS)}
        width = str(text).count(",") + 1 if found else len(COLUMNS)
        rows.append({"file": path, "width": width, "header": 1 if found else 0}
                    | {f"i_{n}": index.get(n) for n in COLUMNS})  # fmt: skip
    schema = {"file": pl.String, "width": pl.Int64, "header": pl.UInt32}
    return pl.DataFrame(rows, schema=schema | {f"i_{n}": pl.Int64 for n in COLUMNS})


def _rows(lines: pl.DataFrame) -> pl.DataFrame:
    """Split each data line into the named columns and flag the well-formed ones."""
    line = pl.col("line").str.strip_chars_end("\r")
    fields = line.str.extract_all(rf"(?:^|,){_FIELD}").list.eval(pl.element().str.strip_prefix(","))
    df = lines.join(_layouts(lines), on="file", how="left").filter(
        pl.col("line_no") > pl.col("header")
    )
    df = df.with_columns(fields.alias("_f"), line.str.contains(_ROW_RX).alias("_shape"))

    def col(name: str) -> pl.Expr:
        raw = pl.col("_f").list.get(pl.col(f"i_{name}"), null_on_oob=True)
        quoted = raw.str.starts_with('"') & raw.str.ends_with('"') & (raw.str.len_chars() >= 2)
        value = pl.when(quoted).then(raw.str.slice(1, raw.str.len_chars() - 2)).otherwise(raw)
        value = value.str.replace_all('""', '"', literal=True).str.strip_chars()
        return pl.when(value != "").then(value)

    df = df.with_columns(*(col(n).alias(n) for n in COLUMNS))
    hour = pl.col("datehour").str.extract(r"^(\d{4}/\d{2}/\d{2}/\d{2})$", 1)
    lo = (hour + "/00").str.to_datetime(
        "%Y/%m/%d/%H/%M", time_unit="us", time_zone="UTC", strict=False
    )
    count = {n: pl.col(n).fill_null("0").cast(pl.Int64, strict=False)
             for n in ("pulls", "version_checks")}  # fmt: skip
    return df.with_columns(
        lo.alias("ts_lo"),
        (lo + pl.duration(microseconds=3_599_999_999)).alias("ts_hi"),
        count["pulls"].alias("n_pulls"),
        count["version_checks"].alias("n_checks"),
    ).with_columns(
        (
            pl.col("_shape")
            & (pl.col("_f").list.len() == pl.col("width"))
            & pl.col("ts_lo").is_not_null()
            & pl.col("repository").is_not_null()
            & pl.col("n_pulls").is_not_null()
            & pl.col("n_checks").is_not_null()
        ).alias("ok")
    )


def _uses(rows: pl.DataFrame) -> pl.DataFrame:
    used = rows.filter((pl.col("n_pulls") > 0) | (pl.col("n_checks") > 0))
    used = used.with_columns(("docker.io/" + pl.col("repository")).alias("_name"))
    used = with_normalized(used, "_name", ("image", "_tag", "_digest"))
    digest = pl.col("digest").str.to_lowercase()
    digest = pl.when(digest.str.contains(_DIGEST_RX)).then(digest)
    token = pl.col("access_token_name")
    host = pl.coalesce(
        "hub:" + pl.col("user_name"), "hub:(token " + token + ")", pl.lit("hub:(unknown)")
    )
    ref = pl.concat_str(
        pl.col("repository"),
        pl.lit(":") + pl.col("tag"),
        pl.lit("@") + pl.col("digest"),
        ignore_nulls=True,
    )
    return used.select(
        pl.lit(NAME).alias("format"),
        pl.lit("account").alias("actor_kind"),
        host.alias("host"),
        pl.col("ips").alias("peer"),
        pl.when(pl.col("n_pulls") > 0).then(pl.lit("pull")).otherwise(pl.lit("version-check"))
        .alias("action"),
        ref.alias("ref"),
        "image",
        "tag",
        digest.alias("digest"),
        pl.when(digest.is_not_null()).then(pl.lit("index")).alias("digest_kind"),
        pl.lit(False).alias("cached"),
        token.alias("step"),
        "ts_lo", "ts_hi", "file",
        pl.col("line_no").cast(pl.Int64).alias("line"),
        pl.concat_list(pl.col("line_no").cast(pl.Int64)).alias("evidence_lines"),
    )  # fmt: skip


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of Docker Hub pull-usage CSV exports.

    Args:
        items: the files.

    Returns:
        Image uses (one per row with pulls or version checks), evidence lines and coverage.
    """
    result = ParseResult()
    lines = batch_lines(items, result)
    frame = lines.filter(pl.col("line").str.strip_chars() != "")
    rows = _rows(frame)
    record_unparsed(
        result,
        rows.filter(~pl.col("ok")).select("file", "line_no"),
        "not a pull-usage row (wrong field count, bad datehour or counts)",
    )
    uses = _uses(rows.filter(pl.col("ok")))
    result.add("image_uses", uses)
    result.add("evidence", evidence_rows(lines, uses.select("file", "line")))
    return result

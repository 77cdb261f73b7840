"""GitHub Actions job logs: the runs/logs API zip members, or a job's plain-text log.

Line format: ``<ISO-8601 UTC, 7 fractional digits>Z <text>`` (.NET round-trip), a UTF-8 BOM
on the first line (stripped on every line), ``##[group]``/``##[endgroup]``/``##[command]``
markers, and timestamp-less continuation lines (e.g. the empty line after a multi-line
masked secret), which take the interval between their neighbours' times.
See docs.github.com "Using workflow run logs" and actions/runner ``ContainerOperationProvider``.

Extracted: image uses (docker pull output, ``Pull down action image``, job and service
containers, ``docker run``, BuildKit ``FROM ...@sha256:``); secret names from ``env:`` and
``with:`` blocks whose values are masked (``***``); the ``GITHUB_TOKEN Permissions`` group;
runner name, machine name and ``Complete job name``. An immutable action package's
``Digest:`` line is not an image pull.
"""

import re

import polars as pl

from forensics.redact import strip_ansi

from . import _docker_cli
from ._base import ParseResult, Source, decode_errors, evidence_rows, unparsed_errors
from forensics.lines import LineFrame, lines_from_bytes

NAME = "github_actions"
DESCRIPTION = "GitHub Actions job log (runs/logs zip member or per-job text)"

# format: "2026-04-22T12:41:07.1234567Z <text>"
_TS_RX = (
    r"^\x{FEFF}?(?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<frac>\d{1,7}))?Z(?: (?P<msg>.*))?$"
)
_LOOKS_TS_RX = r"^\x{FEFF}?\d{4}-\d\d-\d\dT"
_SNIFF_RX = re.compile(rb"^(?:\xef\xbb\xbf)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z( |$)")
_KV_RX = r"^  (?P<key>[A-Za-z_][A-Za-z0-9_.-]*): (?P<val>.*)$"
_PERM_RX = r"^(?P<scope>[A-Za-z][A-Za-z ]*?): (?P<access>read|write|none)\s*$"
_META = {
    "runner_name": r"^Runner name: '(.*)'\s*$",
    "machine_name": r"^Machine name: '(.*)'\s*$",
    "log_job_name": r"^Complete job name: (.*?)\s*$",
}
_ACTION_BY_STEP = (
    ("Starting job container", "job-container"),
    ("Starting ", "service-container"),
)


def sniff(path: str, head: bytes) -> bool:
    """Recognize a GitHub Actions log by its first line's 7-digit-fraction timestamp.

    Args:
        path: the logical path (unused: content decides).
        head: the first bytes of the file.

    Returns:
        True when the first line starts like a GitHub Actions log line.
    """
    return bool(_SNIFF_RX.match(head))


def frame(lines: LineFrame) -> pl.DataFrame:
    """Timestamps, message text, enclosing group for every line.

    Args:
        lines: the file's lines.

    Returns:
        Columns ``line_no``, ``line``, ``msg``, ``ts_lo``, ``ts_hi``, ``unparsed``,
        ``scope``, ``step``.
    """
    g = pl.col("line").str.extract_groups(_TS_RX)
    date = g.struct.field("date").str.to_datetime(
        "%Y-%m-%dT%H:%M:%S", time_zone="UTC", time_unit="us", strict=False
    )
    frac = g.struct.field("frac")
    units = frac.str.pad_end(7, "0").cast(pl.Int64, strict=False).fill_null(0)
    lo = date + pl.duration(microseconds=units // 10)
    width = pl.when(frac.is_null()).then(999_999).otherwise((units % 10 > 0).cast(pl.Int64))
    looks = pl.col("line").str.contains(_LOOKS_TS_RX)
    text = pl.col("line").str.strip_prefix("\ufeff")
    df = lines.frame.with_columns(
        lo.alias("ts_lo"),
        (lo + pl.duration(microseconds=width)).alias("ts_hi"),
        (looks & date.is_null()).alias("unparsed"),
        pl.when(date.is_not_null())
        .then(g.struct.field("msg").fill_null(""))
        .when(looks)
        .then(text.str.replace(r"^\S*\s?", ""))
        .otherwise(text)
        .alias("msg"),
    ).with_columns(
        strip_ansi(pl.col("msg")).alias("msg"),
        pl.col("ts_lo").fill_null(strategy="forward"),
        pl.col("ts_hi").fill_null(strategy="backward"),
    )
    # A step's output follows its header group's ##[endgroup]: the scope runs to the next group.
    title = pl.col("msg").str.extract(r"^##\[group\](.*)$", 1)
    return df.with_columns(
        title.fill_null(strategy="forward").alias("step"),
        pl.when(title.is_not_null())
        .then(pl.col("line_no").cast(pl.Int64))
        .fill_null(strategy="forward")
        .alias("scope"),
    )


def _uses(df: pl.DataFrame, src: Source) -> pl.DataFrame:
    uses = _docker_cli.image_uses(df)
    step = pl.col("step").fill_null("")
    pulled = pl.col("action") == "pull"
    job, service = _ACTION_BY_STEP
    action = (
        pl.when(pulled & step.str.starts_with(job[0]))
        .then(pl.lit(job[1]))
        .when(pulled & step.str.starts_with(service[0]))
        .then(pl.lit(service[1]))
        .otherwise(pl.col("action"))
    )
    return uses.with_columns(
        action.alias("action"),
        pl.lit(NAME).alias("format"),
        pl.lit("job").alias("actor_kind"),
        pl.lit(src.context["job_key"]).alias("job_key"),
        pl.lit(src.path).alias("file"),
    )


def _secrets(df: pl.DataFrame, src: Source) -> pl.DataFrame:
    msg = pl.col("msg")
    header = pl.when(msg == "env:").then(pl.lit("env")).when(msg == "with:").then(pl.lit("with"))
    inside = msg.str.contains(r"^  \S") | (msg == "")
    context = (
        pl.when(header.is_not_null())
        .then(header)
        .when(inside)
        .then(None)
        .otherwise(pl.lit(""))
        .fill_null(strategy="forward")
    )
    kv = msg.str.extract_groups(_KV_RX)
    return (
        df.with_columns(context.alias("context"), kv.alias("kv"))
        .unnest("kv")
        .filter(
            pl.col("context").is_in(["env", "with"])
            & pl.col("val").str.contains("***", literal=True)
        )
        .select(
            pl.lit(src.context["job_key"]).alias("job_key"),
            # an action input ("token") is named after its action: "token (with: actions/x@v4)"
            pl.when(pl.col("context") == "with")
            .then(
                pl.col("key")
                + pl.lit(" (with: ")
                + pl.col("step").fill_null("?").str.strip_prefix("Run ")
                + pl.lit(")")
            )
            .otherwise(pl.col("key"))
            .alias("name"),
            "context", "step", "ts_lo", "ts_hi",
            pl.lit(src.path).alias("file"),
            pl.col("line_no").cast(pl.Int64).alias("line"),
        )  # fmt: skip
    )


def _permissions(df: pl.DataFrame, src: Source) -> pl.DataFrame:
    perm = pl.col("msg").str.extract_groups(_PERM_RX)
    scope = perm.struct.field("scope").str.replace_all(" ", "")
    return df.filter(
        (pl.col("step") == "GITHUB_TOKEN Permissions") & perm.struct.field("access").is_not_null()
    ).select(
        pl.lit(src.context["job_key"]).alias("job_key"),
        scope.str.replace_all(r"([a-z])([A-Z])", "${1}-${2}").str.to_lowercase().alias("scope"),
        perm.struct.field("access").alias("access"),
        pl.lit(src.path).alias("file"),
        pl.col("line_no").cast(pl.Int64).alias("line"),
    )


def _job_meta(df: pl.DataFrame, src: Source) -> pl.DataFrame:
    ctx = src.context
    found = [
        pl.col("msg").str.extract(rx, 1).drop_nulls().first().alias(name)
        for name, rx in _META.items()
    ]
    return df.select(
        pl.lit(ctx["job_key"]).alias("job_key"),
        pl.lit("github").alias("ci"),
        pl.lit(ctx.get("project")).alias("project"),
        pl.lit(ctx.get("run")).alias("run"),
        pl.lit(ctx.get("job_name")).alias("file_job_name"),
        *found,
        pl.col("ts_lo").min().alias("ts_first"),
        pl.col("ts_hi").max().alias("ts_last"),
        pl.lit(src.path).alias("file"),
        pl.lit(1, dtype=pl.Int64).alias("line"),
    )


def parse(src: Source, data: bytes) -> ParseResult:
    """Parse one GitHub Actions job log.

    Args:
        src: the file and the identity the bundle layout gives it (``job_key`` required).
        data: its bytes.

    Returns:
        Image uses, secrets, token permissions, job metadata and evidence lines.
    """
    lines = lines_from_bytes(data)
    df = frame(lines)
    result = ParseResult(lines=df.height)
    bad = df.filter(pl.col("unparsed")).get_column("line_no").to_list()
    result.unparsed = len(bad)
    result.errors = decode_errors(lines) + unparsed_errors(bad, "corrupt timestamp")
    uses = _uses(df, src)
    secrets = _secrets(df, src)
    perms = _permissions(df, src)
    meta = _job_meta(df, src)
    meta = meta.with_columns(pl.col("machine_name").alias("host"))
    uses = uses.with_columns(pl.lit(meta.item(0, "machine_name")).cast(pl.String).alias("host"))
    result.add("image_uses", uses)
    result.add("job_secrets", secrets)
    result.add("token_permissions", perms)
    result.add("gha_job_logs", meta)
    cited = pl.concat(
        [
            uses.get_column("evidence_lines").explode(),
            secrets.get_column("line"),
            perms.get_column("line"),
        ]
    )
    result.add("evidence", evidence_rows(df, src.path, cited))
    return result

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
from collections.abc import Sequence

import polars as pl

from forensics.parsers import _docker_cli
from forensics.parsers._base import (
    Item,
    ParseResult,
    batch_lines,
    context_frame,
    evidence_rows,
    record_unparsed,
)
from forensics.redact import strip_ansi

NAME = "github_actions"
DESCRIPTION = "GitHub Actions job log (runs/logs zip member or per-job text)"

# format: "2026-04-22T12:41:07.1234567Z <text>" (always 7 fractional digits, always Z)
_SNIFF_RX = re.compile(rb"^(?:\xef\xbb\xbf)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z( |$)")
_KV_RX = r"^  (?P<key>[A-Za-z_][A-Za-z0-9_.-]*): (?P<val>.*)$"
_PERM_RX = r"^(?P<scope>[A-Za-z][A-Za-z ]*?): (?P<access>read|write|none)\s*$"
_META = {
    "runner_name": r"^Runner name: '(.*)'\s*$",
    "machine_name": r"^Machine name: '(.*)'\s*$",
    "log_job_name": r"^Complete job name: (.*?)\s*$",
}
_META_LITERALS = ("Runner name: ", "Machine name: ", "Complete job name: ")
_CONTEXT = ("job_key", "project", "run", "job_name")


def sniff(path: str, head: bytes) -> bool:
    """Recognize a GitHub Actions log by a 7-digit-fraction timestamp in its first lines.

    Args:
        path: the logical path (unused: content decides).
        head: the first bytes of the file.

    Returns:
        True when one of the first five lines starts like a GitHub Actions log line.
    """
    return any(_SNIFF_RX.match(line) for line in head.split(b"\n", 5)[:5])


def frame(lines: pl.DataFrame) -> pl.DataFrame:
    """Timestamps, message text and enclosing step for every line of a batch.

    The timestamp has a fixed width, so it is sliced and parsed rather than matched with
    capture groups (the hot path: every line of every job). Intermediate columns are
    computed once each; the rare line with a corrupt timestamp is fixed up afterwards.

    Args:
        lines: ``file``, ``line_no``, ``line`` for every line of the batch.

    Returns:
        Adds ``msg``, ``ts_lo``, ``ts_hi``, ``unparsed``, ``scope`` (line of the step's
        ``##[group]``) and ``step`` (its title).
    """
    # The BOM opens each file; strip it only where some line carries one.
    if lines.select(pl.col("line").str.starts_with("\ufeff").any()).item():
        lines = lines.with_columns(pl.col("line").str.strip_prefix("\ufeff"))
    text = pl.col("line")
    df = lines.with_columns(
        # fixed-width checks; strptime and the integer cast validate the digits
        ((text.str.slice(19, 1) == ".") & text.str.slice(27, 2).is_in(["Z ", "Z"])).alias("_ok"),
        text.str.slice(0, 19)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S", time_zone="UTC", time_unit="us", strict=False)
        .alias("_date"),
        text.str.slice(20, 7).cast(pl.UInt32, strict=False).cast(pl.Int64).alias("_units"),
        ((text.str.slice(4, 1) == "-") & (text.str.slice(10, 1) == "T")).alias("_looks"),
        text.str.slice(29).alias("_rest"),
    )
    lo = pl.when(pl.col("_ok")).then(
        pl.col("_date") + pl.duration(microseconds=pl.col("_units") // 10)
    )
    df = (
        df.with_columns(lo.alias("ts_lo"))
        .with_columns(
            (
                pl.col("ts_lo")
                + pl.duration(microseconds=(pl.col("_units") % 10 > 0).cast(pl.Int64))
            ).alias("ts_hi"),
            (pl.col("_looks") & pl.col("ts_lo").is_null()).alias("unparsed"),
            pl.when(pl.col("ts_lo").is_not_null())
            .then(pl.col("_rest"))
            .otherwise(text)
            .alias("msg"),
        )
        .drop("_ok", "_date", "_units", "_looks", "_rest")
    )
    df = _fix_corrupt(df)
    # A step's output follows its header group's ##[endgroup]: the scope runs to the next group.
    is_group = pl.col("msg").str.starts_with("##[group]")
    return df.with_columns(
        pl.col("ts_lo").fill_null(strategy="forward").over("file"),
        pl.col("ts_hi").fill_null(strategy="backward").over("file"),
        pl.when(is_group).then(pl.col("msg").str.slice(9))
        .fill_null(strategy="forward").over("file").alias("step"),
        pl.when(is_group).then(pl.col("line_no").cast(pl.Int64))
        .fill_null(strategy="forward").over("file").alias("scope"),
    )  # fmt: skip


def _fix_corrupt(df: pl.DataFrame) -> pl.DataFrame:
    """A line whose timestamp is corrupt still carries its message after the first space."""
    rows = df.get_column("unparsed").arg_true()
    if rows.is_empty():
        return df
    text = df.get_column("line").gather(rows)
    cut = text.str.find(" ", literal=True).fill_null(-1) + 1
    fixed = pl.select(text.str.slice(cut)).to_series()
    msg = df.get_column("msg").clone().scatter(rows, fixed)
    return df.with_columns(msg.alias("msg"))


def _uses(df: pl.DataFrame, ctx: pl.DataFrame, hosts: pl.DataFrame) -> pl.DataFrame:
    uses = _docker_cli.image_uses(df)
    step = pl.col("step").fill_null("")
    pulled = pl.col("action") == "pull"
    action = (
        pl.when(pulled & step.str.starts_with("Starting job container"))
        .then(pl.lit("job-container"))
        .when(pulled & step.str.starts_with("Starting "))
        .then(pl.lit("service-container"))
        .otherwise(pl.col("action"))
    )
    return (
        uses.with_columns(
            action.alias("action"), pl.lit(NAME).alias("format"), pl.lit("job").alias("actor_kind")
        )  # fmt: skip
        .join(ctx.select("file", "job_key"), on="file", how="left")
        .join(hosts, on="file", how="left")
    )


def _secrets(df: pl.DataFrame, ctx: pl.DataFrame) -> pl.DataFrame:
    msg = pl.col("msg")
    header = pl.when(msg == "env:").then(pl.lit("env")).when(msg == "with:").then(pl.lit("with"))
    inside = msg.str.starts_with("  ") | (msg == "")
    context = (
        pl.when(header.is_not_null())
        .then(header)
        .when(inside)
        .then(None)
        .otherwise(pl.lit(""))
        .fill_null(strategy="forward")
        .over("file")
    )
    # an action input ("token") is named after its action: "token (with: actions/x@v4)"
    name = (
        pl.when(pl.col("context") == "with")
        .then(
            pl.format(
                "{} (with: {})", "key", pl.col("step").fill_null("?").str.strip_prefix("Run ")
            )
        )
        .otherwise(pl.col("key"))
    )  # fmt: skip
    return (
        df.with_columns(context.alias("context"))
        .filter(pl.col("context").is_in(["env", "with"]) & msg.str.contains("***", literal=True))
        .with_columns(msg.str.extract_groups(_KV_RX).alias("kv"))
        .unnest("kv")
        .filter(pl.col("val").str.contains("***", literal=True))
        .join(ctx.select("file", "job_key"), on="file", how="left")
        .select(
            "job_key",
            name.alias("name"),
            "context",
            "step",
            "ts_lo",
            "ts_hi",
            "file",
            pl.col("line_no").cast(pl.Int64).alias("line"),
        )  # fmt: skip
    )


def _permissions(df: pl.DataFrame, ctx: pl.DataFrame) -> pl.DataFrame:
    perm = pl.col("msg").str.extract_groups(_PERM_RX)
    scope = perm.struct.field("scope").str.replace_all(" ", "")
    group = df.filter(pl.col("step") == "GITHUB_TOKEN Permissions")
    return (
        group.filter(perm.struct.field("access").is_not_null())
        .join(ctx.select("file", "job_key"), on="file", how="left")
        .select(
            "job_key",
            scope.str.replace_all(r"([a-z])([A-Z])", "${1}-${2}").str.to_lowercase().alias("scope"),
            perm.struct.field("access").alias("access"),
            "file",
            pl.col("line_no").cast(pl.Int64).alias("line"),
        )
    )


def _job_meta(df: pl.DataFrame, ctx: pl.DataFrame) -> pl.DataFrame:
    found = [
        pl.col("msg").str.extract(rx, 1).drop_nulls().first().alias(name)
        for name, rx in _META.items()
    ]
    named = (
        df.filter(pl.col("msg").str.contains_any(list(_META_LITERALS)))
        .with_columns(strip_ansi(pl.col("msg")))
        .group_by("file")
        .agg(*found)
    )
    extent = df.group_by("file").agg(
        pl.col("ts_lo").min().alias("ts_first"), pl.col("ts_hi").max().alias("ts_last")
    )
    return (
        ctx.join(named, on="file", how="left")
        .join(extent, on="file", how="left")
        .with_columns(
            pl.lit("github").alias("ci"),
            pl.col("job_name").alias("file_job_name"),
            pl.lit(1, dtype=pl.Int64).alias("line"),
        )
    )


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of GitHub Actions job logs.

    Args:
        items: the files with the identity the bundle layout gives them (``job_key``).

    Returns:
        Image uses, secrets, token permissions, job metadata, evidence lines and coverage.
    """
    result = ParseResult()
    df = frame(batch_lines(items, result))
    record_unparsed(result, df.filter(pl.col("unparsed")), "corrupt timestamp")
    ctx = context_frame(items, _CONTEXT)
    meta = _job_meta(df, ctx)
    uses = _uses(df, ctx, meta.select("file", pl.col("machine_name").alias("host")))
    secrets = _secrets(df, ctx)
    perms = _permissions(df, ctx)
    result.add("image_uses", uses)
    result.add("job_secrets", secrets)
    result.add("token_permissions", perms)
    result.add("job_logs", meta)
    cited = pl.concat(
        [
            uses.select("file", pl.col("evidence_lines").alias("line")).explode("line"),
            secrets.select("file", "line"),
            perms.select("file", "line"),
        ]
    )
    result.add("evidence", evidence_rows(df, cited))
    return result

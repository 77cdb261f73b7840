r"""Jenkins console logs: ``$JOB_URL/<n>/consoleText`` or the raw ``builds/<n>/log`` file.

The raw file holds hidden ConsoleNotes (``\x1b[8mha:////<base64>\x1b[0m``) before
``[Pipeline]`` lines; they and ANSI escapes are removed before matching. Timestamps come from
the Timestamper plugin: the Pipeline global decorator writes ``[2022-01-12T19:00:06.452Z] ``
(UTC, milliseconds: the line lies in ``[t, t + 999 µs]``); the console view shows
``21:51:15  `` (local time of an unknown zone, no date: left null, never guessed). Times are
not monotonic across controller and agents, so lines are never sorted.
See plugins.jenkins.io/timestamper and jenkinsci/docker-workflow-plugin.

Extracted: image uses from the Docker Pipeline plugin (``+ docker inspect -f . REF`` answered
by ``.`` = image already on the agent, a cached use, no digest; or by ``Error: No such
object`` then ``+ docker pull REF`` and its output = a pull with digest) and from docker CLI
output in ``sh`` steps (``$ docker run ... IMAGE cat`` starts the agent container); the node
(``Running on <agent> in <workspace>``); secret variable names from the credentials binding
plugin (``Masking supported pattern matches of $USERNAME or $PASSWORD`` and ``Affected
argument(s) used the following variable(s): [FILE, TOKEN]``). Masked values (``****``) are
left as Jenkins wrote them. The step of a line is the last ``[Pipeline] { (<stage>)`` before it,
up to its ``[Pipeline] // stage``.
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
from forensics.reference import with_normalized

NAME = "jenkins"
DESCRIPTION = "Jenkins console log (consoleText or builds/<n>/log, optional Timestamper prefix)"

_NOTE = rb"\x1b\[8mha:[^\x1b\n]*\x1b\[0m"
_ANSI = rb"\x1b\[[0-9;]*[A-Za-z]"
# format: "[2022-01-12T19:00:06.452Z] " (global decorator) or "21:51:15  " (console view)
_ISO = rb"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] ?"
_HMS = rb"\d\d:\d\d:\d\d  "
_SNIFF_RX = re.compile(
    rb"^(?:" + _ISO + rb"|" + _HMS + rb")?(?:" + _NOTE + rb"|" + _ANSI + rb")*"
    rb"(?:Started by |\[Pipeline\] )"
)
_GHA_RX = re.compile(rb"^(?:\xef\xbb\xbf)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")
_GITLAB_RX = re.compile(rb"Running with gitlab-runner |section_start:\d+:")
_JSON_RX = re.compile(rb"^\s*(?:\{|\[(?!\d{4}-\d\d-\d\dT|Pipeline\]))")
_SNIFF_LINES = 20

_NOTE_RX = r"\x1b\[8mha:[^\x1b]*\x1b\[0m"
_CUT_NOTE_RX = r"\x1b\[8mha:[^\x1b]*$"
_ISO_LOOKS_RX = r"^\[\d{4}-\d\d-\d\dT"
_HMS_RX = r"^\d\d:\d\d:\d\d(?:  |\s*$)"
_HMS_LOOKS_RX = r"^\d\d:\d[^\s]*  "
_STAGE_RX = r"^\[Pipeline\] \{ \((.*)\)\s*$"
_STAGE_END = "[Pipeline] // stage"
_INSPECT_RX = r"^\+ docker inspect -f \. (\S+)\s*$"
_MISSING_RX = r"(?i)^error: no such (?:object|image): \S+\s*$"
_INSPECT_REACH = 10  # lines between an inspect and its answer, at most
_RUNNING_RX = r"^Running on (.+?) in \S.*$"
_MASKING_RX = r"^Masking supported pattern matches of (.+)$"
_AFFECTED_RX = r"^\s*Affected argument\(s\) used the following variable\(s\): \[(.*)\]\s*$"
_CONTEXT = ("job_key", "project", "run", "job_name")
_FRAME_COLUMNS = ["file", "line_no", "line", "msg", "ts_lo", "ts_hi", "scope", "step", "unparsed"]
_MS = 1_000  # µs per millisecond
TS = pl.Datetime("us", "UTC")


def sniff(path: str, head: bytes) -> bool:
    """Recognize a Jenkins console log by ``Started by`` or ``[Pipeline]`` in its first lines.

    Args:
        path: the logical path (unused: content decides).
        head: the first bytes of the file.

    Returns:
        True when one of the first lines, after an optional Timestamper prefix and hidden
        ConsoleNotes, starts with ``Started by `` or ``[Pipeline] ``; never for JSON, GitHub
        Actions or GitLab logs.
    """
    if _JSON_RX.match(head):
        return False
    lines = head.split(b"\n", _SNIFF_LINES)[:_SNIFF_LINES]
    if any(_GHA_RX.match(line) or _GITLAB_RX.search(line) for line in lines):
        return False
    return any(_SNIFF_RX.match(line) for line in lines)


def frame(lines: pl.DataFrame) -> pl.DataFrame:
    """Time interval, message text and enclosing stage for every line of a batch.

    Args:
        lines: ``file``, ``line_no``, ``line`` for every line of the batch.

    Returns:
        Adds ``msg`` (prefix, ConsoleNotes and ANSI removed), ``ts_lo``/``ts_hi`` (null without
        a dated prefix), ``scope`` (line of the enclosing ``[Pipeline] { (<stage>)``), ``step``
        (the stage name) and ``unparsed`` (why the line was not understood, else null).
    """
    note = pl.col("line").str.contains("\x1b[8mha:", literal=True)
    text = pl.when(note).then(pl.col("line").str.replace_all(_NOTE_RX, "")).otherwise("line")
    df = lines.with_columns(text.alias("_text"))
    t = pl.col("_text")
    iso_ok = (
        (t.str.slice(0, 1) == "[")
        & (t.str.slice(20, 1) == ".")
        & (t.str.slice(24, 3).is_in(["Z] ", "Z]"]))
    )
    date = t.str.slice(1, 19).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S", time_zone="UTC", time_unit="us", strict=False
    )
    millis = t.str.slice(21, 3).cast(pl.UInt16, strict=False).cast(pl.Int64)
    df = df.with_columns(
        pl.when(iso_ok).then(date.cast(pl.Int64) + millis * _MS).alias("_ts"),
        t.str.contains(_HMS_RX).alias("_hms"),
        t.str.contains(_ISO_LOOKS_RX).alias("_iso_looks"),
        t.str.contains(_HMS_LOOKS_RX).alias("_hms_looks"),
    )
    ts = pl.col("_ts")
    iso_bad = pl.col("_iso_looks") & ts.is_null() & ts.is_not_null().any().over("file")
    hms_bad = pl.col("_hms_looks") & ~pl.col("_hms") & pl.col("_hms").any().over("file")
    body = (
        pl.when(ts.is_not_null()).then(t.str.slice(26).str.strip_prefix(" "))
        .when(pl.col("_hms")).then(t.str.slice(10))
        .when(iso_bad).then(t.str.replace(r"^\[[^\]]*\] ?", ""))
        .when(hms_bad).then(t.str.replace(r"^\S*  ", ""))
        .otherwise(t)
    )  # fmt: skip
    cut = t.str.contains(_CUT_NOTE_RX)
    reason = (
        pl.when(iso_bad | hms_bad).then(pl.lit("corrupt timestamp"))
        .when(cut).then(pl.lit("truncated console note"))
    )  # fmt: skip
    msg = strip_ansi(body.str.replace(_CUT_NOTE_RX, ""))
    df = df.with_columns(
        ts.cast(TS).alias("ts_lo"),
        (ts + (_MS - 1)).cast(TS).alias("ts_hi"),
        msg.alias("msg"),
        reason.alias("unparsed"),
    )
    stage = pl.col("msg").str.extract(_STAGE_RX, 1)
    ends = pl.col("msg").str.starts_with(_STAGE_END)
    # 0 / "" mark "outside any stage" so that forward filling stops at a stage's end
    scope = pl.when(stage.is_not_null()).then(pl.col("line_no").cast(pl.Int64)).when(ends).then(0)
    name = pl.when(stage.is_not_null()).then(stage).when(ends).then(pl.lit(""))
    df = df.with_columns(
        scope.forward_fill().over("file").alias("scope"),
        name.forward_fill().over("file").alias("step"),
    ).with_columns(
        pl.when(pl.col("scope") != 0).then("scope").alias("scope"),
        pl.when(pl.col("step") != "").then("step").alias("step"),
    )
    return df.select(_FRAME_COLUMNS)


def _inspections(df: pl.DataFrame) -> pl.DataFrame:
    """``docker inspect -f . REF`` lines with their answer: ``.`` (cached) or no such object."""
    msg = pl.col("msg")
    asks = df.filter(msg.str.starts_with("+ docker inspect")).select(
        "file", "line_no", msg.str.extract(_INSPECT_RX, 1).alias("ref")
    )
    asks = asks.with_columns(
        pl.col("line_no").shift(-1).over("file", order_by="line_no").alias("_next")
    )
    answers = df.filter((msg.str.strip_chars() == ".") | msg.str.contains(_MISSING_RX)).select(
        "file",
        pl.col("line_no").alias("answer"),
        (msg.str.strip_chars() == ".").alias("cached"),
    )
    found = asks.sort("line_no").join_asof(
        answers.sort("answer"), left_on="line_no", right_on="answer", by="file",
        strategy="forward", check_sortedness=False,
    )  # fmt: skip
    near = (pl.col("answer") - pl.col("line_no") <= _INSPECT_REACH) & (
        pl.col("_next").is_null() | (pl.col("answer") < pl.col("_next"))
    )
    found = with_normalized(found.filter(near), "ref", ("image", "tag", "digest"))
    return found.filter(pl.col("image").is_not_null()).with_columns(
        (pl.col("image") + ":" + pl.col("tag").fill_null("")).alias("_k"),
        pl.concat_list("line_no", "answer").cast(pl.List(pl.Int64)).alias("_extra"),
    )


def _attach(uses: pl.DataFrame, asks: pl.DataFrame, target: pl.Expr) -> pl.DataFrame:
    """For each inspection, the id of the next use after it that ``target`` selects."""
    right = uses.filter(target).select("file", "_k", "_uid", pl.col("line").alias("_at"))
    return (
        asks.with_columns(pl.col("line_no").cast(pl.Int64).alias("_from"))
        .sort("_from")
        .join_asof(
            right.sort("_at"), left_on="_from", right_on="_at", by=["file", "_k"],
            strategy="forward", check_sortedness=False,
        )
    )  # fmt: skip


def _times(uses: pl.DataFrame, df: pl.DataFrame) -> pl.DataFrame:
    """``ts_lo``/``ts_hi`` span every evidence line (times are not monotonic in Jenkins)."""
    times = df.select("file", pl.col("line_no").cast(pl.Int64).alias("_l"), "ts_lo", "ts_hi")
    span = (
        uses.select("file", "_uid", pl.col("evidence_lines").alias("_l"))
        .explode("_l")
        .join(times, on=["file", "_l"], how="left")
        .group_by("_uid")
        .agg(pl.col("ts_lo").min(), pl.col("ts_hi").max())
    )
    return uses.drop("ts_lo", "ts_hi").join(span, on="_uid", how="left")


def _uses(df: pl.DataFrame, ctx: pl.DataFrame, hosts: pl.DataFrame) -> pl.DataFrame:
    # the Docker Pipeline plugin echoes its own commands as "$ docker ..."
    cli = _docker_cli.image_uses(df.with_columns(pl.col("msg").str.strip_prefix("$ ")))
    uses = cli.with_columns(
        pl.int_range(pl.len()).alias("_uid"),
        (pl.col("image") + ":" + pl.col("tag").fill_null("")).alias("_k"),
    )
    asks = _inspections(df)
    missing = _attach(uses, asks.filter(~pl.col("cached")), pl.col("action") == "pull")
    cached = _attach(uses, asks.filter("cached"), (pl.col("action") == "run") & pl.col("cached"))
    extra = (
        pl.concat([missing, cached])
        .drop_nulls("_uid")
        .group_by("_uid")
        .agg(pl.col("_extra").list.explode(keep_nulls=False, empty_as_null=False))
    )
    alone = cached.filter(pl.col("_uid").is_null()).select(
        "file", pl.lit("inspect").alias("action"), "ref", "image", "tag", "digest",
        pl.lit(True).alias("cached"), pl.lit(None, dtype=pl.String).alias("step"),
        pl.col("_extra").alias("evidence_lines"), "_k",
    )  # fmt: skip
    steps = df.select("file", pl.col("line_no").cast(pl.Int64).alias("_l0"), pl.col("step"))
    alone = (
        alone.with_columns(pl.col("evidence_lines").list.first().alias("_l0"))
        .drop("step")
        .join(steps, on=["file", "_l0"], how="left")
        .drop("_l0")
        .with_columns((pl.int_range(pl.len()) + uses.height).alias("_uid"))
    )
    merged = (
        uses.join(extra, on="_uid", how="left")
        .with_columns(
            pl.concat_list(
                "evidence_lines", pl.col("_extra").fill_null(pl.lit([], dtype=pl.List(pl.Int64)))
            )
            .list.unique()
            .list.sort()
            .alias("evidence_lines")
        )
        .drop("_extra")
    )
    every = pl.concat([merged, alone], how="diagonal_relaxed").with_columns(
        pl.col("evidence_lines").list.first().alias("line"),
        pl.when(pl.col("digest").is_not_null()).then(pl.lit("index")).alias("digest_kind"),
    )
    return (
        _times(every, df)
        .with_columns(pl.lit(NAME).alias("format"), pl.lit("job").alias("actor_kind"))
        .join(ctx.select("file", "job_key"), on="file", how="left")
        .join(hosts, on="file", how="left")
        .drop("_uid", "_k")
        .sort("file", "line")
    )


def _secrets(df: pl.DataFrame, ctx: pl.DataFrame) -> pl.DataFrame:
    msg = pl.col("msg")
    masked = msg.str.extract(_MASKING_RX, 1).str.extract_all(r"[$%]\{?[A-Za-z_]\w*")
    affected = msg.str.extract(_AFFECTED_RX, 1).str.split(",")
    names = pl.coalesce(masked, affected).list.eval(pl.element().str.strip_chars(" $%{}"))
    return (
        df.filter(msg.str.contains_any(["Masking supported", "Affected argument"]))
        .with_columns(names.alias("name"))
        .explode("name")
        .filter(pl.col("name").str.contains(r"^[A-Za-z_]\w*$"))
        .join(ctx.select("file", "job_key"), on="file", how="left")
        .select(
            "job_key", "name", pl.lit("credentials").alias("context"), "step", "ts_lo", "ts_hi",
            "file", pl.col("line_no").cast(pl.Int64).alias("line"),
        )
    )  # fmt: skip


def _job_meta(df: pl.DataFrame, ctx: pl.DataFrame) -> pl.DataFrame:
    msg = pl.col("msg")
    named = (
        df.filter(msg.str.starts_with("Running on "))
        .group_by("file")
        .agg(msg.str.extract(_RUNNING_RX, 1).drop_nulls().first().alias("runner_name"))
    )
    extent = df.group_by("file").agg(
        pl.col("ts_lo").min().alias("ts_first"), pl.col("ts_hi").max().alias("ts_last")
    )
    return (
        ctx.join(named, on="file", how="left")
        .join(extent, on="file", how="left")
        .with_columns(
            pl.lit("jenkins").alias("ci"),
            pl.col("runner_name").alias("machine_name"),
            pl.col("job_name").alias("file_job_name"),
            pl.lit(None, dtype=pl.String).alias("log_job_name"),
            pl.lit(1, dtype=pl.Int64).alias("line"),
        )
    )


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of Jenkins console logs.

    Args:
        items: the files with the identity the bundle layout gives them (``job_key``,
            ``project``, ``run``, ``job_name``).

    Returns:
        Image uses, secret names, job metadata, evidence lines and coverage.
    """
    result = ParseResult()
    df = frame(batch_lines(items, result))
    for reason in ("corrupt timestamp", "truncated console note"):
        record_unparsed(result, df.filter(pl.col("unparsed") == reason), reason)
    ctx = context_frame(items, _CONTEXT)
    meta = _job_meta(df, ctx)
    uses = _uses(df, ctx, meta.select("file", pl.col("machine_name").alias("host")))
    secrets = _secrets(df, ctx)
    result.add("image_uses", uses)
    result.add("job_secrets", secrets)
    result.add("job_logs", meta)
    cited = pl.concat(
        [
            uses.select("file", pl.col("evidence_lines").alias("line")).explode("line"),
            secrets.select("file", "line"),
        ]
    )
    shown = df.select("file", "line_no", pl.col("line").str.replace_all(_NOTE_RX, ""))
    result.add("evidence", evidence_rows(shown, cited))
    return result

r"""GitLab CI job traces: the jobs API ``trace`` (the raw job log), with or without FF_TIMESTAMPS.

Without timestamps a line carries no time of its own; ``section_start:<epoch>:<name>`` and
``section_end:<epoch>:<name>`` markers (epoch seconds, after ``\r\x1b[0K``, several per line)
bound it: a line lies between the previous and the next marker. With the ``FF_TIMESTAMPS``
prefix (gitlab-runner ``common/buildlogger/internal/timestamper``) every line starts with
``<YYYY-mm-ddTHH:MM:SS.ffffffZ> <2 hex><O|E><' '|'+'>``; ``+`` marks a continuation (the runner
flushes a write holding ``\r`` as its own line), so ``+`` lines are joined to the line before and
cited by its number. See docs.gitlab.com ``ci/jobs/job_logs``.

Extracted: image uses from the runner's own lines (``Using Docker executor with image``,
``Starting service``, ``Pulling docker image``, ``Using docker image <id> for <ref> with digest
<repo>@sha256:...``, ``Using locally found image version`` = served from cache) and from docker
CLI output in script steps; runner name (``  on <description> <token>``) and machine name
(``Running on ... via <host>...``). ``[MASKED]`` text is left as the runner wrote it.
"""

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

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

NAME = "gitlab_ci"
DESCRIPTION = "GitLab CI job trace (jobs API trace / raw log, optional FF_TIMESTAMPS prefix)"

# format: "2024-01-01T00:01:00.000000Z 00O " (UTC, 6 fractional digits, stream, type, flag)
_FF = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z [0-9a-f]{2}[OE][ +]"
_SNIFF_RX = re.compile(
    rb"^(?:" + _FF + rb")?(?:\x1b\[[0-9;]*[A-Za-z])*"
    rb"(?:Running with gitlab-runner |section_(?:start|end):\d+:)"
)
_SNIFF_SECTION_RX = re.compile(rb"section_start:\d+:")
_GHA_RX = re.compile(rb"^(?:\xef\xbb\xbf)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")
_SNIFF_LINES = 10
_PREFIX = 32  # characters of the FF_TIMESTAMPS prefix

_NAME_CHARS = r"[A-Za-z0-9_.-]"
# format: "section_start:1621524382:prepare_executor[collapsed=true]\r\x1b[0K"
_MARKER_RX = rf"section_(?:start|end):\d+:{_NAME_CHARS}+(?:\[[^\]\r]*\])?\r?"
_START_RX = rf"section_start:\d+:{_NAME_CHARS}"
_END_RX = rf"section_end:\d+:{_NAME_CHARS}"

# format: "Using docker image sha256:<id> for <ref> [with digest <repo>@sha256:<d>] ..."
_USING_RX = (
    r"^Using docker image (?P<image_id>\S+) for (?P<ref>\S+)"
    r"(?: with digest (?P<dref>\S+))?(?: \.\.\.)?\s*$"
)
_REQUESTS = {
    "executor": r"^Using [\w+ -]*?executor with image (\S+)",
    "service": r"^Starting service (\S+)",
    "pull": r"^Pulling docker image (\S+)",
}
_LOCAL_RX = r'^Using locally found image version due to "?[\w-]+"? pull policy'
_IMAGE_LITERALS = ("docker image", "Starting service", "executor with image", "locally found")
_RUNNER_RX = r"^  on (.+?) [^\s,]+(?:, system ID: \S+)?\s*$"
_MACHINE_RX = r"^Running on \S+ via (.+?)\.\.\.\s*$"
_CONTEXT = ("job_key", "project", "run", "job_name")
_FRAME_COLUMNS = ["file", "line_no", "line", "msg", "ts_lo", "ts_hi", "scope", "step", "unparsed"]
_US = 1_000_000
TS = pl.Datetime("us", "UTC")


def sniff(path: str, head: bytes) -> bool:
    """Recognize a GitLab trace by its runner banner or section markers in the first lines.

    Args:
        path: the logical path (unused: content decides).
        head: the first bytes of the file.

    Returns:
        True when one of the first lines is the ``Running with gitlab-runner`` banner or a
        section marker (either optionally after an FF_TIMESTAMPS prefix), or holds a
        ``section_start:<epoch>:``; never for JSON or GitHub Actions logs.
    """
    if head.lstrip()[:1] in (b"{", b"["):
        return False
    lines = head.split(b"\n", _SNIFF_LINES)[:_SNIFF_LINES]
    if any(_GHA_RX.match(line) for line in lines):
        return False
    return any(_SNIFF_RX.match(line) or _SNIFF_SECTION_RX.search(line) for line in lines)


def _physical(lines: pl.DataFrame) -> pl.DataFrame:
    """Per physical line: the FF_TIMESTAMPS time (µs), body, continuation and corrupt flags."""
    text = pl.col("line")
    ok = (
        (text.str.slice(19, 1) == ".")
        & (text.str.slice(26, 2) == "Z ")
        & text.str.slice(28, 2).str.contains("^[0-9a-f]{2}$")
        & text.str.slice(30, 1).is_in(["O", "E"])
        & text.str.slice(31, 1).is_in([" ", "+"])
    )
    date = text.str.slice(0, 19).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S", time_zone="UTC", time_unit="us", strict=False
    )
    micros = text.str.slice(20, 6).cast(pl.UInt32, strict=False).cast(pl.Int64)
    df = lines.with_columns(
        pl.when(ok).then(date.cast(pl.Int64) + micros).alias("ts"),
        text.str.contains(r"^\d{4}-\d\d-\d\dT").alias("_looks"),
    ).with_columns(
        (pl.col("ts").is_not_null() & (text.str.slice(31, 1) == "+") & (pl.col("line_no") > 1))
        .alias("cont"),
        pl.when(pl.col("ts").is_not_null()).then(text.str.slice(_PREFIX)).otherwise(text)
        .alias("body"),
        (pl.col("_looks") & pl.col("ts").is_null() & pl.col("ts").is_not_null().any().over("file"))
        .alias("unparsed"),
    ).drop("_looks")  # fmt: skip
    return _fix_corrupt(df)


def _fix_corrupt(df: pl.DataFrame) -> pl.DataFrame:
    """A line with a corrupt prefix still carries its message after the prefix's shape."""
    rows = df.get_column("unparsed").arg_true()
    if rows.is_empty():
        return df
    text = df.get_column("line").gather(rows)
    fixed = text.str.replace(r"^\S*\s(?:[0-9a-fA-F]{2}[OE][ +])?", "")
    return df.with_columns(df.get_column("body").scatter(rows, fixed).alias("body"))


def _logical(df: pl.DataFrame) -> pl.DataFrame:
    """Join ``+`` continuation lines to the line before (cited by the first line's number)."""
    df = df.with_columns(pl.col("ts").alias("ts_last"))
    if not df.get_column("cont").any():
        return df.drop("cont")
    head = pl.when(~pl.col("cont")).then(pl.col("line_no")).forward_fill().over("file")
    tails = (
        df.with_columns(head.alias("head"))
        .filter(pl.col("cont"))
        .group_by("file", "head")
        .agg(pl.col("body").str.join("").alias("_tail"), pl.col("ts").last().alias("_tail_ts"))
    )
    tail = pl.col("_tail").fill_null("")
    return (
        df.filter(~pl.col("cont"))
        .join(tails, left_on=["file", "line_no"], right_on=["file", "head"], how="left",
              maintain_order="left")
        .with_columns(
            (pl.col("body") + tail).alias("body"),
            (pl.col("line") + tail).alias("line"),
            pl.coalesce("_tail_ts", "ts").alias("ts_last"),
        )
        .drop("cont", "_tail", "_tail_ts")
    )  # fmt: skip


def frame(lines: pl.DataFrame) -> pl.DataFrame:
    """Logical lines of a batch with time interval, enclosing section and message text.

    Args:
        lines: ``file``, ``line_no``, ``line`` for every line of the batch.

    Returns:
        One row per logical line: ``file``, ``line_no`` (its first physical line), ``line``
        (raw text, continuations appended), ``msg`` (ANSI, markers and overwritten text
        removed), ``ts_lo``/``ts_hi``, ``scope`` (line of the enclosing ``section_start``),
        ``step`` (its name) and ``unparsed``.
    """
    df = _logical(_physical(lines))
    body = pl.col("body")
    first_ep = body.str.extract(r"section_(?:start|end):(\d+):", 1).cast(pl.Int64, strict=False)
    last_ep = body.str.extract(r".*section_(?:start|end):(\d+):", 1).cast(pl.Int64, strict=False)
    df = df.with_columns(
        # the line's own interval, and the bounds it gives the lines after / before it
        pl.coalesce("ts", first_ep * _US).alias("_own_lo"),
        pl.coalesce("ts_last", last_ep * _US + (_US - 1)).alias("_own_hi"),
        pl.coalesce("ts_last", last_ep * _US).alias("_after"),
        pl.coalesce("ts", first_ep * _US + (_US - 1)).alias("_before"),
        (body.str.extract(r".*section_(start|end):\d+:", 1) == "start").fill_null(False)
        .alias("_opens"),
        body.str.extract(rf".*section_start:\d+:({_NAME_CHARS}+)", 1).alias("_name"),
        (body.str.count_matches(_START_RX).cast(pl.Int64)
         - body.str.count_matches(_END_RX).cast(pl.Int64)).cum_sum().over("file").alias("_depth"),
    )  # fmt: skip
    # a section_end with no start (a trace cut at its head) must not push depth below zero
    depth = pl.col("_depth") - pl.col("_depth").cum_min().over("file").clip(upper_bound=0)
    df = df.with_columns(depth.alias("_depth"))
    inner = pl.col("_depth") > 0
    by = ["file", "_depth"]
    return df.with_columns(
        pl.coalesce("_own_lo", pl.col("_after").forward_fill().over("file")).cast(TS)
        .alias("ts_lo"),
        pl.coalesce("_own_hi", pl.col("_before").backward_fill().over("file")).cast(TS)
        .alias("ts_hi"),
        pl.when(inner).then(
            pl.when("_opens").then(pl.col("line_no").cast(pl.Int64)).forward_fill().over(by)
        ).alias("scope"),
        pl.when(inner).then(
            pl.when("_opens").then(pl.col("_name")).forward_fill().over(by)
        ).alias("step"),
        strip_ansi(body).str.replace_all(_MARKER_RX, "").str.replace(r"^.*\r", "").alias("msg"),
    ).select(_FRAME_COLUMNS)  # fmt: skip


def _key(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        (pl.col("image") + pl.lit(":") + pl.col("tag").fill_null("")).alias("_key")
    )


def _runner_lines(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The runner's ``Using docker image`` lines, request lines and cache lines."""
    msg = pl.col("msg")
    cand = df.filter(msg.str.contains_any(list(_IMAGE_LITERALS)))
    base = ("file", "line_no", pl.col("scope").fill_null(0).alias("_sk"))
    using = (
        cand.filter(msg.str.contains(_USING_RX))
        .select(*base, msg.str.extract_groups(_USING_RX).alias("g"))
        .unnest("g")
    )
    using = _key(with_normalized(using, "ref", ("image", "tag", "_rdigest"))).with_columns(
        pl.coalesce(
            pl.col("dref").str.extract(r"@(sha256:[0-9a-f]{64})", 1), "_rdigest"
        ).alias("digest")
    )  # fmt: skip
    parts = [
        cand.filter(msg.str.contains(rx)).select(
            *base, pl.lit(kind).alias("kind"), msg.str.extract(rx, 1).alias("ref")
        )
        for kind, rx in _REQUESTS.items()
    ]
    reqs = _key(with_normalized(pl.concat(parts), "ref", ("image", "tag", "digest")))
    local = cand.filter(msg.str.contains(_LOCAL_RX)).select(*base)
    valid = pl.col("image").is_not_null()
    return using.filter(valid), reqs.filter(valid), local


def _next_line(rows: pl.DataFrame, targets: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """For each row, the first target line (``u_line``) at or after it with the same ``by``."""
    return rows.sort("line_no").join_asof(
        targets.sort("u_line"), left_on="line_no", right_on="u_line", by=by,
        strategy="forward", check_sortedness=False,
    )  # fmt: skip


def _runner_uses(df: pl.DataFrame) -> pl.DataFrame:
    """Uses the runner's own lines show: job image, services, other pulls."""
    using, reqs, local = _runner_lines(df)
    targets = using.select("file", "_sk", "_key", pl.col("line_no").alias("u_line"))
    # "Using locally found image" announces the next "Using docker image" of its section
    cached = _next_line(local, targets, ["file", "_sk"]).drop_nulls("u_line")
    # a request line belongs to the next "Using docker image" line for the same image:tag
    matched = _next_line(reqs, targets.drop("_sk"), ["file", "_key"])
    role = reqs.group_by("file", "_key").agg(
        (pl.col("kind") == "executor").any().alias("_exec"),
        (pl.col("kind") == "service").any().alias("_svc"),
    )
    fallback = (
        pl.when(pl.col("_exec")).then(pl.lit("job-image"))
        .when(pl.col("_svc")).then(pl.lit("service")).otherwise(pl.lit("pull"))
    )  # fmt: skip
    per_using = (
        matched.drop_nulls("u_line")
        .group_by("file", "u_line")
        .agg(
            (pl.col("kind") == "service").any().alias("_m_svc"),
            (pl.col("kind") == "executor").any().alias("_m_exec"),
            pl.col("line_no").alias("_req_lines"),
        )
    )
    cache_lines = cached.group_by("file", "u_line").agg(pl.col("line_no").alias("_cache_lines"))
    no_lines = pl.lit([], dtype=pl.List(pl.UInt32))
    resolved = (
        using.rename({"line_no": "u_line"})
        .join(per_using, on=["file", "u_line"], how="left")
        .join(cache_lines, on=["file", "u_line"], how="left")
        .join(role, on=["file", "_key"], how="left")
        .select(
            "file", "ref", "image", "tag", "digest",
            pl.when(pl.col("_m_svc")).then(pl.lit("service"))
            .when(pl.col("_m_exec")).then(pl.lit("job-image"))
            .otherwise(fallback).alias("action"),
            pl.col("_cache_lines").is_not_null().alias("cached"),
            pl.concat_list(
                pl.col("u_line"), pl.col("_req_lines").fill_null(no_lines),
                pl.col("_cache_lines").fill_null(no_lines),
            ).alias("lines"),
        )
    )  # fmt: skip
    kind_action = pl.col("kind").replace_strict(
        {"service": "service", "executor": "job-image"}, default=None, return_dtype=pl.String
    )
    unresolved = (
        matched.filter(pl.col("u_line").is_null())
        .join(role, on=["file", "_key"], how="left")
        .select(
            "file", "ref", "image", "tag", "digest",
            pl.coalesce(kind_action, fallback).alias("action"),
            pl.lit(False).alias("cached"),
            pl.concat_list("line_no").alias("lines"),
        )
    )  # fmt: skip
    rows = pl.concat([resolved, unresolved], how="diagonal_relaxed").sort(
        pl.col("lines").list.min()
    )
    uses = rows.group_by(
        "file", "action", "image", "tag", "digest", "cached", maintain_order=True
    ).agg(
        pl.col("ref").first(),
        pl.col("lines").list.explode(keep_nulls=False, empty_as_null=False)
        .cast(pl.Int64).unique().sort().alias("evidence_lines"),
    )  # fmt: skip
    at = df.select("file", pl.col("line_no").cast(pl.Int64).alias("line"), "step", "ts_lo")
    end = df.select("file", pl.col("line_no").cast(pl.Int64).alias("_last"), "ts_hi")
    return (
        uses.with_columns(
            pl.col("evidence_lines").list.first().alias("line"),
            pl.col("evidence_lines").list.last().alias("_last"),
            pl.when(pl.col("digest").is_not_null()).then(pl.lit("index")).alias("digest_kind"),
        )
        .join(at, on=["file", "line"], how="left")
        .join(end, on=["file", "_last"], how="left")
        .select(_docker_cli.OUT_COLUMNS)
    )


def _uses(df: pl.DataFrame, ctx: pl.DataFrame, hosts: pl.DataFrame) -> pl.DataFrame:
    # GitLab echoes script commands as "$ docker ..."; the shared matcher expects "docker ..."
    cli = _docker_cli.image_uses(df.with_columns(pl.col("msg").str.strip_prefix("$ ")))
    return (
        pl.concat([_runner_uses(df), cli], how="diagonal_relaxed")
        .with_columns(pl.lit(NAME).alias("format"), pl.lit("job").alias("actor_kind"))
        .join(ctx.select("file", "job_key"), on="file", how="left")
        .join(hosts, on="file", how="left")
        .sort("file", "line")
    )


def _job_meta(df: pl.DataFrame, ctx: pl.DataFrame, stems: pl.DataFrame) -> pl.DataFrame:
    msg = pl.col("msg")
    banner = msg.str.starts_with("Running with gitlab-runner ")
    # "  on <description> <token>" is the line right after the banner
    on_line = msg.str.starts_with("  on ") & banner.shift(1).over("file")
    named = (
        df.filter(on_line | msg.str.starts_with("Running on "))
        .group_by("file", maintain_order=True)
        .agg(
            msg.str.extract(_RUNNER_RX, 1).drop_nulls().first().alias("runner_name"),
            msg.str.extract(_MACHINE_RX, 1).drop_nulls().first().alias("machine_name"),
        )
    )
    extent = df.group_by("file").agg(
        pl.col("ts_lo").min().alias("ts_first"), pl.col("ts_hi").max().alias("ts_last")
    )
    return (
        ctx.join(stems, on="file", how="left")
        .join(named, on="file", how="left")
        .join(extent, on="file", how="left")
        .with_columns(
            pl.lit("gitlab").alias("ci"),
            pl.coalesce("job_name", "_stem").alias("file_job_name"),
            pl.lit(None, dtype=pl.String).alias("log_job_name"),
            pl.lit(1, dtype=pl.Int64).alias("line"),
        )
    )


def _stems(items: Sequence[Item]) -> pl.DataFrame:
    rows = [(src.path, PurePosixPath(src.path.rsplit("!", 1)[-1]).stem) for src, _ in items]
    return pl.DataFrame(rows, schema={"file": pl.String, "_stem": pl.String}, orient="row")


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of GitLab CI job traces.

    Args:
        items: the files with the identity the bundle layout gives them (``job_key``,
            ``project``, ``run``, ``job_name``).

    Returns:
        Image uses, job metadata, evidence lines and coverage.
    """
    result = ParseResult()
    df = frame(batch_lines(items, result))
    record_unparsed(result, df.filter(pl.col("unparsed")), "corrupt timestamp")
    broken = df.filter(
        pl.col("msg").str.starts_with("Using docker image ")
        & ~pl.col("msg").str.contains(_USING_RX)
        & ~pl.col("unparsed")
    )
    record_unparsed(result, broken, "unrecognized image line")
    ctx = context_frame(items, _CONTEXT)
    meta = _job_meta(df, ctx, _stems(items))
    uses = _uses(df, ctx, meta.select("file", pl.col("machine_name").alias("host")))
    result.add("image_uses", uses)
    result.add("job_logs", meta)
    cited = uses.select("file", pl.col("evidence_lines").alias("line")).explode("line")
    result.add("evidence", evidence_rows(df, cited))
    return result

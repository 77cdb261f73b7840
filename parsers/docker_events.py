"""``docker events --format '{{json .}}'`` output: one JSON object per line.

Both shapes are read: the old one with ``status``/``id``/``from`` and the 2025+ one without
them (moby PR #50832), where only ``Type``/``Action``/``Actor`` remain. ``timeNano`` gives the
time to the nanosecond; ``time`` alone is known to the second. Events never carry digests:
an image ``pull`` names the reference as requested (``Actor.ID``), a container names the image
it was created from (``Attributes.image``). See docs.docker.com "docker system events".

Image uses: every ``pull``, and each container created from an image that no earlier pull in
the file explains (served from the local cache). The host is the bundle folder
(``hosts/<hostname>/``).
"""

import re
from collections.abc import Sequence

import polars as pl

from forensics.parsers._base import (
    Item,
    ParseResult,
    batch_lines,
    context_frame,
    evidence_rows,
    record_unparsed,
)
from forensics.reference import with_normalized

NAME = "docker_events"
DESCRIPTION = "docker events --format '{{json .}}' (JSON lines, old and 2025+ shapes)"

_SNIFF_RX = re.compile(
    rb'^\s*\{.*"(?:Type|status)"\s*:.*"(?:Action|id)"\s*:.*"time(?:Nano)?"\s*:', re.DOTALL
)
_FIELDS = {
    "Type": "$.Type",
    "Action": "$.Action",
    "status": "$.status",
    "id": "$.id",
    "from": "$.from",
    "actor": "$.Actor.ID",
    "attr_image": "$.Actor.Attributes.image",
    "attr_name": "$.Actor.Attributes.name",
    "time": "$.time",
    "timeNano": "$.timeNano",
}


def sniff(path: str, head: bytes) -> bool:
    """Recognize a docker events JSON-lines file by its first line.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True when the first line is a docker event object.
    """
    first = head.lstrip().split(b"\n", 1)[0]
    return bool(_SNIFF_RX.match(first))


_SLICE = 8192
_SHAPE = pl.Struct(
    {
        "Type": pl.String(), "Action": pl.String(), "status": pl.String(), "id": pl.String(),
        "from": pl.String(), "time": pl.String(), "timeNano": pl.String(),
        "Actor": pl.Struct({"ID": pl.String(), "Attributes": pl.Struct(
            {"image": pl.String(), "name": pl.String()})}),
    }
)  # fmt: skip


def _fields(lines: pl.DataFrame) -> pl.DataFrame:
    """The event fields, decoded in slices of lines (the decoder needs ~10x the text in memory)."""
    if lines.height <= _SLICE:
        return _decode(lines)
    return pl.concat([_decode(part) for part in lines.iter_slices(_SLICE)])


def _decode(lines: pl.DataFrame) -> pl.DataFrame:
    """Decode each line once; extract field by field when some line is broken JSON."""
    line = pl.col("line").str.strip_chars()
    try:
        decoded = lines.with_columns(
            pl.when(line.str.starts_with("{") & line.str.ends_with("}"))
            .then(line)
            .str.json_decode(_SHAPE)
            .alias("_e")
        )
    except pl.exceptions.PolarsError:
        # a line that looks whole but is not valid JSON: extract each field on its own
        return lines.with_columns(
            **{k: line.str.json_path_match(p).alias(k) for k, p in _FIELDS.items()}
        )
    e = pl.col("_e").struct
    return decoded.with_columns(
        *(e.field(k).alias(k) for k in ("Type", "Action", "status", "id", "from", "time")),
        e.field("timeNano").alias("timeNano"),
        e.field("Actor").struct.field("ID").alias("actor"),
        e.field("Actor").struct.field("Attributes").struct.field("image").alias("attr_image"),
        e.field("Actor").struct.field("Attributes").struct.field("name").alias("attr_name"),
    ).drop("_e")


def _events(lines: pl.DataFrame) -> pl.DataFrame:
    line = pl.col("line").str.strip_chars()
    df = _fields(lines)
    ns = pl.col("timeNano").cast(pl.Int64, strict=False)
    secs = pl.col("time").cast(pl.Int64, strict=False)
    lo = pl.coalesce(ns // 1000, secs * 1_000_000)
    hi = pl.coalesce((ns + 999) // 1000, secs * 1_000_000 + 999_999)
    kind = pl.coalesce(
        "Type", pl.when(pl.col("from").is_not_null()).then(pl.lit("container")), pl.lit("image")
    )
    actor = pl.coalesce("actor", "id")
    return df.select(
        "host",
        kind.alias("type"),
        pl.coalesce("Action", "status").alias("action"),
        actor.alias("actor_id"),
        pl.when(kind == "container").then(pl.coalesce("attr_image", "from"))
        .when(kind == "image").then(actor).alias("image"),
        pl.col("attr_name").alias("name"),
        pl.from_epoch(lo, time_unit="us").dt.replace_time_zone("UTC").alias("ts_lo"),
        pl.from_epoch(hi, time_unit="us").dt.replace_time_zone("UTC").alias("ts_hi"),
        "file",
        pl.col("line_no").cast(pl.Int64).alias("line"),
        (line.str.starts_with("{") & line.str.ends_with("}")
         & pl.coalesce("Type", "status").is_not_null()).alias("ok"),
    )  # fmt: skip


def _uses(events: pl.DataFrame) -> pl.DataFrame:
    ev = with_normalized(events, "image", ("norm", "tag", "digest"))
    # one key per host and image reference, so that the nearest earlier pull is one asof join
    key = pl.concat_str(
        [pl.col(c).fill_null("") for c in ("host", "norm", "tag", "digest")], separator="\x00"
    )
    ev = ev.with_columns(key.alias("key"))
    pulls = ev.filter((pl.col("type") == "image") & (pl.col("action") == "pull"))
    made = (
        ev.filter((pl.col("type") == "container") & pl.col("action").is_in(["create", "start"]))
        .unique(subset=["host", "actor_id"], keep="first", maintain_order=True)
        .sort("ts_lo")
        .join_asof(
            pulls.select("key", pl.col("ts_lo").alias("pulled")).sort("pulled"),
            left_on="ts_lo", right_on="pulled", by="key", strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("pulled").is_null())  # no pull before it: served from the local cache
        .sort("file", "line")
    )  # fmt: skip
    both = pl.concat(
        [
            pulls.with_columns(pl.lit("pull").alias("use"), pl.lit(False).alias("cached")),
            made.drop("pulled").with_columns(
                pl.lit("container-" + "create").alias("use"),
                pl.col("digest").is_null().alias("cached"),
            ),
        ],
        how="diagonal_relaxed",
    )
    return both.select(
        pl.lit(NAME).alias("format"),
        pl.lit("host").alias("actor_kind"),
        "host",
        pl.col("use").alias("action"),
        pl.col("image").alias("ref"),
        pl.col("norm").alias("image"),
        "tag",
        "digest",
        pl.when(pl.col("digest").is_not_null())
        .then(pl.when(pl.col("image").str.contains("@")).then(pl.lit("index")).otherwise(pl.lit("config")))
        .alias("digest_kind"),
        "cached",
        "ts_lo", "ts_hi", "file", "line",
        pl.concat_list("line").alias("evidence_lines"),
    ).filter(pl.col("image").is_not_null() | pl.col("digest").is_not_null())  # fmt: skip


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of docker events JSON-lines files.

    Args:
        items: the files; ``context["host"]`` names each one's machine.

    Returns:
        All events (``docker_events``), image uses, evidence lines and coverage.
    """
    result = ParseResult()
    lines = batch_lines(items, result)
    hosts = context_frame(items, ["host"])
    frame = lines.filter(pl.col("line").str.strip_chars() != "").join(hosts, on="file", how="left")
    events = _events(frame)
    record_unparsed(
        result,
        events.filter(~pl.col("ok")).select("file", pl.col("line").alias("line_no")),
        "not a docker event (invalid or truncated JSON)",
    )
    events = events.filter(pl.col("ok")).drop("ok")
    uses = _uses(events)
    result.add("docker_events", events)
    result.add("image_uses", uses)
    result.add("evidence", evidence_rows(lines, uses.select("file", "line")))
    return result

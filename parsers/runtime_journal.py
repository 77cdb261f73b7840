r"""Container runtime logs captured on a host: dockerd, containerd (CRI) and CRI-O.

Accepted shapes, freely mixed in one file:

- ``journalctl -u docker -u containerd`` text: ``Sep 01 23:34:52 <host> containerd[130]: time="…"
  level=info msg="…"`` (lines of other units and ``-- Boot … --`` headers are understood and
  skipped);
- bare logrus lines, ``time="…" level=… msg="…" key=value…`` (``strconv.Quote`` escaping, so
  ``\"`` inside ``msg``);
- the logrus terminal form ``INFO[2025-09-11T10:01:26.994748261+02:00] Pulled image: …``
  (CRI-O, daemons run in the foreground);
- ``journalctl -o json`` lines: ``__REALTIME_TIMESTAMP`` (µs epoch), ``_HOSTNAME`` and
  ``MESSAGE`` (the logrus line).

Time comes from logrus ``time=`` (RFC 3339 with offset, converted to UTC; nanoseconds become
the interval [floor, ceil] in µs, a shorter fraction widens it), else from
``__REALTIME_TIMESTAMP``. The syslog prefix has no year and is local time, so it is never used.
The host is ``_HOSTNAME`` or the syslog host field, else the bundle folder (``hosts/<name>/``).

Image uses (``actor_kind`` host, ``action`` pull), see docs/log-formats §5–6:

- dockerd (containerd image store) ``msg="image pulled" digest=… remote=…``: index digest;
- containerd CRI ``PullImage "<ref>" returns image reference "sha256:…"``: config digest (image ID);
- containerd CRI ``Pulled image "<ref>" with image id …, repo tag …, repo digest
  "<repo>@sha256:…"``: index digest (the image ID as config digest when the repo digest is empty);
- containerd ``ImageCreate``/``ImageUpdate`` events, proto text (``name:"<ref>"``) or Go struct
  (``&ImageCreate{Name:<ref>,…}``); a ``<repo>@sha256:…`` name gives the index digest. Events
  naming a bare image ID are skipped (the ``PullImage`` line reports that ID);
- CRI-O ``Pulled image: <repo>@sha256:…``: index digest.

One pull is logged by several lines, so lines of the same image on the same host in the same
file, each within one second of the previous one, make one use: ``evidence_lines`` lists them
all, ``digest`` is the index digest when any line has one, else the config digest, and ``tag``
and ``ref`` come from the first line that names a tag. Two tags of one image pulled within the
same second therefore merge into one use.
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

NAME = "runtime_journal"
DESCRIPTION = "dockerd / containerd / CRI-O logs (journalctl text or JSON, bare logrus lines)"

NOT_A_LINE = "not a runtime log line (no journal prefix, logrus fields or journal JSON)"
BROKEN_LOGRUS = "truncated or malformed logrus line (no closing quote after msg=)"

_SNIFF_LINES = 20
# journalctl short format: "Sep 01 23:34:52 host unit[pid]: "
_SYSLOG = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [\w.@/-]+(?:\[\d+\])?: "
# logrus text formatter: time="…" level=… msg="…" (fixed keys first)
_LOGRUS_START = r'time="\d{4}-\d\d-\d\dT[^"]*" level=\w+ msg="'
# logrus terminal formatter: INFO[2025-09-11T10:01:26.994748261+02:00] message
_TTY = r"(?:PANI|FATA|ERRO|WARN|INFO|DEBU|TRAC)\[\d{4}-\d\d-\d\dT[^\]]*\] "
_SNIFF_RX = re.compile(rf"^(?:{_SYSLOG})?(?:{_LOGRUS_START}|{_TTY})".encode())
_SNIFF_JSON_RX = re.compile(rb'^\{.*"__REALTIME_TIMESTAMP"\s*:')
# CNCF distribution (registry) logs are logrus too: left to the registry_log parser
_REGISTRY_MARKERS = (b"service=registry", b"http.request.uri=", b"Adding new scheduler entry for ")

# journal envelope and the logrus payload inside it
_SYSLOG_RX = (
    r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (?P<host>\S+) [\w.@/-]+(?:\[\d+\])?: (?P<rest>.*)$"
)
_LOGRUS_RX = (
    r'^time="(?P<time>[^"]*)" level=(?P<level>\w+) msg="(?P<msg>(?:[^"\\]|\\.)*)"(?P<tail>.*)$'
)
_TTY_RX = r"^(?P<level>[A-Z]{4})\[(?P<time>\d{4}-\d\d-\d\dT[^\]]*)\] (?P<msg>.*)$"

# the messages that record a pull (on the unescaped msg)
_SHA = r"sha256:[0-9a-f]{64}"
_PULL_IMAGE_RX = rf'^PullImage "([^"]+)" returns image reference "({_SHA})"'
_PULLED_RX = (
    rf'^Pulled image "(?P<ref>[^"]+)" with image id "(?P<id>{_SHA})"'
    r'(?:, repo tag "[^"]*")?(?:, repo digest "(?P<repo_digest>[^"]*)")?'
)
_EVENT_RX = (
    r'^Image(?:Create|Update) event (?:name:"([^"]+)"|&Image(?:Create|Update)\{Name:([^,}]+))'
)
_CRIO_RX = r"^Pulled image: (\S+)"
_DIGEST_FIELD_RX = rf'\bdigest="?({_SHA})'
_REMOTE_FIELD_RX = r'\bremote="?([^"\s]+)'

_GAP_US = 1_000_000


def sniff(path: str, head: bytes) -> bool:
    """Recognize runtime logs by a journal/logrus line or a journal JSON object.

    Args:
        path: the logical path (unused: content decides).
        head: the first bytes of the file.

    Returns:
        True when one of the first lines is a logrus line (optionally after a journalctl
        prefix), a logrus terminal line (``INFO[<RFC 3339>] …``), or the first line is a
        ``journalctl -o json`` object with ``MESSAGE`` and ``__REALTIME_TIMESTAMP``; never for
        a distribution registry log (``service=registry``, ``http.request.uri=``, scheduler
        entries), which is logrus too.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    first = text.split(b"\n", 1)[0]
    if first.startswith((b"{", b"[")):
        return b'"MESSAGE"' in first and bool(_SNIFF_JSON_RX.match(first))
    lines = text.split(b"\n", _SNIFF_LINES)[:_SNIFF_LINES]
    if any(m in line for line in lines for m in _REGISTRY_MARKERS):
        return False
    return any(_SNIFF_RX.match(line) for line in lines)


def _envelope(frame: pl.DataFrame) -> pl.DataFrame:
    """Journal fields, the logrus payload and its time for every line."""
    line = pl.col("line")
    is_json = line.str.strip_chars().str.starts_with("{")
    df = frame.with_columns(
        pl.when(is_json).then(line.str.json_path_match("$.MESSAGE")).alias("j_msg"),
        pl.when(is_json).then(line.str.json_path_match("$.__REALTIME_TIMESTAMP")).alias("j_ts"),
        pl.when(is_json).then(line.str.json_path_match("$._HOSTNAME")).alias("j_host"),
        line.str.extract_groups(_SYSLOG_RX).alias("_sys"),
    ).unnest("_sys")
    payload = pl.coalesce("j_msg", "rest", pl.when(~is_json).then(line))
    df = df.with_columns(payload.alias("payload"))
    df = df.with_columns(
        pl.col("payload").str.extract_groups(_LOGRUS_RX).alias("_lr"),
        pl.col("payload").str.extract_groups(_TTY_RX).alias("_tty"),
    )
    lr, tty = pl.col("_lr").struct, pl.col("_tty").struct
    raw_msg = pl.coalesce(lr.field("msg"), tty.field("msg"))
    df = df.with_columns(
        pl.coalesce(lr.field("time"), tty.field("time")).alias("time"),
        # a journal message that is not logrus (CRI-O may log plain text) is matched as is
        pl.coalesce(raw_msg.str.replace_all(r"\\(.)", "$1"), "payload").alias("msg"),
        pl.coalesce(lr.field("tail"), tty.field("msg")).alias("tail"),
        pl.coalesce("j_host", "host", "ctx_host").alias("host"),
        (
            pl.col("line").str.strip_chars().str.starts_with("-- ")
            | pl.col("j_msg").is_not_null()
            | pl.col("j_ts").is_not_null()
            | pl.col("rest").is_not_null()
            | raw_msg.is_not_null()
        ).alias("known"),
        (pl.col("payload").str.starts_with('time="') & lr.field("msg").is_null()).alias("broken"),
    )
    return df.drop("_lr", "_tty", "j_msg", "j_host", "rest")


def _times(df: pl.DataFrame) -> pl.DataFrame:
    """``ts_lo``/``ts_hi`` in µs from logrus time, else the journal's realtime stamp."""
    t = pl.col("time").str.replace(r"Z$", "+00:00")
    ns = t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", time_unit="ns", strict=False).dt.epoch("ns")
    digits = pl.col("time").str.extract(r"T[^.]*\.(\d+)", 1).str.len_chars().fill_null(0)
    lo = ns // 1000
    widen = pl.lit(10, pl.Int64).pow(pl.lit(6, pl.Int64) - digits.cast(pl.Int64)) - 1
    hi = pl.when(digits >= 6).then((ns + 999) // 1000).otherwise(lo + widen)
    real = pl.col("j_ts").cast(pl.Int64, strict=False)
    return df.with_columns(
        pl.from_epoch(pl.coalesce(lo, real), time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("ts_lo"),
        pl.from_epoch(pl.coalesce(hi, real), time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("ts_hi"),
    )


def _pull_lines(df: pl.DataFrame) -> pl.DataFrame:
    """One row per line that records a pull: ``ref``, ``idx`` and ``cfg`` digests."""
    msg = pl.col("msg")
    pull_image = msg.str.extract_groups(_PULL_IMAGE_RX)
    pulled = msg.str.extract_groups(_PULLED_RX)
    event = msg.str.extract_groups(_EVENT_RX)
    crio = msg.str.extract(_CRIO_RX, 1)
    dockerd = (msg == "image pulled") | msg.str.starts_with("image pulled ")
    remote = pl.when(dockerd).then(pl.col("tail").str.extract(_REMOTE_FIELD_RX, 1))
    ref = pl.coalesce(
        remote,
        pull_image.struct.field("1"),
        pulled.struct.field("ref"),
        event.struct.field("1"),
        event.struct.field("2"),
        crio,
    )
    idx = pl.coalesce(
        pl.when(dockerd).then(pl.col("tail").str.extract(_DIGEST_FIELD_RX, 1)),
        pulled.struct.field("repo_digest").str.extract(rf"@({_SHA})$", 1),
    )
    cfg = pl.coalesce(pull_image.struct.field("2"), pulled.struct.field("id"))
    out = df.with_columns(ref.alias("ref"), idx.alias("idx"), cfg.alias("cfg")).filter(
        pl.col("ref").is_not_null()
    )
    out = with_normalized(out, "ref", ("image", "tag", "ref_digest"))
    # a bare image ID (an ImageCreate of the config record) names no image: skipped
    return out.filter(pl.col("image").is_not_null()).with_columns(
        pl.coalesce("idx", "ref_digest").alias("idx")
    )


def _uses(pulls: pl.DataFrame) -> pl.DataFrame:
    """Group the lines of one pull (same file, host and image, gaps ≤ 1 s) into one use."""
    us = pl.col("ts_lo").dt.epoch("us")
    key = ["file", "host", "image"]
    df = pulls.with_columns(pl.col("line_no").cast(pl.Int64).alias("line")).sort(
        [*key, "ts_lo", "line"], nulls_last=True
    )
    same_key = pl.all_horizontal(
        [pl.col(k).fill_null("") == pl.col(k).fill_null("").shift(1) for k in key]
    )
    close = (us - us.shift(1)) <= _GAP_US
    df = df.with_columns((~(same_key & close).fill_null(False)).cum_sum().alias("_g"))
    tagged = pl.col("tag").is_not_null()
    grouped = df.group_by("_g").agg(
        pl.col("file").first(),
        pl.col("host").first(),
        pl.coalesce(pl.col("ref").filter(tagged).first(), pl.col("ref").first()).alias("ref"),
        pl.col("image").first(),
        pl.col("tag").drop_nulls().first(),
        pl.col("idx").drop_nulls().first(),
        pl.col("cfg").drop_nulls().first(),
        pl.col("ts_lo").min(),
        pl.col("ts_hi").max(),
        pl.col("line").min(),
        pl.col("line").sort().alias("evidence_lines"),
    )
    return grouped.sort("file", "line").select(
        pl.lit(NAME).alias("format"),
        pl.lit("host").alias("actor_kind"),
        "host",
        pl.lit("pull").alias("action"),
        "ref",
        "image",
        "tag",
        pl.coalesce("idx", "cfg").alias("digest"),
        pl.when(pl.col("idx").is_not_null())
        .then(pl.lit("index"))
        .when(pl.col("cfg").is_not_null())
        .then(pl.lit("config"))
        .alias("digest_kind"),
        pl.lit(False).alias("cached"),
        "ts_lo",
        "ts_hi",
        "file",
        "line",
        "evidence_lines",
    )


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of runtime log files.

    Args:
        items: the files; ``context["host"]`` names each one's machine when the log does not.

    Returns:
        Image uses (one per pull), their evidence lines and per-file coverage.
    """
    result = ParseResult()
    lines = batch_lines(items, result)
    hosts = context_frame(items, ["host"]).rename({"host": "ctx_host"})
    frame = lines.filter(pl.col("line").str.strip_chars() != "").join(hosts, on="file", how="left")
    df = _times(_envelope(frame))
    record_unparsed(result, df.filter(~pl.col("known")).select("file", "line_no"), NOT_A_LINE)
    record_unparsed(
        result,
        df.filter(pl.col("known") & pl.col("broken")).select("file", "line_no"),
        BROKEN_LOGRUS,
    )
    uses = _uses(_pull_lines(df.filter(pl.col("known") & ~pl.col("broken"))))
    result.add("image_uses", uses)
    cited = uses.select("file", pl.col("evidence_lines").alias("line")).explode("line")
    result.add("evidence", evidence_rows(lines, cited))
    return result

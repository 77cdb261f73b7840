"""CNCF distribution registry logs (``registry:2``/``registry:3``, also as a pull-through cache).

Three line shapes (distribution ``registry/handlers/app.go`` request logging, gorilla
``handlers.CombinedLoggingHandler``, ``registry/proxy/scheduler``):

- logrus: ``time="<RFC 3339 ns>" level=info msg="response completed" … http.request.host=…
  http.request.method=GET http.request.uri="/v2/<repo>/manifests/<ref>" …
  http.response.contenttype=… http.response.status=200 …``;
- Apache combined: ``<ip> - - [11/Sep/2025:08:01:26 +0000] "GET /v2/<repo>/manifests/<ref>
  HTTP/1.1" 200 1958 "" "<user agent>"``;
- cache fill: ``msg="Adding new scheduler entry for <repo>@sha256:… with ttl=…"``.

Image uses, all with actor_kind ``host`` and host = the registry instance (the bundle folder
``registries/<name>/``): a 2xx ``GET`` of a manifest is ``served``, a 2xx ``HEAD`` is
``checked`` (a version check), a scheduler entry is ``cached``. The reference is
``<registry>/<repo>`` plus ``:<tag>`` or ``@<digest>``, where ``<registry>`` is the bundle's
registry name, else the logged ``http.request.host``; ``<repo>`` is the path as logged (a
proxy-project or mirror prefix stays in it: map it with the advisory's ``[mirrors]``). A
manifest requested by tag logs no digest. ``digest_kind`` comes from the logged response
content type (index or platform manifest) when the logrus line has it, else it is null: a
request by digest does not say which kind it names, and a scheduler entry may even name a
blob.

The logrus and access lines of one request are merged into one use (citing both lines) only
when it is trivial: same file, method, URI and status, and the same UTC second (the access
line's precision); the n-th such access line pairs with the n-th such logrus line. Anything
else (e.g. a request whose two lines straddle a second boundary) stays two uses.
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

NAME = "registry_log"
DESCRIPTION = "CNCF distribution registry / pull-through cache log (logrus + access lines)"

_SNIFF_LINES = 32
_SNIFF_LOGRUS = re.compile(rb'^time="?\d{4}-\d\d-\d\dT[^ ]* level=\w+ msg=')
_SNIFF_ACCESS = re.compile(
    rb'^\S+ \S+ \S+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "[A-Z]+ /v2/'
)
_SNIFF_MARKERS = (
    b"service=registry",
    b"http.request.uri=/v2/",
    b'http.request.uri="/v2/',
    b'msg="Adding new scheduler entry for ',
)

_QUOTED = r'"((?:[^"\\]|\\.)*)"'
# logrus text formatter: time="…" level=… msg="…" key=value…
_LOGRUS_RX = (
    r'^time="?(?P<time>\d{4}-\d\d-\d\dT[^"\s]+)"?\s+level=(?P<level>\w+)\s+'
    r'msg=(?:"(?P<msg_q>(?:[^"\\]|\\.)*)"|(?P<msg_b>\S*))(?P<rest>.*)$'
)
# format: %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
_ACCESS_RX = (
    r"^(?P<ip>\S+) \S+ \S+ \[(?P<atime>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    r'"(?P<amethod>[A-Z]+) (?P<auri>\S+)(?: [^"]*)?" (?P<astatus>\d{3}) \S+'
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?\s*$'
)
_SCHEDULER_RX = r"^Adding new scheduler entry for (\S+?)@(sha256:[0-9a-fA-F]{64}) with ttl="
_MANIFEST_RX = r"^/v2/(.+)/manifests/([^/?#]+)(?:[?#].*)?$"
_DIGEST_RX = r"^sha256:[0-9a-f]{64}$"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RX = rf"^{_COMPONENT}(?:/{_COMPONENT})*$"
_INDEX_TYPES = r"image\.index\.v1|manifest\.list\.v2"
_PLATFORM_TYPES = r"image\.manifest\.v1|distribution\.manifest\.v[12]"


def sniff(path: str, head: bytes) -> bool:
    """Recognize a registry log by its first line and a registry marker near the top.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True when the first line is a logrus or access line and one of the first lines
        names the registry service, a ``/v2/`` request or a cache scheduler entry.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    lines = text.split(b"\n", _SNIFF_LINES)[:_SNIFF_LINES]
    if not (_SNIFF_LOGRUS.match(lines[0]) or _SNIFF_ACCESS.match(lines[0])):
        return False
    return any(
        _SNIFF_ACCESS.match(line) or any(m in line for m in _SNIFF_MARKERS) for line in lines
    )


def _field(rest: pl.Expr, key: str) -> pl.Expr:
    """A logrus ``key=value`` field, quoted (unescaped) or bare."""
    key = re.escape(key)
    quoted = rest.str.extract(rf"\s{key}={_QUOTED}", 1)
    quoted = quoted.str.replace_all(r"\\(.)", "$1")
    return pl.coalesce(quoted, rest.str.extract(rf'\s{key}=([^"\s]\S*)', 1))


def _utc_interval(text: pl.Expr, fmt: str) -> tuple[pl.Expr, pl.Expr]:
    """``[lo, hi]`` in UTC µs for a timestamp known to its last written fractional digit."""
    fixed = text.str.replace(r"Z$", "+00:00")
    ns = fixed.str.to_datetime(fmt, time_unit="ns", strict=False).dt.epoch("ns")
    digits = text.str.extract(r"\.(\d+)", 1).str.len_chars().fill_null(0).clip(0, 9)
    step = pl.lit(10, dtype=pl.Int64).pow(9 - digits)
    last = ns + step - 1
    hi = pl.when(step < 1000).then((last + 999) // 1000).otherwise(last // 1000)
    return _utc(ns // 1000), _utc(hi)


def _utc(us: pl.Expr) -> pl.Expr:
    return pl.from_epoch(us, time_unit="us").dt.replace_time_zone("UTC")


def _requests(frame: pl.DataFrame) -> pl.DataFrame:
    """Every line's shape, request fields and time (``ok`` false for unknown lines)."""
    df = frame.with_columns(
        pl.col("line").str.extract_groups(_LOGRUS_RX).alias("_l"),
        pl.col("line").str.extract_groups(_ACCESS_RX).alias("_a"),
    ).unnest("_l", "_a")
    rest = pl.col("rest")
    msg = pl.coalesce(pl.col("msg_q").str.replace_all(r"\\(.)", "$1"), "msg_b")
    l_lo, l_hi = _utc_interval(pl.col("time"), "%Y-%m-%dT%H:%M:%S%.f%z")
    a_lo, a_hi = _utc_interval(pl.col("atime"), "%d/%b/%Y:%H:%M:%S %z")
    is_logrus = pl.col("time").is_not_null()
    return df.select(
        "file",
        "line_no",
        pl.when(is_logrus).then(pl.lit("logrus")).otherwise(pl.lit("access")).alias("shape"),
        msg.alias("msg"),
        pl.coalesce(_field(rest, "http.request.method"), "amethod").alias("method"),
        pl.coalesce(_field(rest, "http.request.uri"), "auri").alias("uri"),
        pl.coalesce(_field(rest, "http.response.status"), "astatus")
        .cast(pl.Int64, strict=False)
        .alias("status"),
        _field(rest, "http.request.host").alias("req_host"),
        pl.coalesce(_field(rest, "http.request.remoteaddr"), "ip").alias("client"),
        _field(rest, "http.response.contenttype").alias("ctype"),
        pl.when(is_logrus).then(l_lo).otherwise(a_lo).alias("ts_lo"),
        pl.when(is_logrus).then(l_hi).otherwise(a_hi).alias("ts_hi"),
        "host",
        "registry",
    ).with_columns(pl.col("ts_lo").is_not_null().alias("ok"))


def _uses(req: pl.DataFrame) -> pl.DataFrame:
    manifest = pl.col("uri").str.extract_groups(_MANIFEST_RX)
    sched = pl.col("msg").str.extract_groups(_SCHEDULER_RX)
    completed = (pl.col("shape") == "access") | pl.col("msg").str.starts_with("response completed")
    ok_status = (pl.col("status") >= 200) & (pl.col("status") < 300)
    df = req.with_columns(
        manifest.struct.field("1").alias("m_repo"),
        manifest.struct.field("2").alias("m_ref"),
        sched.struct.field("1").alias("s_repo"),
        sched.struct.field("2").str.to_lowercase().alias("s_digest"),
    )
    action = (
        pl.when(pl.col("s_repo").is_not_null())
        .then(pl.lit("cached"))
        .when(completed & ok_status & pl.col("m_repo").is_not_null())
        .then(pl.when(pl.col("method") == "GET").then(pl.lit("served"))
              .when(pl.col("method") == "HEAD").then(pl.lit("checked")))
    )  # fmt: skip
    df = df.with_columns(action.alias("action")).filter(pl.col("action").is_not_null())
    ref_part = pl.coalesce("m_ref", "s_digest")
    digest = pl.when(ref_part.str.to_lowercase().str.contains(_DIGEST_RX)).then(
        ref_part.str.to_lowercase()
    )
    repo = pl.coalesce("m_repo", "s_repo")
    registry = pl.coalesce("registry", "req_host", "host").str.to_lowercase()
    kind = (
        pl.when(pl.col("ctype").str.contains(_INDEX_TYPES)).then(pl.lit("index"))
        .when(pl.col("ctype").str.contains(_PLATFORM_TYPES)).then(pl.lit("platform"))
    )  # fmt: skip
    sep = pl.when(digest.is_not_null()).then(pl.lit("@")).otherwise(pl.lit(":"))
    return df.select(
        pl.lit(NAME).alias("format"),
        pl.lit("cache").alias("actor_kind"),
        pl.coalesce("host", registry).alias("host"),
        # drop the port of "1.2.3.4:5" and "[v6]:5"; a bare IPv6 address stays whole
        pl.col("client")
        .str.replace(r"^\[(.*)\]:\d+$", "$1")
        .str.replace(r"^(\d+\.\d+\.\d+\.\d+):\d+$", "$1")
        .str.strip_chars("[]")
        .alias("peer"),
        "action",
        pl.concat_str(registry, pl.lit("/"), repo, sep, ref_part).alias("ref"),
        pl.when(repo.str.contains(_PATH_RX)).then(registry + "/" + repo).alias("image"),
        pl.when(digest.is_null()).then(ref_part).alias("tag"),
        digest.alias("digest"),
        pl.when(digest.is_not_null()).then(kind).alias("digest_kind"),
        pl.lit(False).alias("cached"),
        "ts_lo", "ts_hi", "file",
        pl.col("line_no").cast(pl.Int64).alias("line"),
        # pairing key for the access line of the same request
        "shape", "method", "uri", "status",
        pl.col("ts_lo").dt.truncate("1s").alias("_second"),
    )  # fmt: skip


def _merge_pairs(uses: pl.DataFrame) -> pl.DataFrame:
    """Fold each access line into its logrus twin of the same second; keep the rest apart."""
    key = ["file", "action", "method", "uri", "status", "_second"]
    nth = pl.int_range(pl.len()).over(key).alias("_nth")
    logrus = uses.filter(pl.col("shape") == "logrus").sort("file", "line").with_columns(nth)
    access = uses.filter(pl.col("shape") == "access").sort("file", "line").with_columns(nth)
    pairs = logrus.join(
        access.select(*key, "_nth", pl.col("line").alias("twin")),
        on=[*key, "_nth"],
        how="left",
        nulls_equal=False,
    )
    twins = pairs.get_column("twin").drop_nulls()
    lone = access.filter(~pl.col("line").is_in(twins.implode())).with_columns(
        pl.lit(None, dtype=pl.Int64).alias("twin")
    )
    merged = pl.concat([pairs, lone], how="vertical_relaxed")
    lines = pl.concat_list(pl.col("line"), pl.col("twin")).list.drop_nulls()
    return merged.with_columns(lines.alias("evidence_lines")).sort("file", "line")


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of registry logs.

    Args:
        items: the files; ``context["host"]``/``context["registry"]`` name the registry.

    Returns:
        Image uses (manifests served or checked, cache fills), evidence lines and coverage.
    """
    result = ParseResult()
    lines = batch_lines(items, result)
    ctx = context_frame(items, ["host", "registry"])
    frame = lines.filter(pl.col("line").str.strip_chars() != "").join(ctx, on="file", how="left")
    req = _requests(frame)
    record_unparsed(
        result,
        req.filter(~pl.col("ok")).select("file", "line_no"),
        "not a registry log line (logrus or access format)",
    )
    uses = _merge_pairs(_uses(req.filter(pl.col("ok"))))
    result.add("image_uses", uses)
    cited = uses.select("file", pl.col("evidence_lines").alias("line")).explode("line")
    result.add("evidence", evidence_rows(lines, cited))
    return result

"""Sonatype Nexus Repository 3 ``request.log`` (logback-access).

Default pattern ``%clientHost %l %user [%date] "%requestURL" %statusCode %bytesSent
%elapsedTime "%header{User-Agent}"``, newer versions append `` [%thread]``, e.g.
``10.0.5.31 - - [22/Apr/2026:14:41:07 +0200] "GET /repository/docker-proxy/v2/checkmarx/kics/
manifests/latest HTTP/1.1" 200 1958 35 "docker/27.3.1 …" [qtp1085283394-921]``. Dates are the
server's local time with its offset, to the second.

The status is followed by *two* numbers and *one* quoted string, so the Apache combined
lines of a distribution registry (``… 200 1958 "<referer>" "<agent>"``, read by
:mod:`forensics.parsers.registry_log`) never match.

Docker manifests are requested as ``/repository/<repo>/v2/<image>/manifests/<ref>`` (path
based routing) or ``/v2/<image>/manifests/<ref>`` (a repository connector port). Image uses,
like :mod:`forensics.parsers.registry_log`: actor_kind ``cache``, host = the cache instance
(the bundle folder ``registries/<name>/``), peer = the client host; a 2xx ``GET`` of a
manifest is ``served``, a 2xx ``HEAD`` is ``checked``. The reference is ``<registry>/<path>``
plus ``:<tag>`` or ``@<digest>``, where ``<path>`` is ``<repo>/<image>`` for the
``/repository/`` form (the repository name stays in it like a proxy project: map it with the
advisory's ``[mirrors]``) and ``<image>`` for the connector form. A request by tag logs no
digest; ``digest_kind`` is unknown (null).
"""

import re
from collections.abc import Sequence

import polars as pl

from forensics.parsers._base import (
    Item,
    ParseResult,
)
from forensics.parsers._served import parse_cache_log, served_uses, utc

NAME = "nexus"
DESCRIPTION = "Sonatype Nexus Repository 3 request.log (logback-access)"

_SNIFF_LINES = 32
_LINE_RX = (
    r"^(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    r'"(?P<method>[A-Z]+) (?P<uri>\S+)(?: [^"]*)?" (?P<status>\d{3}) (?:\d+|-) (?:\d+|-) '
    r'"(?P<agent>(?:[^"\\]|\\.)*)"(?: \[(?P<thread>[^\]]*)\])?\s*$'
)
_SNIFF_LINE = re.compile(_LINE_RX.encode())
_SNIFF_URI = re.compile(rb'^\S+ \S+ \S+ \[[^\]]*\] "[A-Z]+ (?:/repository/[^/ ]+)?/v2/')

_REPO_RX = r"^/repository/(?P<key>[^/]+)/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$"
_V2_RX = r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$"


def sniff(path: str, head: bytes) -> bool:
    """Recognize a Nexus request log by its first line and a Docker request near the top.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True when the first line has the request.log layout (two numbers after the status,
        then a quoted user agent and an optional ``[thread]``) and one of the first such
        lines requests ``/v2/`` or ``/repository/<repo>/v2/``.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    lines = [ln.rstrip(b"\r") for ln in text.split(b"\n", _SNIFF_LINES)[:_SNIFF_LINES]]
    if not _SNIFF_LINE.match(lines[0]):
        return False
    return any(_SNIFF_LINE.match(line) and _SNIFF_URI.match(line) for line in lines)


def _requests(frame: pl.DataFrame) -> pl.DataFrame:
    """Every line's request fields and time (``ok`` false for lines not understood)."""
    df = frame.with_columns(
        pl.col("line").str.strip_chars_end("\r").str.extract_groups(_LINE_RX).alias("_r")
    ).unnest("_r")
    lo = pl.col("time").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", time_unit="us", strict=False)
    lo_us = lo.dt.epoch("us")
    return df.select(
        "file",
        "line_no",
        "method",
        pl.col("uri").str.replace(r"[?#].*$", "").alias("uri"),
        pl.col("status").cast(pl.Int64, strict=False).alias("status"),
        pl.col("ip").alias("client"),
        utc(lo_us).alias("ts_lo"),
        utc(lo_us + 999_999).alias("ts_hi"),
        "host",
        "registry",
    ).with_columns(pl.col("ts_lo").is_not_null().alias("ok"))


def _uses(req: pl.DataFrame) -> pl.DataFrame:
    routed = pl.col("uri").str.extract_groups(_REPO_RX)
    port = pl.col("uri").str.extract_groups(_V2_RX)
    df = req.with_columns(
        pl.coalesce(
            routed.struct.field("key") + "/" + routed.struct.field("repo"),
            port.struct.field("repo"),
        ).alias("m_repo"),
        pl.coalesce(routed.struct.field("ref"), port.struct.field("ref")).alias("m_ref"),
    )
    return served_uses(df, NAME)


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of Nexus request logs.

    Args:
        items: the files; ``context["host"]``/``context["registry"]`` name the cache.

    Returns:
        Image uses (manifests served or checked), evidence lines and coverage.
    """
    return parse_cache_log(items, _requests, _uses, "not a Nexus request.log line")

"""JFrog Artifactory request logs (``artifactory-request.log`` / Artifactory 6 ``request.log``).

Two line shapes, pipe-delimited:

- Artifactory 7: ``<ISO UTC ms>|<trace id>|<remote address>|<username>|<method>|<url>|
  <status>|<request length>|<response length>|<duration ms>|<user agent>``, e.g.
  ``2018-11-18T15:39:04.902Z|d5d75b3c41242768|127.0.0.1|anonymous|GET|api/v1/cert/root|200|
  0|6|0|JFrog Access Java Client/4.1.12`` (the user agent is the rest of the line);
- Artifactory 6: ``<yyyyMMddHHmmss>|<duration>|REQUEST|<remote address>|<username>|<method>|
  <url>|<protocol>|<status>|<size>``, e.g. ``20200312164423|93|REQUEST|172.17.0.1|anonymous|
  GET|/webapp/|HTTP/1.1|200|0``. It has no zone; it is read as UTC.

Docker manifests show up as ``api/docker/<repo-key>/v2/<image>/manifests/<ref>``, as
``v2/<path>/manifests/<ref>``, or as the stored files ``<repo-key>/<image>/<tag>/
list.manifest.json`` / ``manifest.json`` (a by-digest folder is ``sha256__<hex>``); a leading
``/`` or ``artifactory/`` and a query string are ignored.

Image uses, like :mod:`forensics.parsers.registry_log`: actor_kind ``cache``, host = the
cache instance (the bundle folder ``registries/<name>/``), peer = the remote address; a 2xx
``GET`` of a manifest is ``served``, a 2xx ``HEAD`` is ``checked``. The reference is
``<registry>/<repo-key>/<image>`` plus ``:<tag>`` or ``@<digest>`` (the repository key stays
in the path like a proxy project: map it with the advisory's ``[mirrors]``). A request by tag
logs no digest; ``digest_kind`` is unknown (null).
"""

import re
from collections.abc import Sequence

import polars as pl

from forensics.parsers._base import (
    Item,
    ParseResult,
)
from forensics.parsers._served import parse_cache_log, served_uses, utc

NAME = "artifactory"
DESCRIPTION = "JFrog Artifactory request log (Artifactory 7 and 6 pipe layouts)"

_SNIFF_LINES = 32
_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)"
_V7_RX = (
    rf"^(?P<ts7>{_ISO})\|(?P<trace>[^|]*)\|(?P<ip7>[^|]*)\|(?P<user7>[^|]*)\|"
    r"(?P<method7>[A-Z]+)\|(?P<url7>[^|]*)\|(?P<status7>\d{3})\|[^|]*\|[^|]*\|[^|]*\|"
    r"(?P<agent>.*)$"
)
_V6_RX = (
    r"^(?P<ts6>\d{14})\|[^|]*\|REQUEST\|(?P<ip6>[^|]*)\|(?P<user6>[^|]*)\|"
    r"(?P<method6>[A-Z]+)\|(?P<url6>[^|]*)\|[^|]*\|(?P<status6>\d{3})\|[^|]*$"
)
_SNIFF_FIRST = (re.compile(_V7_RX.encode()), re.compile(_V6_RX.encode()))
_SNIFF_METHOD = re.compile(rb"\|(?:GET|HEAD)\|")

_API_RX = r"^api/docker/(?P<key>[^/]+)/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$"
_V2_RX = r"^v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$"
_FILE_RX = r"^(?P<repo>[^/]+/.+)/(?P<ref>[^/]+)/(?:list\.)?manifest\.json$"


def sniff(path: str, head: bytes) -> bool:
    """Recognize a request log by its first line and a ``GET``/``HEAD`` near the top.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True when the first line has the Artifactory 7 or 6 pipe layout and one of the first
        lines is a ``GET`` or ``HEAD`` request.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    lines = [ln.rstrip(b"\r") for ln in text.split(b"\n", _SNIFF_LINES)[:_SNIFF_LINES]]
    if not any(rx.match(lines[0]) for rx in _SNIFF_FIRST):
        return False
    return any(_SNIFF_METHOD.search(line) for line in lines)


def _iso_interval(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``[lo, hi]`` in UTC µs for an ISO time known to its last written fractional digit."""
    fixed = text.str.replace(",", ".", literal=True).str.replace(r"Z$", "+00:00")
    ns = fixed.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", time_unit="ns", strict=False)
    ns = ns.dt.epoch("ns")
    digits = text.str.extract(r"[.,](\d+)", 1).str.len_chars().fill_null(0).clip(0, 9)
    step = pl.lit(10, dtype=pl.Int64).pow(9 - digits)
    last = ns + step - 1
    hi = pl.when(step < 1000).then((last + 999) // 1000).otherwise(last // 1000)
    return utc(ns // 1000), utc(hi)


def _requests(frame: pl.DataFrame) -> pl.DataFrame:
    """Every line's request fields and time (``ok`` false for lines not understood)."""
    df = frame.with_columns(
        pl.col("line").str.strip_chars_end("\r").str.extract_groups(_V7_RX).alias("_7"),
        pl.col("line").str.strip_chars_end("\r").str.extract_groups(_V6_RX).alias("_6"),
    ).unnest("_7", "_6")
    lo7, hi7 = _iso_interval(pl.col("ts7"))
    lo6 = pl.col("ts6").str.to_datetime("%Y%m%d%H%M%S", time_unit="us", strict=False)
    lo6 = lo6.dt.replace_time_zone("UTC")
    is7 = pl.col("ts7").is_not_null()
    url = pl.coalesce("url7", "url6").str.replace(r"[?#].*$", "")
    url = url.str.replace(r"^/+", "").str.replace(r"^artifactory/", "")
    return df.select(
        "file",
        "line_no",
        pl.coalesce("method7", "method6").alias("method"),
        url.alias("url"),
        pl.coalesce("status7", "status6").cast(pl.Int64, strict=False).alias("status"),
        pl.coalesce("ip7", "ip6").alias("client"),
        pl.when(is7).then(lo7).otherwise(lo6).alias("ts_lo"),
        pl.when(is7).then(hi7).otherwise(lo6 + pl.duration(microseconds=999_999)).alias("ts_hi"),
        "host",
        "registry",
    ).with_columns(pl.col("ts_lo").is_not_null().alias("ok"))


def _uses(req: pl.DataFrame) -> pl.DataFrame:
    api = pl.col("url").str.extract_groups(_API_RX)
    v2 = pl.col("url").str.extract_groups(_V2_RX)
    stored = pl.col("url").str.extract_groups(_FILE_RX)
    df = req.with_columns(
        pl.coalesce(
            api.struct.field("key") + "/" + api.struct.field("repo"),
            v2.struct.field("repo"),
            stored.struct.field("repo"),
        ).alias("m_repo"),
        pl.coalesce(api.struct.field("ref"), v2.struct.field("ref"), stored.struct.field("ref"))
        .str.replace(r"^(?i:sha256__)", "sha256:")
        .alias("m_ref"),
    )
    return served_uses(df, NAME)


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse a batch of Artifactory request logs.

    Args:
        items: the files; ``context["host"]``/``context["registry"]`` name the cache.

    Returns:
        Image uses (manifests served or checked), evidence lines and coverage.
    """
    return parse_cache_log(
        items, _requests, _uses, "not an Artifactory request log line (7 or 6 pipe layout)"
    )

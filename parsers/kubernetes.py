"""Kubernetes events and pod status saved with ``kubectl get events|pods -o json``.

Both are one JSON document ``{"apiVersion": "v1", "kind": "List", "items": [...]}`` (also
``EventList``/``PodList`` from the API, and ``events.k8s.io/v1`` events). kubectl sorts keys,
so ``"kind": "List"`` comes last; the items carry the fields read here
(https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/,
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus).

- Events (kubelet): ``Pulling image "ref"`` (``pulling image`` in old kubelets),
  ``Successfully pulled image "ref" in 9.2s …``, ``Container image "ref" already present on
  machine`` (a cached use) and ``Failed to pull image "ref": …``. The node is ``source.host``
  (else ``reportingInstance``). Times are ``firstTimestamp``/``lastTimestamp`` to the second
  (an event seen ``count`` times spans both) or ``eventTime`` (µs). Events carry no digest
  and expire after one hour by default.
- Pods: each ``status.containerStatuses[]``/``initContainerStatuses[]`` with an ``imageID``
  (``docker-pullable://repo@sha256:…`` or ``docker.io/library/nginx@sha256:…``, the repo
  digest) is a use on ``spec.nodeName`` at the container's ``startedAt``.

Output: ``image_uses`` with ``actor_kind`` "host" (the node) and ``step`` ``namespace/pod``.
A Pulling and a Pulled of the same reference in the same pod are one use; a Pulling whose
pull failed is none. Lines cited: the item's ``"message"`` (events) or ``"imageID"`` (pods).
"""

import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from forensics.lines import LineFrame, lines_from_bytes
from forensics.parsers import _json
from forensics.parsers._base import Item, ParseResult, Source, decode_errors, evidence_rows
from forensics.reference import with_normalized
from forensics.schema import TS

NAME = "kubernetes"
DESCRIPTION = "kubectl get events -o json / kubectl get pods -o json (v1 List)"

_SNIFF_LIST_RX = re.compile(
    rb'"kind"\s*:\s*"(?:List|EventList|PodList)"|"items"\s*:\s*\[\s*\{\s*"apiVersion"'
)
_SNIFF_ITEM_RX = re.compile(rb'"(?:involvedObject|regarding|containerStatuses)"\s*:\s*[{\[]')

# message := ["spec.containers{name}: "] verb ' image "' ref '"' ...
_PREFIX = r"^(?:\S+: )?"
_PULLING_RX = _PREFIX + r'(?i:pulling image) "([^"]+)"'
_PULLED_RX = _PREFIX + r'(?i:successfully pulled image) "([^"]+)"'
_PRESENT_RX = _PREFIX + r'Container image "([^"]+)" already present on machine'
_FAILED_RX = _PREFIX + r'(?i:failed to pull image) "([^"]+)"'
_KINDS = (
    ("pulling", _PULLING_RX),
    ("pulled", _PULLED_RX),
    ("present", _PRESENT_RX),
    ("failed", _FAILED_RX),
)

NOT_A_LIST = "JSON document without an 'items' list"
NOT_AN_ITEM = "list item is neither an event nor a pod"
NOT_AN_IMAGE_EVENT = "image event message not understood"

_EVENTS = pl.Schema(
    {
        "file": pl.String(), "start": pl.Int64(), "reason": pl.String(),
        "message": pl.String(), "step": pl.String(), "host": pl.String(),
        "first": pl.String(), "last": pl.String(), "event_time": pl.String(),
        "series_last": pl.String(),
    }
)  # fmt: skip
_STATUSES = pl.Schema(
    {
        "file": pl.String(), "start": pl.Int64(), "step": pl.String(), "host": pl.String(),
        "ref": pl.String(), "image_id": pl.String(), "started": pl.String(),
    }
)  # fmt: skip


def sniff(path: str, head: bytes) -> bool:
    """Recognize a kubectl list of events or pods.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True for a JSON object that is a Kubernetes list holding events or pod statuses.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return (
        text[:1] == b"{" and bool(_SNIFF_LIST_RX.search(text)) and bool(_SNIFF_ITEM_RX.search(text))
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _step(meta: dict[str, Any]) -> str | None:
    name = _str(meta.get("name"))
    return f"{_str(meta.get('namespace')) or ''}/{name}" if name else None


def _is_event(item: dict[str, Any]) -> bool:
    return item.get("kind") == "Event" or "involvedObject" in item or "regarding" in item


def _is_pod(item: dict[str, Any]) -> bool:
    return item.get("kind") == "Pod" or isinstance(item.get("status"), dict)


def _event(item: dict[str, Any], file: str, start: int, host: str | None) -> dict[str, Any]:
    source = _obj(item.get("source")) or _obj(item.get("deprecatedSource"))
    message = item.get("message") if "message" in item else item.get("note")
    return {
        "file": file,
        "start": start,
        "reason": _str(item.get("reason")),
        "message": _str(message),
        "step": _step(_obj(item.get("involvedObject") or item.get("regarding"))),
        "host": _str(source.get("host")) or _str(item.get("reportingInstance")) or host,
        "first": _str(item.get("firstTimestamp") or item.get("deprecatedFirstTimestamp")),
        "last": _str(item.get("lastTimestamp") or item.get("deprecatedLastTimestamp")),
        "event_time": _str(item.get("eventTime")),
        "series_last": _str(_obj(item.get("series")).get("lastObservedTime")),
    }


def _started(status: dict[str, Any]) -> str | None:
    state = _obj(status.get("state"))
    running, terminated = _obj(state.get("running")), _obj(state.get("terminated"))
    return _str(running.get("startedAt")) or _str(terminated.get("startedAt"))


def _statuses(item: dict[str, Any], file: str, start: int, host: str | None) -> list[Any]:
    status = _obj(item.get("status"))
    node = _str(_obj(item.get("spec")).get("nodeName")) or host
    step = _step(_obj(item.get("metadata")))
    listed = [
        s
        for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses")
        if isinstance(status.get(key), list)
        for s in status[key]
    ]
    return [
        {
            "file": file,
            "start": start,
            "step": step,
            "host": node,
            "ref": _str(s.get("image")),
            "image_id": _str(s.get("imageID")),
            "started": _started(s),
        }  # fmt: skip
        for s in listed
        if isinstance(s, dict) and _str(s.get("imageID"))
    ]


def _cite_messages(events: pl.DataFrame, lines: LineFrame, starts: list[int]) -> pl.DataFrame:
    """Point each pretty-printed event at its ``"message"`` (or ``"note"``) line."""
    found = lines.frame.filter(pl.col("line").str.contains(r'^\s*"(?:message|note)"\s*:')).select(
        pl.col("line_no").cast(pl.Int64).alias("at")
    )
    bounds = _bounds(starts)
    cited = bounds.join_asof(found, left_on="start", right_on="at", strategy="forward")
    inside = pl.col("next").is_null() | (pl.col("at") < pl.col("next"))
    cited = cited.select("start", pl.when(inside).then(pl.col("at")).alias("at"))
    return events.join(cited, on="start", how="left").with_columns(
        pl.coalesce("at", "start").alias("line")
    )


def _cite_image_ids(rows: pl.DataFrame, lines: LineFrame, starts: list[int]) -> pl.DataFrame:
    """Point each container status at its own ``"imageID"`` line (matched by value, in order)."""
    value = pl.col("line").str.extract(r'^\s*"imageID"\s*:\s*"([^"\\]*)",?\s*$', 1)
    found = (
        lines.frame.select(pl.col("line_no").cast(pl.Int64).alias("at"), value.alias("image_id"))
        .drop_nulls()
        .join_asof(_bounds(starts).select("start"), left_on="at", right_on="start")
        .with_columns(pl.col("at").cum_count().over("start", "image_id").alias("k"))
    )
    keyed = rows.with_columns(pl.col("start").cum_count().over("start", "image_id").alias("k"))
    return keyed.join(
        found, on=["start", "image_id", "k"], how="left", maintain_order="left"
    ).with_columns(pl.coalesce("at", "start").alias("line"))


def _bounds(starts: list[int]) -> pl.DataFrame:
    frame = pl.DataFrame({"start": starts}, schema={"start": pl.Int64}).unique().sort("start")
    return frame.with_columns(pl.col("start").shift(-1).alias("next"))


_LINES = pl.Schema({"file": pl.String(), "line_no": pl.UInt32(), "line": pl.String()})


def _read(src: Source, data: bytes, result: ParseResult) -> tuple[pl.DataFrame, ...]:
    """Events, container statuses (with cited ``line``) and numbered lines of one file."""
    lines = lines_from_bytes(data)
    stats = result.stats(src.path)
    stats.lines = lines.frame.height
    stats.errors.extend(decode_errors(lines))
    numbered = lines.frame.select(pl.lit(src.path).alias("file"), "line_no", "line")
    empty = (
        pl.DataFrame(schema=_EVENTS).with_columns(line=pl.col("start")),
        pl.DataFrame(schema=_STATUSES).with_columns(line=pl.col("start")),
        numbered,
    )
    doc, error = _json.load_document(data.decode("utf-8", errors="replace").lstrip("\ufeff"))
    items = _obj(doc).get("items")
    if error is not None or not isinstance(items, list):
        stats.errors.append(error or (1, NOT_A_LIST))
        stats.unparsed = stats.lines
        return empty
    starts = _json.entry_lines(lines, len(items), 2)
    host = src.context.get("host")
    pairs = list(zip(items, starts, strict=True))
    events = [
        _event(i, src.path, n, host) for i, n in pairs if isinstance(i, dict) and _is_event(i)
    ]
    statuses = [
        row
        for i, n in pairs
        if isinstance(i, dict) and not _is_event(i) and _is_pod(i)
        for row in _statuses(i, src.path, n, host)
    ]
    bad = [n for i, n in pairs if not isinstance(i, dict) or not (_is_event(i) or _is_pod(i))]
    stats.unparsed += len(bad)
    stats.errors.extend((n, NOT_AN_ITEM) for n in bad)
    ev = pl.DataFrame(events, schema=_EVENTS)
    st = pl.DataFrame(statuses, schema=_STATUSES)
    if len(set(starts)) != len(starts):  # not one item per line block: cite the item start
        return (
            ev.with_columns(line=pl.col("start")),
            st.with_columns(line=pl.col("start")),
            numbered,
        )
    cited = _cite_messages(ev, lines, starts), _cite_image_ids(st, lines, starts)
    return (
        cited[0].select(*_EVENTS.names(), "line"),
        cited[1].select(*_STATUSES.names(), "line"),
        numbered,
    )


def _event_uses(ev: pl.DataFrame, result: ParseResult) -> pl.DataFrame:
    """Image uses told by kubelet events: pulls (Pulling + Pulled merged) and cached uses."""
    msg = pl.col("message").fill_null("")
    kind = pl.lit(None, pl.String)
    for name, rx in reversed(_KINDS):
        kind = pl.when(msg.str.contains(rx)).then(pl.lit(name)).otherwise(kind)
    ref = pl.coalesce(*(msg.str.extract(rx, 1) for _, rx in _KINDS))
    f_lo, f_hi = _json.utc_seconds(pl.col("first"))
    l_lo, l_hi = _json.utc_seconds(pl.col("last"))
    e_lo, e_hi = _json.utc_seconds(pl.col("event_time"))
    _, s_hi = _json.utc_seconds(pl.col("series_last"))
    ev = ev.with_columns(
        kind.alias("kind"),
        ref.alias("ref"),
        pl.coalesce(f_lo, e_lo, l_lo).alias("ts_lo"),
        pl.coalesce(l_hi, s_hi, e_hi, f_hi).alias("ts_hi"),
    )
    odd = ev.filter(pl.col("reason").is_in(["Pulling", "Pulled"]) & pl.col("kind").is_null())
    for (path,), rows in odd.group_by("file", maintain_order=True):
        stats = result.stats(str(path))
        stats.unparsed += rows.height
        stats.errors.extend((int(n), NOT_AN_IMAGE_EVENT) for n in rows["line"])
    key = pl.concat_str(
        [pl.col(c).fill_null("") for c in ("file", "host", "step", "ref")], separator="\x00"
    )
    epoch = pl.lit(0).cast(TS)
    ev = ev.filter(pl.col("kind").is_not_null()).with_columns(
        key.alias("key"), pl.coalesce("ts_lo", epoch).alias("t")
    )
    pulling = ev.filter(pl.col("kind") == "pulling")
    ends = (
        ev.filter(pl.col("kind").is_in(["pulled", "failed"]))
        .sort("t")
        .join_asof(
            pulling.select("key", "t", p_line=pl.col("line"), p_lo=pl.col("ts_lo")).sort("t"),
            on="t", by="key", strategy="backward", check_sortedness=False,
        )
    )  # fmt: skip
    consumed = ends.select("key", pl.col("p_line").alias("line")).drop_nulls()
    lone = pulling.join(consumed, on=["key", "line"], how="anti")
    pulled = ends.filter(pl.col("kind") == "pulled").with_columns(
        pl.coalesce("p_lo", "ts_lo").alias("ts_lo"),
        pl.concat_list("p_line", "line")
        .list.drop_nulls()
        .list.unique()
        .list.sort()
        .alias("evidence_lines"),
    )
    both = pl.concat(
        [
            pulled.with_columns(pl.lit("pull").alias("action"), pl.lit(False).alias("cached")),
            lone.with_columns(
                pl.lit("pull").alias("action"),
                pl.lit(False).alias("cached"),
                pl.concat_list("line").alias("evidence_lines"),
            ),
            ev.filter(pl.col("kind") == "present").with_columns(
                pl.lit("already-present").alias("action"),
                pl.lit(True).alias("cached"),
                pl.concat_list("line").alias("evidence_lines"),
            ),
        ],
        how="diagonal_relaxed",
    )
    named = with_normalized(both, "ref", ("image", "tag", "digest"))
    return named.with_columns(
        pl.col("evidence_lines").list.first().alias("line"),
        pl.when(pl.col("digest").is_not_null()).then(pl.lit("index")).alias("digest_kind"),
    )


def _pod_uses(st: pl.DataFrame) -> pl.DataFrame:
    """A container that a pod's status shows with an ``imageID`` used that image digest."""
    named = with_normalized(st, "ref", ("image", "tag", "ref_digest"))
    named = with_normalized(named, "image_id", ("id_image", "_id_tag", "id_digest"))
    by_id = pl.col("id_digest").is_not_null()
    kind = pl.when(by_id & pl.col("image_id").str.contains("@", literal=True)).then(pl.lit("index"))
    lo, hi = _json.utc_seconds(pl.col("started"))
    return named.with_columns(
        pl.coalesce("image", "id_image").alias("image"),
        pl.coalesce("id_digest", "ref_digest").alias("digest"),
        kind.when(by_id).then(pl.lit("config"))
        .when(pl.col("ref_digest").is_not_null()).then(pl.lit("index"))
        .alias("digest_kind"),
        pl.lit("pod-container").alias("action"),
        pl.lit(False).alias("cached"),
        lo.alias("ts_lo"),
        hi.alias("ts_hi"),
        pl.concat_list("line").alias("evidence_lines"),
    )  # fmt: skip


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse saved ``kubectl get events|pods -o json`` lists (each file one JSON document).

    Args:
        items: the files; ``context["host"]`` is only a fallback for the node.

    Returns:
        Image uses (one per pull, cached start or container status), evidence lines and
        coverage.
    """
    result = ParseResult()
    read = [_read(src, data, result) for src, data in items]
    if not read:
        return result
    events, statuses, numbered = (pl.concat([r[k] for r in read]) for k in range(3))
    both = pl.concat([_event_uses(events, result), _pod_uses(statuses)], how="diagonal_relaxed")
    uses = both.select(
        pl.lit(NAME).alias("format"),
        pl.lit("host").alias("actor_kind"),
        pl.lit(None, pl.String).alias("job_key"),
        "host", "action", "ref", "image", "tag", "digest", "digest_kind", "cached", "step",
        "ts_lo", "ts_hi", "file", "line", "evidence_lines",
    ).filter(pl.col("image").is_not_null() | pl.col("digest").is_not_null())  # fmt: skip
    uses = uses.sort("file", "line", maintain_order=True)
    result.add("image_uses", uses)
    cited = uses.select("file", pl.col("evidence_lines").alias("line")).explode("line")
    result.add("evidence", evidence_rows(numbered, cited))
    return result

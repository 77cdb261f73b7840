"""Render the incident report: one self-contained HTML page that opens offline.

Every value that came from a log is attacker-controlled. The page is rendered by Jinja2 with
autoescape on and ``StrictUndefined``; values only land in text or in quoted attributes, never
in a ``<script>``, a ``<style>`` or a URL. The output is deterministic: lists whose order is not
given are sorted here, and no clock or random id is used.
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypedDict

from jinja2 import Environment, PackageLoader, StrictUndefined

VERDICTS = ("confirmed", "likely", "possible", "cleared")  # most severe first; others: no verdict

_PLOT_X0, _PLOT_X1, _UNK_W = 200.0, 985.0, 90.0  # timeline x: labels | plot | time unknown
_AXIS_H, _LANE_H, _GROUP_H, _LEGEND_H = 40.0, 18.0, 16.0, 34.0
_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


class Window(TypedDict):
    """The exposure window; ``end`` is None while it is open-ended."""

    start: str
    end: str | None


class AdvisoryInfo(TypedDict):
    """The advisory as shown in the report.

    ``images``: ``[{"name", "tags", "digests": [{"digest", "kind", "malicious", "platform"}]}]``.
    """

    id: str
    title: str
    references: list[str]
    path: str
    sha256: str
    window: Window
    images: list[dict[str, Any]]


class UseMark(TypedDict):
    """One use of an advisory image; ``verdict`` None means counted only, no verdict."""

    lane: str
    lane_kind: str
    group: str
    verdict: str | None
    image: str
    tag: str | None
    digest: str | None
    ts_lo: str | None
    ts_hi: str | None
    file: str
    line: int
    reason: str
    action: str


class TagPush(TypedDict):
    """A tag push of an advisory image seen in a registry or audit log."""

    image: str
    tag: str
    digest: str | None
    action: str
    actor: str | None
    ts: str | None
    malicious: bool
    file: str
    line: int


class EvidenceLine(TypedDict):
    """One log line quoted as evidence, already trimmed and redacted by the caller."""

    file: str
    line: int
    text: str


class FileEntry(TypedDict):
    """One input file; ``format`` is None when no parser recognized it."""

    path: str
    size: int
    sha256: str
    format: str | None
    status: str
    lines: int
    unparsed_lines: int


class ReportData(TypedDict):
    """Everything the report shows; ``findings`` is exactly the content of findings.json."""

    tool: dict[str, str]
    generated_at: str | None
    advisory: AdvisoryInfo
    findings: dict[str, Any]
    uses: list[UseMark]
    tag_pushes: list[TagPush]
    evidence: list[EvidenceLine]
    files: list[FileEntry]


@dataclass(frozen=True)
class _Axis:
    """Maps epoch seconds [t0, t1] onto x pixels [x0, x1]."""

    t0: float
    t1: float
    x0: float
    x1: float
    unknown_x: float

    def x(self, t: float) -> float:
        """Return the x coordinate of time ``t``."""
        return self.x0 + (t - self.t0) / (self.t1 - self.t0) * (self.x1 - self.x0)


def render_report(data: ReportData) -> str:
    """Render the report as one self-contained HTML document.

    Args:
        data: the report data; see ``ReportData``.

    Returns:
        The HTML text. The same data always gives the same bytes.

    Raises:
        jinja2.UndefinedError: a key required by the data contract is missing.
    """
    index = evidence_index(data)
    findings = data["findings"]
    template = _environment().get_template("report.html")
    return template.render(
        data=data,
        ev=index,
        timeline=_timeline(data, index),
        jobs=sorted(findings["jobs"], key=_job_key),
        hosts=sorted(findings["hosts"], key=lambda h: (_rank(h["verdict"]), h["host"])),
        rotate=_rotate_groups(findings["secrets"]),
        evidence=_evidence_rows(data, index),
        errors=sorted(findings["coverage"]["errors"], key=_error_key),
        files=sorted(data["files"], key=lambda f: f["path"]),
        verdicts=VERDICTS,
    )


def evidence_index(data: ReportData) -> dict[tuple[str, int], str]:
    """Give every quoted or referenced log line a stable anchor id.

    The ids are ``ev-<n>``, numbered from 1 in sorted ``(file, line)`` order over the evidence
    lines plus every line that a use, job or host refers to, so that every link has a target.

    Args:
        data: the report data.

    Returns:
        A mapping ``(file, line) -> "ev-<n>"``, built once and used for every link.
    """
    refs = {(e["file"], e["line"]) for e in data["evidence"]}
    refs |= {(u["file"], u["line"]) for u in data["uses"]}
    for item in [*data["findings"]["jobs"], *data["findings"]["hosts"]]:
        refs |= {(e["file"], e["line"]) for e in item["evidence"]}
    return {ref: f"ev-{n}" for n, ref in enumerate(sorted(refs), start=1)}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("forensics.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    env.filters.update(ts=format_ts, digest12=_digest12, vclass=_verdict, ref=_image_ref)
    env.filters.update(num="{:,}".format, perms=_perms, plural=_plural)
    return env


def format_ts(value: str | None) -> str:
    """Format an ISO 8601 timestamp as ``YYYY-MM-DD HH:MM:SS[.ffffff]Z`` in UTC.

    Args:
        value: the timestamp, or None.

    Returns:
        The formatted time; "unknown" for None; the raw text if it does not parse.
    """
    dt = _parse_ts(value)
    if dt is None:
        return "unknown" if value is None else value
    frac = f".{dt.microsecond:06d}" if dt.microsecond else ""
    return dt.strftime("%Y-%m-%d %H:%M:%S") + frac + "Z"


def _parse_ts(value: str | None) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return None if dt is None else (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _epoch(value: str | None) -> float | None:
    dt = _parse_ts(value)
    return None if dt is None else dt.timestamp()


def _digest12(digest: str | None) -> str:
    return "—" if not digest else digest.partition(":")[2][:12] or digest[:12]


def _verdict(value: str | None) -> str:
    return value if value in VERDICTS else "none"


def _rank(value: str | None) -> int:
    return VERDICTS.index(value) if value in VERDICTS else len(VERDICTS)


def _image_ref(image: str, tag: str | None) -> str:
    return f"{image}:{tag}" if tag else image


def _perms(perms: dict[str, str]) -> str:
    return ", ".join(f"{scope}: {access}" for scope, access in sorted(perms.items()))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _natural(text: str) -> tuple[tuple[int, str], ...]:
    parts = re.split(r"([0-9]+)", text)
    return tuple((int(p) if i % 2 else 0, p) for i, p in enumerate(parts))


def _job_key(job: dict[str, Any]) -> tuple[Any, ...]:
    return (_rank(job["verdict"]), job["ci"], job["project"], _natural(str(job["run"])), job["job"])


def _push_key(push: TagPush) -> tuple[Any, ...]:
    t = _epoch(push["ts"])
    return (t is None, t or 0.0, push["image"], push["tag"], push["file"], push["line"])


def _error_key(err: dict[str, Any]) -> tuple[Any, ...]:
    return (err["file"], err["line"] is not None, err["line"] or 0, err["reason"])


def _rotate_groups(secrets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for secret in sorted(secrets, key=lambda s: (s["ci"], s["project"], s["name"])):
        groups.setdefault((secret["ci"], secret["project"]), []).append(secret)
    out = []
    for (ci, project), rows in groups.items():
        cols = sorted({job for s in rows for job in s["jobs"]}, key=_natural)
        heads = [(c, c.removeprefix(project + "/")) for c in cols]
        cells = [{**s, "held": [c in s["jobs"] for c in cols]} for s in rows]
        out.append({"ci": ci, "project": project, "columns": heads, "rows": cells})
    return out


def _evidence_rows(data: ReportData, index: dict[tuple[str, int], str]) -> list[dict[str, Any]]:
    texts = {(e["file"], e["line"]): e["text"] for e in data["evidence"]}
    return [
        {"id": anchor, "file": ref[0], "line": ref[1], "text": texts.get(ref)}
        for ref, anchor in sorted(index.items())
    ]


def _span(data: ReportData) -> tuple[float, float]:
    window = data["advisory"]["window"]
    times = [_epoch(window["start"]), _epoch(window["end"])]
    times += [_epoch(u["ts_lo"]) for u in data["uses"]] + [_epoch(u["ts_hi"]) for u in data["uses"]]
    # Tag pushes do not stretch the axis: a clean push weeks earlier would squeeze the window.
    known = [t for t in times if t is not None] or [0.0]
    lo, hi = min(known), max(known)
    if hi - lo < 60:
        lo, hi = lo - 1800, hi + 1800
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _ticks(axis: _Axis) -> list[dict[str, str]]:
    span = axis.t1 - axis.t0
    step = next((s for s in _STEPS if span / s <= 10), 86400 * math.ceil(span / 864000))
    t = math.ceil(axis.t0 / step) * step
    ticks = []
    while t <= axis.t1:
        label = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")
        ticks.append({"x": f"{axis.x(t):.1f}", "date": label[:10], "time": label[11:]})
        t += step
    return ticks


def _lane_key(key: tuple[str, str, str]) -> tuple[Any, ...]:
    kind, group, lane = key
    run, _, job = (lane.removeprefix(group + "/") if kind == "job" else lane).partition("/")
    return (kind != "job", group if kind == "job" else "", _natural(run), job, group, lane)


def _lanes(uses: list[UseMark], top: float) -> tuple[list[dict[str, Any]], dict[Any, float], float]:
    keys = sorted({(u["lane_kind"], u["group"], u["lane"]) for u in uses}, key=_lane_key)
    rows: list[dict[str, Any]] = []
    ys: dict[Any, float] = {}
    y, group = top, None
    for n, (kind, grp, lane) in enumerate(keys):
        if (kind == "job", grp) != group:
            group = (kind == "job", grp)
            rows.append({"group": True, "y": f"{y + 12:.1f}", "label": grp})
            y += _GROUP_H
        ys[(kind, grp, lane)] = y + _LANE_H / 2
        label = lane.removeprefix(grp + "/") if kind == "job" else lane
        short = label if len(label) <= 30 else label[:29] + "…"
        row = {"group": False, "top": f"{y:.1f}", "y": f"{y + 13:.1f}", "odd": n % 2}
        rows.append({**row, "label": short, "full": lane})
        y += _LANE_H
    return rows, ys, y


def _shape(verdict: str, x: float, y: float) -> str:
    if verdict == "confirmed":
        return f"M{x:.1f},{y - 6:.1f}l6,6l-6,6l-6,-6Z"
    if verdict in ("likely", "possible"):
        return f"M{x - 4.5:.1f},{y:.1f}a4.5,4.5 0 1,0 9,0a4.5,4.5 0 1,0 -9,0Z"
    if verdict == "cleared":
        return f"M{x - 3.5:.1f},{y - 3.5:.1f}h7v7h-7Z"
    return f"M{x:.1f},{y - 4:.1f}v8"


def _when(lo: str | None, hi: str | None) -> str:
    if not lo:
        return "time unknown"
    return format_ts(lo) + (f" – {format_ts(hi)}" if hi and hi != lo else "")


def _mark(use: UseMark, axis: _Axis, y: float, href: str) -> dict[str, Any]:
    verdict = _verdict(use["verdict"])
    lo, hi = _epoch(use["ts_lo"]), _epoch(use["ts_hi"])
    x = axis.unknown_x if lo is None else axis.x(lo)
    bar = None
    if lo is not None and hi is not None and abs(axis.x(hi) - x) > 1:
        bar = f"M{min(x, axis.x(hi)):.1f},{y:.1f}H{max(x, axis.x(hi)):.1f}"
    title = [f"{use['verdict'] or 'no verdict'}: {use['action']}"]
    title += [_image_ref(use["image"], use["tag"]), use["digest"] or "digest unknown"]
    title += [_when(use["ts_lo"], use["ts_hi"]), f"{use['file']}:{use['line']}"]
    mark = {"href": "#" + href, "title": "\n".join(title), "cls": verdict, "bar": bar}
    return {**mark, "d": _shape(verdict, x, y)}


def _push_mark(push: TagPush, axis: _Axis) -> dict[str, Any]:
    t = _epoch(push["ts"])
    x = axis.unknown_x if t is None else axis.x(t)
    title = [f"{push['action']}: {push['image']}:{push['tag']} → {push['digest'] or 'unknown'}"]
    title += [_when(push["ts"], None), f"by {push['actor'] or 'unknown actor'}"]
    title += [f"{push['file']}:{push['line']}"]
    cls = "bad" if push["malicious"] else "ok"
    return {"d": f"M{x - 4:.1f},{_AXIS_H + 4:.1f}h8l-4,8Z", "title": "\n".join(title), "cls": cls}


def _on_axis(ts: str | None, axis: _Axis) -> bool:
    t = _epoch(ts)
    return t is None or axis.t0 <= t <= axis.t1


def _use_key(use: UseMark) -> tuple[Any, ...]:
    fields = (use["ts_lo"], use["ts_hi"], use["image"], use["tag"], use["digest"], use["action"])
    return (use["file"], use["line"], *(f or "" for f in fields), use["verdict"] or "")


def _timeline(data: ReportData, index: dict[tuple[str, int], str]) -> dict[str, Any]:
    uses, pushes = data["uses"], data["tag_pushes"]
    unknown = any(_epoch(u["ts_lo"]) is None for u in uses)
    unknown = unknown or any(_epoch(p["ts"]) is None for p in pushes)
    x1 = _PLOT_X1 - _UNK_W - 10 if unknown else _PLOT_X1
    axis = _Axis(*_span(data), _PLOT_X0, x1, _PLOT_X1 - _UNK_W / 2)
    rows, ys, bottom = _lanes(uses, _AXIS_H + _LANE_H * (1 if uses else 2))
    placed = [(ys[(u["lane_kind"], u["group"], u["lane"])], u) for u in uses]
    placed.sort(key=lambda p: (p[0], _use_key(p[1])))
    window = data["advisory"]["window"]
    start, end = _epoch(window["start"]), _epoch(window["end"])
    wx0 = axis.x0 if start is None else axis.x(start)
    wx1 = x1 if end is None else axis.x(end)
    return {
        "height": f"{bottom + _LEGEND_H:.0f}",
        "bottom": f"{bottom:.1f}",
        "legend_y": f"{bottom + 20:.1f}",
        "ticks": _ticks(axis),
        "window": {"x": f"{wx0:.1f}", "w": f"{max(wx1 - wx0, 1):.1f}"},
        "unknown": {"x": f"{x1 + 10:.1f}", "cx": f"{axis.unknown_x:.1f}"} if unknown else None,
        "pushes": [
            _push_mark(p, axis) for p in sorted(pushes, key=_push_key) if _on_axis(p["ts"], axis)
        ],
        "rows": rows,
        "marks": [_mark(u, axis, y, index[(u["file"], u["line"])]) for y, u in placed],
    }

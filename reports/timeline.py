"""Lay out the timeline: lanes, one mark per use, tag pushes, and per-group collapse at scale.

Up to ``MAX_LANES`` lanes are drawn in one SVG, grouped by project (hosts last). Above that the
overview SVG draws one summary lane per group (marks binned by time, shaped by the strongest
verdict in the bin, counts in the label) and each group's lanes go into their own SVG inside a
``<details>`` block, so the page stays legible and light to lay out, with or without JavaScript.

Marks are drawn around the origin and placed with ``transform="translate(x y)"``, so that the
page's zoom (which only moves x positions) never distorts their shapes.
"""

from collections import defaultdict
from typing import Any

from forensics.reports.axis import Axis, make_axis, ticks, window_x, zoom_axis
from forensics.reports.fmt import (
    SYMBOLS,
    VERDICTS,
    brief_when,
    epoch,
    image_ref,
    natural,
    plural,
    rank,
    verdict_class,
    verdict_counts,
    when,
)
from forensics.reports.fmt import digest12 as short_digest
from forensics.reports.model import Ref, ReportData, TagPush, UseMark

MAX_LANES = 150
AXIS_H, LANE_H, GROUP_H, SUMMARY_H, LEGEND_H = 40.0, 18.0, 16.0, 30.0, 34.0
PUSH_LANE_H = 18.0
BIN = 8.0  # summary lanes bin marks into columns this wide
LABEL_CHARS = 30
SHAPES = {
    "confirmed": "M0,-6l6,6l-6,6l-6,-6Z",
    "likely": "M-4.5,0a4.5,4.5 0 1,0 9,0a4.5,4.5 0 1,0 -9,0Z",
    "possible": "M-4.5,0a4.5,4.5 0 1,0 9,0a4.5,4.5 0 1,0 -9,0Z",
    "cleared": "M-3.5,-3.5h7v7h-7Z",
    "none": "M0,-4v8",
}
PUSH_SHAPE = "M-4,-4h8l-4,8Z"
LaneKey = tuple[str, str, str]  # (lane_kind, group, lane)


def build_timeline(data: ReportData, index: dict[Ref, str]) -> dict[str, Any]:
    """Lay out every timeline SVG of the report.

    Args:
        data: the report data.
        index: evidence anchors, ``(file, line) -> "ev-<n>"``.

    Returns:
        ``{"grouped", "overview", "groups", "zoom", "plot", "shapes", "ticks", ...}``:
        ``overview`` and each group's ``svg`` are SVG layouts for the template; ``zoom`` and
        ``plot`` are the x ranges (in full-view units) of the exposure-window view and of the
        plot, for the page's script; ``ticks`` and ``zoom_ticks`` label the two views.
    """
    axis = make_axis(data)
    zoomed = zoom_axis(data, axis)
    base = _frame(data, axis)
    lanes = _lane_keys(data["uses"])
    by_lane: dict[LaneKey, list[UseMark]] = defaultdict(list)
    for use in data["uses"]:
        by_lane[(use["lane_kind"], use["group"], use["lane"])].append(use)
    pushes = [_push(p, axis, index) for p in sorted(data["tag_pushes"], key=_push_key)]
    top = AXIS_H + PUSH_LANE_H
    groups: list[dict[str, Any]] = []
    if len(lanes) <= MAX_LANES:
        rows, marks, bottom = _lanes(lanes, by_lane, axis, index, top, headers=True)
        aggs: list[dict[str, Any]] = []
    else:
        groups = _groups(lanes, by_lane, axis, index, base)
        rows, aggs, bottom = _summary_lanes(groups, axis, zoomed, top)
        marks = []
    bottom = max(bottom, top + LANE_H)
    overview = {**base, **_heights(bottom, LEGEND_H), "rows": rows, "marks": marks}
    overview |= {"pushes": pushes, "aggs": aggs, "legend": f"{bottom + 20:.1f}"}
    return {
        "grouped": bool(groups),
        "overview": overview,
        "groups": groups,
        "zoom": f"{axis.x(zoomed.t0):.2f} {axis.x(zoomed.t1):.2f}",
        "plot": f"{axis.x0:.1f} {axis.x1:.1f}",
        "shapes": SHAPES,
        "ticks": ticks(axis),
        "zoom_ticks": ticks(zoomed),
        "shapes_push": PUSH_SHAPE,
    }


def _frame(data: ReportData, axis: Axis) -> dict[str, Any]:
    """What every timeline SVG draws the same: the window and the time-unknown column."""
    wx0, wx1 = window_x(data, axis)
    unknown = None
    if axis.unknown_x is not None:
        unknown = {"x": f"{axis.x1 + 10:.1f}", "cx": f"{axis.unknown_x:.1f}"}
    return {
        "window": {"x": f"{wx0:.1f}", "w": f"{wx1 - wx0:.1f}"},
        "unknown": unknown,
    }


def _heights(bottom: float, legend: float) -> dict[str, str]:
    return {
        "height": f"{bottom + legend:.0f}",
        "bottom": f"{bottom:.1f}",
        "plot_h": f"{bottom - AXIS_H:.1f}",
    }


def _lane_key(key: LaneKey) -> tuple[Any, ...]:
    kind, group, lane = key
    run, _, job = (lane.removeprefix(group + "/") if kind == "job" else lane).partition("/")
    return (kind != "job", group if kind == "job" else "", natural(run), job, group, lane)


def _lane_keys(uses: list[UseMark]) -> list[LaneKey]:
    return sorted({(u["lane_kind"], u["group"], u["lane"]) for u in uses}, key=_lane_key)


def _group_key(key: LaneKey) -> tuple[bool, str]:
    return (key[0] == "job", key[1])


def _label(key: LaneKey) -> tuple[str, str | None]:
    """A lane's label (its run/job within the project), and its full name if the label is cut."""
    kind, group, lane = key
    label = lane.removeprefix(group + "/") if kind == "job" else lane
    return (label, None) if len(label) <= LABEL_CHARS else (label[: LABEL_CHARS - 1] + "…", lane)


def _use_key(use: UseMark) -> tuple[Any, ...]:
    fields = (use["ts_lo"], use["ts_hi"], use["image"], use["tag"], use["digest"], use["action"])
    return (use["file"], use["line"], *(f or "" for f in fields), use["verdict"] or "")


def _lanes(
    keys: list[LaneKey],
    by_lane: dict[LaneKey, list[UseMark]],
    axis: Axis,
    index: dict[Ref, str],
    top: float,
    headers: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Lay out detailed lanes from ``top``: rows (labels, stripes), marks, and the bottom y."""
    rows: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    y, group = top, None
    for n, key in enumerate(keys):
        if headers and _group_key(key) != group:
            group = _group_key(key)
            rows.append({"group": True, "y": f"{y + 12:.1f}", "label": key[1]})
            y += GROUP_H
        label, full = _label(key)
        row = {"group": False, "top": f"{y:.1f}", "y": f"{y + 13:.1f}", "odd": n % 2, "h": LANE_H}
        rows.append({**row, "label": label, "full": full, "href": None})
        mid = y + LANE_H / 2
        marks += [_mark(u, axis, mid, index) for u in sorted(by_lane[key], key=_use_key)]
        y += LANE_H
    return rows, marks, y


def _mark(use: UseMark, axis: Axis, y: float, index: dict[Ref, str]) -> dict[str, Any]:
    verdict = verdict_class(use["verdict"])
    lo, hi = epoch(use["ts_lo"]), epoch(use["ts_hi"])
    x = axis.at(lo)
    bar = None
    if lo is not None and hi is not None and abs(axis.x(hi) - x) > 1:
        bar = (f"{min(x, axis.x(hi)):.1f}", f"{max(x, axis.x(hi)):.1f}")
    title = f"{use['verdict'] or 'no verdict'}: {use['action']} "
    title += f"{image_ref(use['image'], use['tag'])} @ {short_digest(use['digest'])}\n"
    title += brief_when(use["ts_lo"], use["ts_hi"])
    return {
        "href": "#" + index[(use["file"], use["line"])],
        "title": title,
        "cls": verdict,
        "x": _num(x),
        "y": _num(y),
        "bar": bar,
    }


def _push_key(push: TagPush) -> tuple[Any, ...]:
    t = epoch(push["ts"])
    return (t is None, t or 0.0, push["image"], push["tag"], push["file"], push["line"])


def _push(push: TagPush, axis: Axis, index: dict[Ref, str]) -> dict[str, Any]:
    t = epoch(push["ts"])
    title = [f"{push['action']}: {push['image']}:{push['tag']} → {push['digest'] or 'unknown'}"]
    title += [when(push["ts"], None), f"by {push['actor'] or 'unknown actor'}"]
    title += [f"{push['file']}:{push['line']}"]
    cls = "bad" if push["malicious"] else "ok"
    x = f"{axis.at(t):.1f}"
    href = "#" + index[(push["file"], push["line"])]
    return {"x": x, "y": f"{AXIS_H + 9:.1f}", "title": "\n".join(title), "cls": cls, "href": href}


def _groups(
    lanes: list[LaneKey],
    by_lane: dict[LaneKey, list[UseMark]],
    axis: Axis,
    index: dict[Ref, str],
    base: dict[str, Any],
) -> list[dict[str, Any]]:
    """One detailed SVG per group (project, or all hosts), for a ``<details>`` block each."""
    grouped: dict[tuple[bool, str], list[LaneKey]] = {}
    for key in lanes:
        grouped.setdefault(_group_key(key), []).append(key)
    out = []
    for n, ((is_job, name), keys) in enumerate(grouped.items(), start=1):
        rows, marks, bottom = _lanes(keys, by_lane, axis, index, AXIS_H, headers=False)
        verdicts = [_strongest(by_lane[k]) for k in keys]
        svg = {**base, **_heights(bottom, 4.0), "rows": rows, "marks": marks, "aggs": []}
        counts = [(v, verdicts.count(v)) for v in (*VERDICTS, None) if v in verdicts]
        kind = "job" if is_job else "host"
        uses = [u for k in keys for u in by_lane[k]]
        out.append({"id": f"tl-g-{n}", "label": name, "kind": kind, "lanes": len(keys),
                    "counts": counts, "uses": uses, "svg": svg})  # fmt: skip
    return out


def _strongest(uses: list[UseMark]) -> str | None:
    return min((u["verdict"] for u in uses), key=rank)


def _summary_lanes(
    groups: list[dict[str, Any]], axis: Axis, zoomed: Axis, top: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """One summary lane per group for the overview: label, counts and binned marks.

    Marks are binned twice, for the whole incident (``view`` "full") and for the exposure
    window view (``view`` "zoom", only uses inside it), so that both views stay readable.
    """
    rows: list[dict[str, Any]] = []
    aggs: list[dict[str, Any]] = []
    y = top
    for n, group in enumerate(groups):
        rows.append(_summary_row(group, y, n % 2))
        mid, href = y + SUMMARY_H / 2, "#" + group["id"]
        aggs += [{**m, "view": "full"} for m in _bins(group["uses"], axis, mid, href)]
        inside = [u for u in group["uses"] if zoomed.t0 <= (epoch(u["ts_lo"]) or -1) <= zoomed.t1]
        aggs += [{**m, "view": "zoom"} for m in _bins(inside, zoomed, mid, href)]
        y += SUMMARY_H
    return rows, aggs, y


def _summary_row(group: dict[str, Any], y: float, odd: int) -> dict[str, Any]:
    counts = " ".join(f"{SYMBOLS[verdict_class(v)]}{c:,}" for v, c in group["counts"])
    label = group["label"]
    return {
        "group": False,
        "top": f"{y:.1f}",
        "y": f"{y + 12:.1f}",
        "odd": odd,
        "h": SUMMARY_H,
        "label": label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…",
        "full": label,
        "href": "#" + group["id"],
        "sub": f"{group['lanes']:,} {group['kind']}s  {counts}",
        "sub_y": f"{y + 25:.1f}",
    }


def _bins(uses: list[UseMark], axis: Axis, y: float, href: str) -> list[dict[str, Any]]:
    """Bin a group's uses by x; one mark per bin, shaped by the bin's strongest verdict."""
    bins: dict[int, list[UseMark]] = defaultdict(list)
    for use in uses:
        bins[round(axis.at(epoch(use["ts_lo"])) / BIN)].append(use)
    out = []
    for key in sorted(bins):
        members = bins[key]
        strongest = verdict_class(_strongest(members))
        counts = verdict_counts([u["verdict"] for u in members])
        if len(members) == 1:
            title = f"{members[0]['verdict'] or 'no verdict'}: {_bin_span(members)}"
        else:
            title = f"{plural(len(members), 'use')}, {_bin_span(members)}: {counts}"
        x = axis.at(None) if epoch(members[0]["ts_lo"]) is None else key * BIN
        out.append({"x": _num(x), "y": _num(y), "cls": strongest, "title": title, "href": href})
    return out


def _bin_span(uses: list[UseMark]) -> str:
    lo = min(((epoch(u["ts_lo"]), u["ts_lo"]) for u in uses), key=lambda p: p[0] or 0.0)
    hi = max(((epoch(u["ts_hi"]) or epoch(u["ts_lo"]), u["ts_hi"] or u["ts_lo"]) for u in uses),
             key=lambda p: p[0] or 0.0)  # fmt: skip
    return "time unknown" if lo[0] is None else brief_when(lo[1], hi[1], "m")


def _num(value: float) -> str:
    """A coordinate with one decimal, without a trailing ``.0``."""
    return f"{value:.1f}".removesuffix(".0")

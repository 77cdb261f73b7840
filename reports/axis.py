"""The timeline's time axis: the span shown, UTC ticks, and the exposure-window zoom range.

All timeline SVGs share one geometry: a 1000-unit-wide view box with lane labels on the left,
the plot in the middle and, when some times are unknown, a "time unknown" column on the right.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from forensics.reports.fmt import epoch
from forensics.reports.model import ReportData

PLOT_X0, PLOT_X1, UNKNOWN_W = 200.0, 985.0, 90.0
ZOOM_MARGIN = 0.10  # the "exposure window" view shows the window and 10 % of its width each side
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
_DAY = 86400


@dataclass(frozen=True)
class Axis:
    """Maps epoch seconds [t0, t1] onto x [x0, x1]; ``unknown_x`` is the "time unknown" column."""

    t0: float
    t1: float
    x0: float
    x1: float
    unknown_x: float | None

    def x(self, t: float) -> float:
        """Return the x coordinate of time ``t``."""
        return self.x0 + (t - self.t0) / (self.t1 - self.t0) * (self.x1 - self.x0)

    def at(self, t: float | None) -> float:
        """Return the x coordinate of time ``t``, or of the "time unknown" column for None."""
        if t is None:
            return self.unknown_x if self.unknown_x is not None else self.x0
        return self.x(t)


def make_axis(data: ReportData) -> Axis:
    """Choose the span shown: the window and every use, padded by 5 %.

    Tag pushes do not stretch the axis: a clean push weeks earlier would squeeze the window.

    Args:
        data: the report data.

    Returns:
        The full-incident axis.
    """
    uses, pushes = data["uses"], data["tag_pushes"]
    window = data["advisory"]["window"]
    times = [epoch(window["start"]), epoch(window["end"])]
    times += [epoch(u["ts_lo"]) for u in uses] + [epoch(u["ts_hi"]) for u in uses]
    known = [t for t in times if t is not None] or [0.0]
    lo, hi = min(known), max(known)
    if hi - lo < 60:
        lo, hi = lo - 1800, hi + 1800
    pad = (hi - lo) * 0.05
    unknown = any(epoch(u["ts_lo"]) is None for u in uses)
    unknown = unknown or any(epoch(p["ts"]) is None for p in pushes)
    x1 = PLOT_X1 - UNKNOWN_W - 10 if unknown else PLOT_X1
    return Axis(lo - pad, hi + pad, PLOT_X0, x1, PLOT_X1 - UNKNOWN_W / 2 if unknown else None)


def window_x(data: ReportData, axis: Axis) -> tuple[float, float]:
    """Return the exposure window's left and right x (an open end runs to the plot's end)."""
    window = data["advisory"]["window"]
    start, end = epoch(window["start"]), epoch(window["end"])
    wx0 = axis.x0 if start is None else axis.x(start)
    wx1 = axis.x1 if end is None else axis.x(end)
    return wx0, max(wx1, wx0 + 1)


def zoom_axis(data: ReportData, axis: Axis) -> Axis:
    """Return the axis of the "exposure window ±10 %" view, drawn over the same plot width.

    Args:
        data: the report data.
        axis: the full-incident axis.

    Returns:
        An axis whose [t0, t1] is the window widened by ``ZOOM_MARGIN`` on each side (an
        open-ended window ends where the full axis ends).
    """
    window = data["advisory"]["window"]
    start, end = epoch(window["start"]), epoch(window["end"])
    lo = axis.t0 if start is None else start
    hi = axis.t1 if end is None else end
    if hi - lo < 60:
        lo, hi = lo - 30, hi + 30
    margin = (hi - lo) * ZOOM_MARGIN
    return Axis(lo - margin, hi + margin, axis.x0, axis.x1, axis.unknown_x)


def ticks(axis: Axis) -> list[dict[str, str]]:
    """Return readable UTC ticks (4 to 10 of them) with date and time labels.

    Args:
        axis: the axis to label.

    Returns:
        ``[{"x", "date", "time"}]`` in time order; ``time`` shows seconds when steps are short.
    """
    span = axis.t1 - axis.t0
    step = next((s for s in _STEPS if span / s <= 10), 0)
    if not step:
        step = _DAY * max(1, math.ceil(span / (10 * _DAY)))
    t = math.ceil(axis.t0 / step) * step
    out = []
    while t <= axis.t1:
        label = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
        clock = label[11:] if step < 60 else label[11:16]
        out.append({"x": f"{axis.x(t):.1f}", "date": label[:10], "time": clock})
        t += step
    return out

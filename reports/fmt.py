"""Small text helpers shared by the report's modules and used as Jinja2 filters."""

import re
from datetime import UTC, datetime

VERDICTS = ("confirmed", "likely", "possible", "cleared")  # most severe first; others: no verdict
SYMBOLS = {"confirmed": "◆", "likely": "●", "possible": "○", "cleared": "■", "none": "·"}


def format_ts(value: str | None) -> str:
    """Format an ISO 8601 timestamp as ``YYYY-MM-DD HH:MM:SS[.ffffff]Z`` in UTC.

    Args:
        value: the timestamp, or None.

    Returns:
        The formatted time; "unknown" for None; the raw text if it does not parse.
    """
    dt = parse_ts(value)
    if dt is None:
        return "unknown" if value is None else value
    frac = f".{dt.microsecond:06d}" if dt.microsecond else ""
    return dt.strftime("%Y-%m-%d %H:%M:%S") + frac + "Z"


def parse_ts(value: str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp into an aware UTC datetime.

    Args:
        value: the timestamp; a naive one is taken as UTC.

    Returns:
        The time, or None for None or text that does not parse.
    """
    try:
        dt = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return None if dt is None else (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def epoch(value: str | None) -> float | None:
    """Return an ISO 8601 timestamp as epoch seconds, or None when unknown."""
    dt = parse_ts(value)
    return None if dt is None else dt.timestamp()


def when(lo: str | None, hi: str | None) -> str:
    """Describe a time or an interval in words."""
    if not lo:
        return "time unknown"
    return format_ts(lo) + (f" – {format_ts(hi)}" if hi and hi != lo else "")


def brief_when(lo: str | None, hi: str | None, unit: str = "s") -> str:
    """Describe a time or interval briefly, to the second (``unit="s"``) or minute (``"m"``).

    Args:
        lo: the start, or None when unknown.
        hi: the end, or None.
        unit: the precision.

    Returns:
        E.g. ``2026-04-22 12:41:07Z``, ``2026-04-22 12:41:07–12:50:00Z`` or "time unknown".
    """
    start, end = parse_ts(lo), parse_ts(hi)
    if start is None:
        return "time unknown" if lo is None else lo
    fmt = "%Y-%m-%d %H:%M:%S" if unit == "s" else "%Y-%m-%d %H:%M"
    a = start.strftime(fmt)
    b = end.strftime(fmt) if end is not None else a
    if b == a:
        return a + "Z"
    return f"{a}–{b[11:]}Z" if a[:10] == b[:10] else f"{a}Z – {b}Z"


def digest12(digest: str | None) -> str:
    """Return the first 12 hex digits of a digest (an em dash when there is none)."""
    return "—" if not digest else digest.partition(":")[2][:12] or digest[:12]


def verdict_class(value: str | None) -> str:
    """Return the verdict as a CSS class suffix: a verdict name or ``none``."""
    return value if value in VERDICTS else "none"


def rank(value: str | None) -> int:
    """Return a verdict's severity rank, 0 for confirmed (no verdict sorts last)."""
    return VERDICTS.index(value) if value in VERDICTS else len(VERDICTS)


def image_ref(image: str, tag: str | None) -> str:
    """Return ``image:tag`` (or the image alone when there is no tag)."""
    return f"{image}:{tag}" if tag else image


def perms(value: dict[str, str]) -> str:
    """Describe token permissions as ``scope: access`` pairs in scope order."""
    return ", ".join(f"{scope}: {access}" for scope, access in sorted(value.items()))


def plural(n: int, word: str) -> str:
    """Return ``n word`` or ``n words`` with thousands separators."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def natural(text: str) -> tuple[tuple[int, str], ...]:
    """Return a sort key that orders digit runs by value (``run 9`` before ``run 10``)."""
    parts = re.split(r"([0-9]+)", text)
    return tuple((int(p) if i % 2 else 0, p) for i, p in enumerate(parts))


def verdict_counts(verdicts: list[str | None]) -> str:
    """Describe how many items have each verdict, most severe first (``2 confirmed, 1 likely``)."""
    parts = [f"{verdicts.count(v):,} {v}" for v in VERDICTS if v in verdicts]
    none = sum(v not in VERDICTS for v in verdicts)
    return ", ".join(parts + ([f"{none:,} no verdict"] if none else []))

"""One spelling for times in every output: UTC, microseconds, ``Z``."""

from datetime import UTC, datetime


def iso(ts: datetime | None) -> str | None:
    """Format a time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Args:
        ts: an aware datetime, or None.

    Returns:
        The string, or None.
    """
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(ts: datetime | None) -> str | None:
    """Format a time as ``YYYY-MM-DDTHH:MM:SSZ`` (for advisory window bounds).

    Args:
        ts: an aware datetime, or None.

    Returns:
        The string, or None.
    """
    if ts is None:
        return None
    if ts.microsecond:
        return iso(ts)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

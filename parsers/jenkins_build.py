"""Jenkins ``build.xml`` (``$JENKINS_HOME/jobs/<job>/builds/<n>/build.xml``).

Beside a build's console log it gives the build's start (``<startTime>``, epoch ms), its
duration (ms) and the agent it ran on (``<builtOn>``; empty for the controller). The few fields
are read with regular expressions: no XML parser ever sees attacker-controlled markup.
"""

import re
from collections.abc import Sequence

import polars as pl

from forensics.lines import lines_from_bytes
from forensics.parsers._base import Item, ParseResult, Source, decode_errors

NAME = "jenkins_build"
DESCRIPTION = "Jenkins build.xml (start time, duration, agent)"

_SNIFF_RX = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?<(?:flow-build|build|[\w.-]*Build)[\s>]")
_START_RX = re.compile(r"<startTime>(\d{9,15})</startTime>")
_DURATION_RX = re.compile(r"<duration>(\d{1,15})</duration>")
_AGENT_RX = re.compile(r"<builtOn>([^<]{0,256})</builtOn>")


def sniff(path: str, head: bytes) -> bool:
    """Recognize a build.xml by its root element and a ``<startTime>``.

    Args:
        path: the logical path (unused).
        head: the first bytes of the file.

    Returns:
        True for a Jenkins build record.
    """
    return bool(_SNIFF_RX.match(head)) and b"<startTime>" in head


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _parse_one(src: Source, data: bytes, result: ParseResult) -> None:
    lines = lines_from_bytes(data)
    stats = result.stats(src.path)
    stats.lines = lines.frame.height
    stats.errors.extend(decode_errors(lines))
    text = data.decode("utf-8", errors="replace")
    start = _START_RX.search(text)
    if start is None:
        stats.errors.append((None, "no <startTime> in build.xml"))
        stats.unparsed = stats.lines
        return
    duration = _DURATION_RX.search(text)
    agent = _AGENT_RX.search(text)
    begin_ms = int(start.group(1))
    end_ms = begin_ms + int(duration.group(1)) if duration else None
    row = {
        "ci": "jenkins", "project": src.context.get("project"), "run": src.context.get("run"),
        "job_id": src.context.get("run"), "name": src.context.get("job_name"),
        "runner_name": (agent.group(1).strip() or "built-in") if agent else None,
        "started_at": begin_ms * 1000,
        "completed_at": None if end_ms is None else end_ms * 1000 + 999,
        "file": src.path, "line": _line_of(text, start.start()),
    }  # fmt: skip
    frame = pl.DataFrame([row]).with_columns(
        pl.from_epoch(pl.col(c).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC")
        for c in ("started_at", "completed_at")
    )
    result.add("api_jobs", frame)


def parse(items: Sequence[Item]) -> ParseResult:
    """Parse build records (each file is one small XML document).

    Args:
        items: the files; ``context`` gives the job path, build number and job name.

    Returns:
        One ``api_jobs`` row per build.
    """
    result = ParseResult()
    for src, data in items:
        _parse_one(src, data, result)
    return result

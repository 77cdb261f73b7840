r"""Read a text file into a frame of numbered lines, never failing on bad bytes.

One helper for every parser. polars' native line scanner splits on ``\n`` only (no split on
form feeds or ``\u2028``, which would shift line numbers against the file) and drops a
trailing ``\r``. It refuses invalid UTF-8, so such files are decoded with U+FFFD replacement
first; the rest of each line is kept and the lines that held bad bytes are reported.
"""

import io
from dataclasses import dataclass

import polars as pl

REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class LineFrame:
    """The lines of one file.

    Attributes:
        frame: columns ``line_no`` (UInt32, from 1) and ``line`` (String).
        bad_lines: line numbers whose bytes were not valid UTF-8.
    """

    frame: pl.DataFrame
    bad_lines: list[int]


def _scan(data: bytes) -> pl.DataFrame:
    return pl.scan_lines(
        io.BytesIO(data), name="line", row_index_name="line_no", row_index_offset=1
    ).collect()


def lines_from_bytes(data: bytes) -> LineFrame:
    """Split raw bytes into numbered lines .

    Args:
        data: the file's bytes.

    Returns:
        The numbered lines and the numbers of lines that held invalid UTF-8.
    """
    if not data:
        empty = pl.DataFrame(schema={"line_no": pl.UInt32, "line": pl.String})
        return LineFrame(frame=empty, bad_lines=[])
    try:
        return LineFrame(frame=_scan(data), bad_lines=[])
    except pl.exceptions.ComputeError:
        pass
    fixed = data.decode("utf-8", errors="replace").encode("utf-8")
    frame = _scan(fixed)
    bad = (
        frame.filter(pl.col("line").str.contains(REPLACEMENT, literal=True))
        .get_column("line_no")
        .to_list()
    )
    return LineFrame(frame=frame, bad_lines=bad)

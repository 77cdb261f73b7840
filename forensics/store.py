"""The case store: Parquet tables under ``DIR/case/``, ``case.duckdb`` views, ``manifest.json``.

Tables are written incrementally (row groups appended as parsers produce rows), so memory
stays bounded by the largest file being parsed, not by the bundle.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from forensics.schema import TABLES

CASE = "case"
_FLUSH_ROWS = 100_000


class TableSink:
    """Buffers rows per table and appends them to ``<case>/<table>.parquet``.

    Rows are converted to plain Arrow arrays on arrival. polars string views share the
    buffers of the frame they were cut from, so keeping a parser's small result frames would
    keep every batch's whole input text alive; the copy drops those references.
    """

    def __init__(self, case_dir: Path, schemas: dict[str, pl.Schema] | None = None) -> None:
        self.case_dir = case_dir
        self.schemas = dict(TABLES if schemas is None else schemas)
        self._buffers: dict[str, list[pa.Table]] = {t: [] for t in self.schemas}
        self._rows: dict[str, int] = dict.fromkeys(self.schemas, 0)
        self._writers: dict[str, pq.ParquetWriter] = {}

    def add(self, table: str, frame: pl.DataFrame) -> None:
        """Queue rows for ``table``; flush when the buffer is large.

        Args:
            table: the table name.
            frame: rows conformed to the table's schema.
        """
        self._buffers[table].append(_arrow(frame))
        self._rows[table] += frame.height
        if self._rows[table] >= _FLUSH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        tables = self._buffers[table] or [_arrow(pl.DataFrame(schema=self.schemas[table]))]
        data = pa.concat_tables(tables)
        if table not in self._writers:
            path = self.case_dir / f"{table}.parquet"
            self._writers[table] = pq.ParquetWriter(str(path), data.schema)
            self._writers[table].write_table(data)  # an empty table still gets its schema
        elif data.num_rows:
            self._writers[table].write_table(data)
        self._buffers[table] = []
        self._rows[table] = 0

    def close(self) -> None:
        """Flush every table and close the files (every table gets a file, maybe empty)."""
        for table in self.schemas:
            if self._buffers[table] or table not in self._writers:
                self._flush(table)
        for writer in self._writers.values():
            writer.close()


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """A self-contained Arrow copy (classic string arrays, no shared view buffers)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def write_table(case_dir: Path, name: str, frame: pl.DataFrame) -> None:
    """Write one whole table (analysis results).

    Args:
        case_dir: the case folder.
        name: the table name.
        frame: its rows.
    """
    frame.write_parquet(case_dir / f"{name}.parquet")


def write_duckdb(case_dir: Path) -> None:
    """Create ``case.duckdb`` with one view per Parquet table.

    View paths are relative to the case folder: open the database from inside it
    (``cd DIR/case && duckdb case.duckdb``), or use ``forensics sql DIR``.

    Args:
        case_dir: the case folder.
    """
    db = case_dir / "case.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    try:
        con.execute("SET file_search_path = $p", {"p": str(case_dir)})
        for path in sorted(case_dir.glob("*.parquet")):
            name = path.stem
            # Identifiers and paths come from our own table names, never from input.
            con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path.name}')")
    finally:
        con.close()


def write_json(path: Path, doc: Any) -> str:
    """Write JSON deterministically (sorted keys, 2-space indent, trailing newline).

    Args:
        path: the file.
        doc: the document.

    Returns:
        The SHA-256 of the bytes written.
    """
    data = (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()

"""``forensics sql``: read-only SQL over a case folder."""

import io
from pathlib import Path

import duckdb
import polars as pl

from forensics.errors import CaseError, QueryError
from forensics.store import CASE


def _connect(case_dir: Path) -> duckdb.DuckDBPyConnection:
    tables = sorted(case_dir.glob("*.parquet"))
    if not tables:
        raise CaseError(f"{case_dir.parent}: no case tables found (run 'forensics investigate')")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for path in tables:
        # Loaded as in-memory tables so that file access can be switched off below.
        con.read_parquet(str(path)).to_table(path.stem)
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _format(frame: pl.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        # nested values (lists, structs) become JSON text in their cell
        flat = frame.with_columns(
            pl.struct(pl.col(c).alias("v")).struct.json_encode().str.slice(5).str.head(-1).alias(c)
            for c, t in frame.schema.items()
            if t.is_nested()
        )
        return flat.write_csv()
    if fmt == "json":
        buf = io.StringIO()
        frame.write_json(buf)
        return buf.getvalue() + "\n"
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=120, tbl_width_chars=200,
                   tbl_hide_dataframe_shape=True):  # fmt: skip
        return f"{frame}\n({frame.height} rows)\n"


def run_sql(out_dir: Path, query: str, fmt: str = "table") -> str:
    """Run one read-only query over the case tables.

    Args:
        out_dir: the output folder of ``investigate`` (holding ``case/``).
        query: the SQL.
        fmt: ``table``, ``csv`` or ``json``.

    Returns:
        The formatted result.

    Raises:
        CaseError: when the folder holds no case.
        QueryError: when the query fails or tries to write.
    """
    case_dir = out_dir / CASE
    if not case_dir.is_dir():
        raise CaseError(f"{out_dir}: not an output folder of 'forensics investigate' (no case/)")
    con = _connect(case_dir)
    try:
        result = con.sql(query)
        if result is None:
            raise QueryError("the statement returned no rows (only SELECT-like queries are run)")
        frame = result.pl()
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return _format(frame, fmt)

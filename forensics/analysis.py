"""Case tables + advisory → verdicts, with the SQL in ``queries/``.

The analysis runs in an in-memory DuckDB over the case's Parquet files. The advisory is
loaded as four small tables; every query's result is kept as a table for the next query and
written back to the case folder.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from forensics import querylib
from forensics.advisory import Advisory
from forensics.schema import TABLES

PIPELINE = (
    "jobs",
    "use_verdicts",
    "actor_verdicts",
    "job_verdicts",
    "host_verdicts",
    "account_verdicts",
    "cache_verdicts",
    "secrets_to_rotate",
    "job_secret_names",
    "job_secret_lines",
    "tag_history",
)
"""Queries in the order they run; each result is a table for the ones after it."""


@dataclass(frozen=True)
class Analysis:
    """Query results by name, and the parameters they were run with."""

    results: dict[str, pl.DataFrame]
    params: dict[str, Any]


def advisory_tables(adv: Advisory) -> dict[str, pl.DataFrame]:
    """The advisory as tables the queries join against.

    Args:
        adv: the advisory.

    Returns:
        ``advisory_images``, ``advisory_tags``, ``advisory_digests`` and ``mirrors``.
    """
    images = pl.DataFrame(
        {"image": [i.name for i in adv.images], "raw_name": [i.raw_name for i in adv.images]},
        schema={"image": pl.String, "raw_name": pl.String},
    )
    tags = pl.DataFrame(
        [(i.name, t) for i in adv.images for t in i.tags],
        schema={"image": pl.String, "tag": pl.String},
        orient="row",
    )
    digests = pl.DataFrame(
        [(d.digest, d.kind, d.image, d.malicious, d.platform, d.index) for d in adv.digests],
        schema={"digest": pl.String, "kind": pl.String, "image": pl.String,
                "malicious": pl.Boolean, "platform": pl.String, "index_digest": pl.String},
        orient="row",
    )  # fmt: skip
    mirrors = pl.DataFrame(
        list(adv.mirrors.items()),
        schema={"mirror": pl.String, "upstream": pl.String},
        orient="row",
    )
    return {
        "advisory_images": images,
        "advisory_tags": tags,
        "advisory_digests": digests,
        "mirrors": mirrors,
    }


def connect(case_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with a view per parsed case table (not earlier results).

    Args:
        case_dir: the case folder.

    Returns:
        The connection (UTC session time zone).
    """
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in sorted(TABLES):
        con.read_parquet(str(case_dir / f"{name}.parquet")).create_view(name)
    return con


def analyze(case_dir: Path, adv: Advisory) -> Analysis:
    """Run the verdict pipeline.

    Args:
        case_dir: the case folder with the parsed tables.
        adv: the advisory.

    Returns:
        Every query's result.
    """
    con = connect(case_dir)
    try:
        for name, frame in advisory_tables(adv).items():
            con.register(f"_{name}", frame.to_arrow())
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}")
        params: dict[str, Any] = {"window_start": adv.window_start, "window_end": adv.window_end}
        results: dict[str, pl.DataFrame] = {}
        for name in PIPELINE:
            frame = querylib.run(con, querylib.load(name), params)
            results[name] = frame
            con.register(f"_{name}", frame.to_arrow())
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}")
        return Analysis(results=results, params=params)
    finally:
        con.close()

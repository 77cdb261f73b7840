"""Load the analysis SQL from ``queries/*.sql`` and run it with bound parameters.

Each file holds one query and starts with a header::

    -- name: use_verdicts
    -- <one-line purpose>
    -- inputs: image_uses, advisory_digests
    -- params: $window_start (TIMESTAMPTZ), $window_end (TIMESTAMPTZ or NULL)
    -- output: <columns>

The loader checks that the header is complete, that ``name`` matches the file name, and that
the declared parameters are exactly the ``$parameters`` the SQL uses. Values are always bound
by DuckDB, never formatted into the text.
"""

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import polars as pl

from forensics.errors import QueryError

_HEADER_RX = re.compile(r"^--\s*(name|inputs|params|output):\s*(.*)$")
_PARAM_RX = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_REQUIRED = ("name", "inputs", "params", "output")


@dataclass(frozen=True)
class Query:
    """One loaded query."""

    name: str
    purpose: str
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    output: str
    sql: str
    file: str


def _header(file: str, text: str) -> tuple[dict[str, str], str]:
    fields: dict[str, str] = {}
    purpose = ""
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        m = _HEADER_RX.match(line)
        if m:
            fields[m.group(1)] = m.group(2).strip()
        elif fields.get("name") and not purpose:
            purpose = line.lstrip("- ").strip()
    for key in _REQUIRED:
        if key not in fields:
            raise QueryError(f"queries/{file}: missing '-- {key}:' header")
    return fields, purpose


def parse_query(file: str, text: str) -> Query:
    """Validate and build a query from the text of one ``.sql`` file.

    Args:
        file: the file name (for messages).
        text: its content.

    Returns:
        The query.

    Raises:
        QueryError: naming the file and the problem.
    """
    fields, purpose = _header(file, text)
    if fields["name"] != file.removesuffix(".sql"):
        raise QueryError(f"queries/{file}: name '{fields['name']}' does not match the file name")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    declared = set(_PARAM_RX.findall(fields["params"]))
    used = set(_PARAM_RX.findall(body))
    for param in sorted(used - declared):
        raise QueryError(f"queries/{file}: undeclared parameter ${param}")
    for param in sorted(declared - used):
        raise QueryError(f"queries/{file}: unused declared parameter ${param}")
    inputs = tuple(i.strip() for i in fields["inputs"].split(",") if i.strip())
    return Query(
        name=fields["name"],
        purpose=purpose,
        inputs=inputs,
        params=tuple(sorted(declared)),
        output=fields["output"],
        sql=text,
        file=file,
    )


def load(name: str) -> Query:
    """Load ``queries/<name>.sql`` from the installed package.

    Args:
        name: the query name.

    Returns:
        The validated query.
    """
    resource = resources.files("forensics.queries").joinpath(f"{name}.sql")
    return parse_query(f"{name}.sql", resource.read_text(encoding="utf-8"))


def all_queries() -> list[Query]:
    """Every query shipped in ``queries/``, sorted by name.

    Returns:
        The validated queries.
    """
    files = sorted(
        r.name for r in resources.files("forensics.queries").iterdir() if r.name.endswith(".sql")
    )
    return [load(f.removesuffix(".sql")) for f in files]


def run(con: duckdb.DuckDBPyConnection, query: Query, params: dict[str, Any]) -> pl.DataFrame:
    """Run a query with its declared parameters bound.

    Args:
        con: a connection where the query's inputs exist.
        query: the query.
        params: values for at least the declared parameters.

    Returns:
        The result rows.
    """
    bound = {p: params[p] for p in query.params}
    frame: pl.DataFrame = con.sql(query.sql, params=bound).pl()
    return frame

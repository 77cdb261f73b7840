import re

import pytest

from forensics.errors import QueryError
from forensics.querylib import all_queries, parse_query
from forensics.schema import TABLES

from .conftest import ROOT

ADVISORY_TABLES = {"advisory_images", "advisory_tags", "advisory_digests", "mirrors"}


def test_every_sql_file_loads_with_a_complete_header() -> None:
    files = sorted(p.stem for p in (ROOT / "queries").glob("*.sql"))
    queries = all_queries()
    assert [q.name for q in queries] == files
    known = set(TABLES) | ADVISORY_TABLES | set(files)
    for q in queries:
        assert q.purpose and q.output
        assert set(q.inputs) <= known, q.name


def test_parameters_are_bound_never_formatted() -> None:
    for q in all_queries():
        assert "{" not in re.sub(r"\{'[a-z_]+':", "", q.sql).replace("{'file'", ""), q.name
        assert "%s" not in q.sql


HEADER = "-- name: q\n-- purpose\n-- inputs: image_uses\n-- params: $a (INTEGER)\n-- output: x\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1", "queries/q.sql: missing '-- name:' header"),
        (HEADER.replace("name: q", "name: other") + "SELECT $a", "does not match the file name"),
        (HEADER + "SELECT $a, $b", "queries/q.sql: undeclared parameter $b"),
        (HEADER + "SELECT 1", "queries/q.sql: unused declared parameter $a"),
        (HEADER.replace("-- output: x\n", "") + "SELECT $a", "missing '-- output:' header"),
    ],
)
def test_header_errors_name_file_and_problem(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=re.escape(message)):
        parse_query("q.sql", text)

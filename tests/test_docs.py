"""The README documents every command, query, case table and column."""

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import typer

from forensics.cli import app
from forensics.querylib import all_queries

from .conftest import ROOT

README = (ROOT / "README.md").read_text()
COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_help_and_is_documented(name: str) -> None:
    assert COMMANDS[name].help
    assert f"forensics {name}" in README


def test_quick_start_is_exactly_two_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line for line in block.strip().splitlines()] == ["make demo", "make test"]


@pytest.mark.parametrize("query", [q.name for q in all_queries()])
def test_query_output_is_documented(query: str) -> None:
    assert f"- `{query}`:" in README


def _documented_columns(table: str) -> set[str]:
    line = next(line for line in README.splitlines() if line.startswith(f"- `{table}`:"))
    return set(re.findall(r"`([a-z_0-9]+)`", line.split(":", 1)[1]))


def test_every_case_table_and_column_is_documented(sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    for path in sorted((out / "case").glob("*.parquet")):
        columns = set(pl.read_parquet_schema(path))
        documented = _documented_columns(path.stem)
        if path.stem == "use_verdicts":
            documented |= _documented_columns("image_uses")
        missing = columns - documented
        assert not missing, f"{path.stem}: {sorted(missing)} not in README"

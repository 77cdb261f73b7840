"""Bundle → parsers → case tables: recognize each input, parse it, record coverage."""

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import polars as pl

from forensics import layout
from forensics.bundle import Bundle, Member, is_zip, list_paths, walk
from forensics.manifest import sha256_bytes
from forensics.parsers import REGISTRY
from forensics.parsers._base import ParseResult, Source
from forensics.store import TableSink

HEAD_BYTES = 64 * 1024
BATCH_BYTES = 16 * 1024 * 1024
"""Parse a format's files together until they reach this many bytes..."""
BATCH_FILES = 2000
"""...or this many files."""
IN_FLIGHT = 1
"""Batches parsed in the background while the next one is read."""

FILES_SCHEMA = pl.Schema(
    {
        "path": pl.String,
        "size": pl.Int64,
        "sha256": pl.String,
        "format": pl.String,
        "status": pl.String,  # parsed | archive | duplicate | unrecognized
        "lines": pl.Int64,
        "unparsed_lines": pl.Int64,
    }
)
ERRORS_SCHEMA = pl.Schema({"file": pl.String, "line": pl.Int64, "reason": pl.String})


@dataclass
class Coverage:
    """What was read and what was not."""

    files: list[dict[str, object]] = field(default_factory=list)
    errors: list[tuple[str, int | None, str]] = field(default_factory=list)

    def files_frame(self) -> pl.DataFrame:
        """Rows of the ``files`` table.

        Returns:
            One row per input file and archive member.
        """
        return pl.DataFrame(self.files, schema=FILES_SCHEMA, orient="row")

    def errors_frame(self) -> pl.DataFrame:
        """Rows of the ``errors`` table.

        Returns:
            One row per problem, sorted by file and line.
        """
        rows = sorted(set(self.errors), key=lambda e: (e[0], e[1] or 0, e[2]))
        return pl.DataFrame(rows, schema=ERRORS_SCHEMA, orient="row")


def recognize(path: str, data: bytes) -> ModuleType | None:
    """The parser that accepts this content, or None.

    Args:
        path: the logical path.
        data: the bytes.

    Returns:
        The first registered parser whose ``sniff`` accepts the head of ``data``.
    """
    head = data[:HEAD_BYTES]
    return next((m for m in REGISTRY.values() if m.sniff(path, head)), None)


def _file_row(member: Member, fmt: str | None, status: str) -> dict[str, object]:
    return {
        "path": member.path,
        "size": len(member.data),
        "sha256": sha256_bytes(member.data),
        "format": fmt,
        "status": status,
        "lines": 0,
        "unparsed_lines": 0,
    }


class _Batcher:
    """Groups recognized files by format and parses each group in one pass.

    One batch is parsed in a worker thread (polars releases the GIL) while the main thread
    reads, hashes and recognizes the next files; results are collected in submission order,
    so the output does not depend on timing.
    """

    def __init__(self, sink: TableSink, cov: Coverage, pool: ThreadPoolExecutor) -> None:
        self.sink = sink
        self.cov = cov
        self.pool = pool
        self.pending: dict[str, list[tuple[Source, bytes]]] = {}
        self.sizes: dict[str, int] = {}
        self.rows: dict[str, dict[str, object]] = {}
        self.running: deque[Future[ParseResult]] = deque()

    def add(self, module: ModuleType, member: Member, row: dict[str, object]) -> None:
        batch = self.pending.setdefault(module.NAME, [])
        batch.append((Source(member.path, layout.context(member.path)), member.data))
        self.rows[member.path] = row
        self.sizes[module.NAME] = self.sizes.get(module.NAME, 0) + len(member.data)
        if self.sizes[module.NAME] >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            self.flush(module.NAME)

    def flush(self, name: str) -> None:
        items = self.pending.pop(name, [])
        self.sizes[name] = 0
        if not items:
            return
        while len(self.running) >= IN_FLIGHT:
            self._collect(self.running.popleft().result())
        self.running.append(self.pool.submit(REGISTRY[name].parse, items))

    def _collect(self, result: ParseResult) -> None:
        for path, stats in result.files.items():
            row = self.rows.pop(path)
            row["lines"], row["unparsed_lines"] = stats.lines, stats.unparsed
            self.cov.errors.extend((path, line, reason) for line, reason in stats.errors)
        for table, frame in result.tables.items():
            self.sink.add(table, frame)

    def close(self) -> None:
        for name in sorted(self.pending):
            self.flush(name)
        while self.running:
            self._collect(self.running.popleft().result())


def _route(member: Member, batcher: _Batcher, cov: Coverage, skip: set[str]) -> None:
    if is_zip(member.data):
        cov.files.append(_file_row(member, None, "archive"))
        return
    if member.path in skip:
        cov.files.append(_file_row(member, "github_actions", "duplicate"))
        return
    module = recognize(member.path, member.data)
    row = _file_row(member, module.NAME if module else None, "parsed")
    cov.files.append(row)
    if module is None:
        row["status"] = "unrecognized"
        cov.errors.append((member.path, None, "unrecognized file: no parser accepts its content"))
        return
    batcher.add(module, member, row)


def ingest(bundle: Bundle, case_dir: Path) -> Coverage:
    """Parse every file of the bundle into the case tables.

    Files are recognized one by one and parsed in batches per format (up to
    :data:`BATCH_BYTES`), so many small logs cost one columnar pass and memory stays bounded.

    Args:
        bundle: the opened bundle.
        case_dir: where the Parquet tables go.

    Returns:
        Coverage: every file with its hash, format and line counts, and every error.
    """
    cov = Coverage()
    skip = layout.step_duplicates(list_paths(bundle))
    sink = TableSink(case_dir)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse") as pool:
            batcher = _Batcher(sink, cov, pool)
            for member in walk(bundle, cov.errors):
                _route(member, batcher, cov, skip)
            batcher.close()
    finally:
        sink.close()
    return cov

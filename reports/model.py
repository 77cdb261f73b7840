"""The report's data contract: what ``forensics.report_data`` gathers and the renderer shows.

Every string in here may come from a log and is attacker-controlled.
"""

from typing import Any, TypedDict


class Window(TypedDict):
    """The exposure window; ``end`` is None while it is open-ended."""

    start: str
    end: str | None


class AdvisoryInfo(TypedDict):
    """The advisory as shown in the report.

    ``images``: ``[{"name", "tags", "digests": [{"digest", "kind", "malicious", "platform"}]}]``.
    """

    id: str
    title: str
    references: list[str]
    path: str
    sha256: str
    window: Window
    images: list[dict[str, Any]]


class UseMark(TypedDict):
    """One use of an advisory image; ``verdict`` None means counted only, no verdict."""

    lane: str
    lane_kind: str
    group: str
    verdict: str | None
    image: str
    tag: str | None
    digest: str | None
    ts_lo: str | None
    ts_hi: str | None
    file: str
    line: int
    reason: str
    action: str


class TagPush(TypedDict):
    """A tag push of an advisory image seen in a registry or audit log."""

    image: str
    tag: str
    digest: str | None
    action: str
    actor: str | None
    ts: str | None
    malicious: bool
    file: str
    line: int


class EvidenceLine(TypedDict):
    """One log line quoted as evidence, already trimmed and redacted by the caller."""

    file: str
    line: int
    text: str


class FileEntry(TypedDict):
    """One input file or archive member; ``format`` is None when no parser recognized it."""

    path: str
    size: int
    sha256: str
    format: str | None
    status: str
    lines: int
    unparsed_lines: int


class SecretCell(TypedDict):
    """Where a secret name appears in a flagged job.

    ``job`` is the ``project/run/job`` string of ``findings["secrets"][i]["jobs"]``.
    """

    project: str
    name: str
    job: str
    file: str
    line: int


class QueryInfo(TypedDict):
    """A query from ``queries/`` that produced findings, with its bound parameters as text."""

    name: str
    purpose: str
    sql: str
    params: dict[str, str | None]


class ReportData(TypedDict):
    """Everything the report shows; ``findings`` is exactly the content of findings.json."""

    tool: dict[str, str]
    generated_at: str | None
    advisory: AdvisoryInfo
    findings: dict[str, Any]
    uses: list[UseMark]
    tag_pushes: list[TagPush]
    evidence: list[EvidenceLine]
    files: list[FileEntry]
    findings_sha256: str
    secret_cells: list[SecretCell]
    queries: list[QueryInfo]
    gaps: list[str]


Ref = tuple[str, int]
"""A log line: ``(file, line)``."""

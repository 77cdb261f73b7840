"""Domain errors and the exit codes the CLI maps them to."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of every ``forensics`` command."""

    OK = 0
    """All input was understood (``investigate``), or the command succeeded."""
    INPUT_NOT_UNDERSTOOD = 1
    """The run completed, but some input was not understood; or ``verify`` found changes."""
    CHANGED = 1
    """``verify``: an input, the advisory or findings.json changed or went missing."""
    USAGE = 2
    """Bad usage, a bad advisory file, or an unusable bundle or case folder."""


class ForensicsError(Exception):
    """A user-facing error: printed as one line on stderr, no traceback."""

    exit_code: ExitCode = ExitCode.USAGE


class AdvisoryError(ForensicsError):
    """The advisory file is invalid; the message names the file, the key and the problem."""

    def __init__(self, path: str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


class BundleError(ForensicsError):
    """The bundle cannot be opened at all (missing, not a folder or a supported archive)."""


class CaseError(ForensicsError):
    """The case folder given to ``sql`` or ``verify`` is missing or incomplete."""


class QueryError(ForensicsError):
    """A SQL file is malformed, or a query given to ``forensics sql`` failed."""

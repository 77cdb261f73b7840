"""Evidence text for the report and findings: ANSI-stripped, secrets redacted, trimmed.

Logs are attacker-controlled and may hold secret values that the CI system failed to mask.
No line leaves the tool without going through :func:`evidence_text`.
"""

import polars as pl

MAX_CHARS = 240
ANSI_RX = r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07"

# (pattern, replacement). Order matters: key=value forms before bare tokens.
_RULES: tuple[tuple[str, str], ...] = (
    # env/with entries whose key names a credential: keep the key, drop the value.
    (
        r"^((?:\S+Z )?\s*[A-Za-z_][A-Za-z0-9_]*"
        r"(?i:token|secret|passw(?:or)?d|pwd|key|pat|credentials?|auth)[A-Za-z0-9_]*\s*[:=]\s*).+$",
        "${1}***",
    ),
    (r"gh[pousr]_[A-Za-z0-9]{20,}", "[REDACTED]"),
    (r"github_pat_[A-Za-z0-9_]{20,}", "[REDACTED]"),
    (r"gl(?:pat|oas|dt|rt|cbt|ptt|ft|imt|agent|soat|ffct)-[A-Za-z0-9_-]{16,}", "[REDACTED]"),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "[REDACTED]"),
    (r"xox[abprs]-[A-Za-z0-9-]{10,}", "[REDACTED]"),
    (r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*", "[REDACTED PRIVATE KEY]"),
    (r"(?i)(\b(?:password|passwd|secret|token|api[_-]?key)\s*[=:]\s*)[^\s*]\S*", "${1}***"),
    (r"(?i)(://[^/\s:@]+:)[^@\s]+@", "${1}***@"),
    (r"(?i)(authorization:\s*(?:bearer|basic|token)\s+)\S+", "${1}***"),
)


def strip_ansi(text: pl.Expr) -> pl.Expr:
    """Remove ANSI escape sequences.

    Args:
        text: a string expression.

    Returns:
        The expression without escape sequences.
    """
    return text.str.replace_all(ANSI_RX, "")


def evidence_text(text: pl.Expr) -> pl.Expr:
    """Make a log line safe to show: ANSI stripped, BOM dropped, secrets redacted, trimmed.

    Args:
        text: the raw line.

    Returns:
        The display text (HTML escaping is the renderer's job).
    """
    out = strip_ansi(text).str.strip_prefix("\ufeff")
    for pattern, replacement in _RULES:
        out = out.str.replace_all(pattern, replacement)
    return (
        pl.when(out.str.len_chars() > MAX_CHARS)
        .then(out.str.slice(0, MAX_CHARS - 1) + pl.lit("…"))
        .otherwise(out)
    )

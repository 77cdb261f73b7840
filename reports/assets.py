"""The report's own inline stylesheet and script, and the Content-Security-Policy that pins them.

The policy forbids every network access and allows exactly these two inline blocks, by the
SHA-256 of their text: nothing a log line could smuggle into the page would run or load.
"""

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from markupsafe import Markup

_FORBIDDEN = ("</style", "</script", "<!--", "<script")


@dataclass(frozen=True)
class Assets:
    """The inline CSS and JS (trusted, shipped with the package) and the policy for them."""

    css: Markup
    js: Markup
    csp: str


def csp_hash(text: str) -> str:
    """Return the CSP source expression (``'sha256-…'``) for an inline block's exact text.

    Args:
        text: the text between ``<style>``/``<script>`` and its end tag.

    Returns:
        The quoted hash source, e.g. ``'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='``.
    """
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def policy(css: str, js: str) -> str:
    """Return the report's Content-Security-Policy for the given inline style and script."""
    return (
        f"default-src 'none'; script-src {csp_hash(js)}; style-src {csp_hash(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def _read(name: str) -> str:
    text = files("forensics.reports").joinpath("templates", name).read_text(encoding="utf-8")
    text = text.replace("\r\n", "\n")
    bad = [s for s in _FORBIDDEN if s in text.lower()]
    if bad:
        raise ValueError(f"templates/{name} must not contain {bad[0]!r}")
    return text


@cache
def load_assets() -> Assets:
    """Read ``templates/report.css`` and ``templates/report.js`` and hash them.

    Returns:
        The assets, ready to inline.

    Raises:
        ValueError: a file holds text that would end its block early.
    """
    css, js = _read("report.css"), _read("report.js")
    return Assets(css=Markup(css), js=Markup(js), csp=policy(css, js))

"""forensics: batch log forensics for container-image supply-chain incidents.

The package is laid out as the pipeline it runs: ``bundle`` (inputs) → ``parsers`` →
``store`` (case tables) → ``queries``/``analysis`` (verdicts) → ``reports``.
"""

__version__ = "0.1.0"

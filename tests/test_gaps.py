from pathlib import Path
from typing import Any

from forensics.advisory import load_advisory
from forensics.analysis import analyze
from forensics.gaps import gaps

from .conftest import KICS


def test_sample_gaps_say_what_verdicts_rest_on(sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    # re-running the analysis on an existing case works (earlier results are not inputs)
    analysis = analyze(out / "case", load_advisory(KICS))
    assert gaps(analysis) == [
        "4 jobs have tag-only evidence: their verdicts rest on the window, not on a digest.",
        "3 hosts have tag-only evidence: their verdicts rest on the window, not on a digest.",
        "4 uses were served from a local cache with nothing recorded: what the cache held is unknown.",
        "3 uses have no known time.",
        "2 uses straddle a window edge.",
        "1 use under tags the advisory does not list carried no digest and was only counted.",
        "7 hosts have no inventory listing the image: whether they still hold it is unknown.",
    ]

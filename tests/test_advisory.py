from pathlib import Path

import pytest
from typer.testing import CliRunner

from forensics.advisory import load_advisory
from forensics.cli import app
from forensics.errors import AdvisoryError

from .conftest import KICS, SAMPLE, TRIVY

GOOD = "sha256:" + "60" * 32
BAD = "sha256:" + "ba" * 32
PLATFORM = "sha256:" + "bb" * 32
VALID = f"""
id = "t"
title = "test"
[window]
start = "2026-04-22T12:35:00Z"
[[images]]
name = "checkmarx/kics"
tags = ["latest"]
malicious = [
  "{BAD}",
  {{ digest = "{PLATFORM}", kind = "platform", platform = "linux/amd64", index = "{BAD}" }},
]
known_good = ["{GOOD}"]
[mirrors]
"mirror.gcr.io" = "docker.io"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "adv.toml"
    path.write_text(text)
    return path


def test_shipped_advisories_load() -> None:
    kics = load_advisory(KICS)
    assert kics.id == "kics-2026-04-22"
    assert kics.images[0].name == "docker.io/checkmarx/kics"
    assert len([d for d in kics.digests if d.malicious]) == 3
    assert kics.window_end is not None
    trivy = load_advisory(TRIVY)
    kinds = {d.kind for d in trivy.digests}
    assert kinds == {"index", "platform"}
    assert "ghcr.io/aquasecurity/trivy" in {i.name for i in trivy.images}


def test_valid_advisory(tmp_path: Path) -> None:
    adv = load_advisory(write(tmp_path, VALID))
    assert adv.window_end is None
    platform = [d for d in adv.digests if d.kind == "platform"][0]
    assert platform.platform == "linux/amd64" and platform.index == BAD
    assert [d.malicious for d in adv.digests] == [True, True, False]
    assert adv.mirrors == {"mirror.gcr.io": "docker.io"}
    assert len(adv.sha256) == 64


def test_offsets_are_converted_to_utc(tmp_path: Path) -> None:
    text = VALID.replace('start = "2026-04-22T12:35:00Z"', 'start = "2026-04-22T14:35:00+02:00"')
    adv = load_advisory(write(tmp_path, text))
    assert adv.window_start.isoformat() == "2026-04-22T12:35:00+00:00"


ERRORS = [
    ("id = ", "(toml)", "invalid TOML"),
    (VALID.replace('start = "2026-04-22T12:35:00Z"', ""), "window.start", "required"),
    (VALID.replace(BAD + '"', 'sha256:abc"', 1), "images[0].malicious[0]", "malformed digest"),
    (
        VALID.replace("[window]\n", '[window]\nend = "2026-04-01T00:00:00Z"\n'),
        "window.end",
        "is before window.start",
    ),
    ('colour = "red"\n' + VALID, "colour", "unknown key"),
    (
        VALID.replace('tags = ["latest"]', 'tags = ["latest"]\nlabels = []'),
        "images[0].labels",
        "unknown key",
    ),
    (
        VALID.replace("2026-04-22T12:35:00Z", "2026-04-22T12:35:00"),
        "window.start",
        "needs a UTC offset",
    ),
    (
        VALID.replace('kind = "platform"', 'kind = "layer"'),
        "images[0].malicious[1].kind",
        "must be one of",
    ),
    (
        VALID.replace('name = "checkmarx/kics"', 'name = "Not A Ref"'),
        "images[0].name",
        "not an image reference",
    ),
    ('id = "x"\n[window]\nstart = "2026-04-22T12:35:00Z"\n', "images", "at least one"),
]


@pytest.mark.parametrize(("text", "key", "problem"), ERRORS)
def test_invalid_advisory_exits_2_naming_file_key_problem(
    tmp_path: Path, runner: CliRunner, text: str, key: str, problem: str
) -> None:
    adv = write(tmp_path, text)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["investigate", str(SAMPLE), "--advisory", str(adv), "--out", str(out)]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {adv}: {key}: ")
    assert problem in lines[0]
    assert not out.exists()


def test_missing_advisory_file(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryError, match=r"nope.toml: \(file\): cannot read"):
        load_advisory(tmp_path / "nope.toml")

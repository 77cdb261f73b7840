"""The report in a real browser: Debian's chromium driven by Playwright (no download)."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from forensics.cli import app

from .conftest import KICS

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PAYLOAD = "<img src=x onerror=alert(1)><script>alert(2)</script>"
LOG = "\n".join(
    [
        "\ufeff2026-04-22T12:40:00.0000000Z Current runner version: '2.334.0'",
        f"2026-04-22T12:41:00.0000000Z ##[group]Pull down action image 'checkmarx/kics:v2.1.20' {PAYLOAD}",
        "2026-04-22T12:41:00.0000001Z ##[command]/usr/bin/docker pull checkmarx/kics:v2.1.20",
        "2026-04-22T12:41:01.0000000Z v2.1.20: Pulling from checkmarx/kics",
        "2026-04-22T12:41:02.0000000Z Digest: sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d",
        "2026-04-22T12:41:02.1000000Z Status: Downloaded newer image for checkmarx/kics:v2.1.20",
        "2026-04-22T13:00:00.0000000Z docker pull -q checkmarx/kics:latest",
    ]
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "chromium is not installed: run tests/tools/ensure_chromium.sh (make test does)"
        )
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    run = root / "bundle" / "github" / "acme" / "x" / "1"
    run.mkdir(parents=True)
    (run / "0_scan.txt").write_text(LOG + "\n", encoding="utf-8")
    jobs = {"total_count": 1, "jobs": [{"id": 1, "name": f"scan {PAYLOAD}", "runner_name": "r"}]}
    (run / "jobs.json").write_text(json.dumps(jobs, indent=2))
    out = root / "out"
    args = ["investigate", str(root / "bundle"), "--advisory", str(KICS), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def open_report(
    browser: Any, path: Path, javascript: bool = True
) -> tuple[Any, dict[str, list[str]]]:
    seen: dict[str, list[str]] = {"requests": [], "console": [], "dialogs": []}
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    url = path.resolve().as_uri()
    page.on("request", lambda r: r.url != url and seen["requests"].append(r.url))
    page.on("console", lambda m: m.type == "error" and seen["console"].append(m.text))
    page.on("pageerror", lambda e: seen["console"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, seen


def test_sample_report_is_offline_and_clean(browser: Any, sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    page, seen = open_report(browser, out / "report.html")
    assert seen == {"requests": [], "console": [], "dialogs": []}
    findings = json.loads((out / "findings.json").read_text())
    marks = page.locator("svg a")
    assert marks.count() == findings["uses"]["judged"] + findings["uses"]["counted_only"]
    assert page.locator("text=kics-2026-04-22").count() >= 1


def test_hostile_log_text_stays_text(browser: Any, hostile_report: Path) -> None:
    page, seen = open_report(browser, hostile_report / "report.html")
    assert seen["dialogs"] == [] and seen["requests"] == [] and seen["console"] == []
    body = page.inner_text("body")
    assert PAYLOAD in body
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 0


def test_clicking_a_mark_goes_to_its_evidence(browser: Any, hostile_report: Path) -> None:
    page, _ = open_report(browser, hostile_report / "report.html")
    mark = page.locator("svg a").first
    target = mark.get_attribute("href")
    assert target and target.startswith("#ev-")
    mark.click()
    assert page.evaluate("location.hash") == target
    row = page.locator(target)
    assert row.is_visible()
    assert "checkmarx/kics" in row.inner_text()


def test_tables_without_javascript(browser: Any, sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    page, _ = open_report(browser, out / "report.html", javascript=False)
    assert page.locator("table").count() >= 5
    assert "terraform-scan" in page.inner_text("body")

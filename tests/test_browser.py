"""The report in a real browser: Debian's chromium driven by Playwright (no download)."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from forensics.cli import app
from forensics.reports.render import render_report

from .conftest import KICS
from .test_report import lanes_data

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


@pytest.fixture(scope="module")
def grouped_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic report with more lanes than one SVG shows: lanes collapse by project."""
    path = tmp_path_factory.mktemp("grouped") / "report.html"
    path.write_text(render_report(lanes_data(n_projects=20, jobs_per_project=10)), "utf-8")
    return path


def open_report(
    browser: Any, path: Path, javascript: bool = True
) -> tuple[Any, dict[str, list[str]]]:
    """Open a report from file://, recording (and refusing) every request other than the page."""
    seen: dict[str, list[str]] = {"requests": [], "console": [], "dialogs": []}
    context = browser.new_context(java_script_enabled=javascript)
    url = path.resolve().as_uri()

    def refuse(route: Any) -> None:  # a request that got past the page's CSP: never let it out
        seen.setdefault("routed", []).append(route.request.url)
        route.abort()

    context.route(lambda u: u.split("#")[0] != url, refuse)
    page = context.new_page()
    page.on("request", lambda r: r.url.split("#")[0] != url and seen["requests"].append(r.url))
    page.on("requestfailed", lambda r: seen.setdefault("failed", []).append(str(r.failure)))
    page.on("console", lambda m: m.type in ("error", "warning") and seen["console"].append(m.text))
    page.on("pageerror", lambda e: seen["console"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, seen


def in_viewport(page: Any, selector: str) -> bool:
    return bool(
        page.evaluate(
            """s => { const r = document.querySelector(s).getBoundingClientRect();
                      return r.bottom > 0 && r.top < window.innerHeight; }""",
            selector,
        )
    )


def test_sample_report_is_offline_and_clean(browser: Any, sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    page, seen = open_report(browser, out / "report.html")
    # a CSP violation (a blocked style, script or request) would show as a console error
    assert seen == {"requests": [], "console": [], "dialogs": []}, seen
    findings = json.loads((out / "findings.json").read_text())
    marks = page.locator("svg.timeline a.use")
    assert marks.count() == findings["uses"]["judged"] + findings["uses"]["counted_only"]
    assert page.locator("text=kics-2026-04-22").count() >= 1
    assert page.locator(".filters select").count() == 4  # jobs: verdict, CI, project; hosts


def test_csp_is_enforced(browser: Any, sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    page, seen = open_report(browser, out / "report.html")
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.injected = 1'; document.body.appendChild(s);
                   const i = document.createElement('img'); i.src = 'https://example.org/x.png';
                   document.body.appendChild(i); }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.injected") is None
    assert sum("Content Security Policy" in m for m in seen["console"]) == 2, seen
    assert seen["requests"] == ["https://example.org/x.png"] and seen["failed"] == ["csp"]
    assert "routed" not in seen  # blocked by the page itself, before any network access


def test_hostile_log_text_stays_text(browser: Any, hostile_report: Path) -> None:
    page, seen = open_report(browser, hostile_report / "report.html")
    assert seen["dialogs"] == [] and seen["requests"] == [] and seen["console"] == []
    assert PAYLOAD in (page.locator("#evidence-table").text_content() or "")
    row = page.locator("#evidence-table tr", has_text="Pull down action image").first
    row.scroll_into_view_if_needed()
    playwright.expect(row).to_contain_text(PAYLOAD, use_inner_text=True)  # rendered, as text
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 1  # the report's own, pinned by hash
    page.locator("#jobs-table-filter-verdict").select_option("confirmed")
    page.locator("svg.timeline a.use").first.focus()
    assert seen["dialogs"] == [] and seen["console"] == []


def test_clicking_a_mark_goes_to_its_evidence(browser: Any, hostile_report: Path) -> None:
    page, _ = open_report(browser, hostile_report / "report.html")
    mark = page.locator("svg.timeline a.use").first
    target = mark.get_attribute("href")
    assert target and target.startswith("#ev-")
    mark.click()
    assert page.evaluate("location.hash") == target
    assert page.evaluate("document.querySelector(':target').id") == target[1:]
    assert in_viewport(page, target)
    assert "checkmarx/kics" in page.locator(target).inner_text()


def test_focusing_a_mark_shows_what_it_is(browser: Any, sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    page, _ = open_report(browser, out / "report.html")
    mark = page.locator("svg.timeline a.use.v-confirmed").first
    title = mark.locator("title").text_content()
    mark.focus()
    tip = page.locator("#timeline-tip")
    assert tip.is_visible()
    assert tip.text_content() == title and "confirmed" in (title or "")
    page.locator("#jobs-table-filter-verdict").focus()
    assert not tip.is_visible()


def job_rows(page: Any) -> Any:
    return page.locator("#jobs-table tbody tr:not([hidden])")


def test_verdict_filter_narrows_the_table(browser: Any, sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    findings = json.loads((out / "findings.json").read_text())
    confirmed = [j for j in findings["jobs"] if j["verdict"] == "confirmed"]
    page, seen = open_report(browser, out / "report.html")
    assert job_rows(page).count() == len(findings["jobs"])
    page.locator("#jobs-table-filter-verdict").select_option("confirmed")
    assert 0 < job_rows(page).count() == len(confirmed) < len(findings["jobs"])
    assert job_rows(page).locator("td.v-confirmed").count() == len(confirmed)
    assert "of" in page.locator("#jobs .filters .count").inner_text()
    project = confirmed[0]["project"]
    page.locator("#jobs-table-filter-project").select_option(project)
    expected = [j for j in confirmed if j["project"] == project]
    assert job_rows(page).count() == len(expected)
    page.locator("#jobs-table-filter-verdict").select_option("")
    page.locator("#jobs-table-filter-project").select_option("")
    assert job_rows(page).count() == len(findings["jobs"])
    assert seen["console"] == []


def test_clicking_a_header_sorts(browser: Any, sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    page, _ = open_report(browser, out / "report.html")
    header = page.locator("#jobs-table thead").first.locator("th", has_text="Project")
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    projects = job_rows(page).locator("td:nth-child(3)").all_inner_texts()
    assert projects == sorted(projects)
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert job_rows(page).locator("td:nth-child(3)").all_inner_texts() == sorted(projects)[::-1]
    verdict = page.locator("#jobs-table thead").first.locator("th", has_text="Verdict")
    verdict.locator("button").click()
    cells = job_rows(page).locator("td:nth-child(1)").all_inner_texts()
    order = ["confirmed", "likely", "possible", "cleared"]
    ranks = [next(i for i, v in enumerate(order) if v in c) for c in cells]
    assert ranks == sorted(ranks)


def test_zoom_moves_marks_without_distorting_them(
    browser: Any, sample_run: tuple[Path, Any]
) -> None:
    out, _ = sample_run
    page, seen = open_report(browser, out / "report.html")
    mark = page.locator("#timeline-svg a.use.v-confirmed").first
    before = mark.locator("use").bounding_box()
    outside = page.locator("#timeline-svg a.use.v-cleared").count()
    page.get_by_role("button", name="Exposure window").click()
    assert page.get_by_role("button", name="Exposure window").get_attribute("aria-pressed") == (
        "true"
    )
    after = mark.locator("use").bounding_box()
    assert after["x"] != pytest.approx(before["x"], abs=2)  # spread out around the window
    assert after["width"] == pytest.approx(before["width"], abs=0.5)
    assert after["height"] == pytest.approx(before["height"], abs=0.5)
    assert page.locator("#timeline-svg.zoomed").count() == 1
    assert page.locator("#timeline-svg a.use.out").count() >= 1  # uses long before the window
    assert page.locator("#timeline-svg a.use.v-cleared:not(.out)").count() < outside
    page.get_by_role("button", name="Whole incident").click()
    back = mark.locator("use").bounding_box()
    assert back["x"] == pytest.approx(before["x"], abs=0.5)
    assert page.locator("#timeline-svg a.use.out").count() == 0
    assert seen["console"] == []


def test_tables_without_javascript(browser: Any, sample_run: tuple[Path, Any]) -> None:
    out, _ = sample_run
    page, seen = open_report(browser, out / "report.html", javascript=False)
    assert page.locator("table").count() >= 8
    for table in ("#jobs-table", "#hosts-table", "#evidence-table", "#manifest-table"):
        assert page.locator(f"{table} tbody tr").count() >= 1, table
    assert "terraform-scan" in page.inner_text("#jobs-table")
    assert page.locator("select").count() == 0 and page.locator("button").count() == 0
    assert page.locator("svg.timeline a.use").count() >= 1
    assert seen["requests"] == [] and seen["console"] == []


def test_grouped_timeline_opens_a_group(browser: Any, grouped_report: Path) -> None:
    page, seen = open_report(browser, grouped_report)
    groups = page.locator("details.tl-group")
    assert groups.count() == 23
    assert page.locator("details.tl-group[open]").count() == 0
    assert page.locator("#timeline-svg a.agg-zoom:visible").count() == 0
    page.get_by_role("button", name="Exposure window").click()
    assert page.locator("#timeline-svg a.agg-full:visible").count() == 0
    assert page.locator("#timeline-svg a.agg-zoom:visible").count() > 0
    page.get_by_role("button", name="Whole incident").click()
    agg = page.locator("#timeline-svg a.agg-full").first
    target = agg.get_attribute("href")
    agg.click()
    assert page.locator(f"{target}[open]").count() == 1
    mark = page.locator(f"{target} a.use").first
    evidence = mark.get_attribute("href")
    mark.click()
    assert in_viewport(page, evidence)
    page.get_by_role("button", name="Expand all groups").click()
    assert page.locator("details.tl-group[open]").count() == 23
    page.get_by_role("button", name="Collapse all groups").click()
    assert page.locator("details.tl-group[open]").count() == 0
    assert seen == {"requests": [], "console": [], "dialogs": []}

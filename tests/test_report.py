"""Tests for the HTML report: structure is checked by parsing, never by string matching."""

import base64
import copy
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib.resources import files
from typing import Any, cast

import pytest

from forensics.reports.render import ReportData, evidence_index, render_report
from forensics.reports.tables import evidence_chunks
from forensics.reports.timeline import MAX_LANES

from .bench.report_scale import synthetic_data

SCAN_LOG = "github/acme/api/9001/logs.zip!0_scan.txt"
EVIL_LOG = "github/acme/api/9002/logs.zip!0_evil.txt"
WEB_LOG = "gitlab/acme/web/31/job.log"
HOST_LOG = "hosts/build-07/journal.txt"
AUDIT_LOG = "registry/audit.log"
EVIL_JOB = '"><svg onload=alert(1)>'
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
DIGEST = "sha256:" + "d" * 64
KICS = "docker.io/checkmarx/kics"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "area", "base", "source"}
LOADING_ATTRS = {"src", "srcset", "data", "poster", "action", "formaction", "background", "ping"}
CSP = "content-security-policy"
SQL = "SELECT * FROM jobs WHERE ts < $window_end -- </code></pre><script>alert(3)</script>"


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    ancestors: tuple[tuple[str, str | None], ...]

    def inside(self, tag: str, elem_id: str | None = None) -> bool:
        return any(t == tag and (elem_id is None or i == elem_id) for t, i in self.ancestors)

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()


@dataclass
class Doc(HTMLParser):
    elements: list[Element] = field(default_factory=list)
    texts: list[tuple[str, tuple[tuple[str, str | None], ...]]] = field(default_factory=list)
    stack: list[tuple[str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs), tuple(self.stack)))
        if tag not in VOID:
            self.stack.append((tag, dict(attrs).get("id")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs), tuple(self.stack)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.texts.append((data, tuple(self.stack)))

    def find(self, tag: str, cls: str | None = None) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and (cls is None or e.has_class(cls))]

    def by_id(self, elem_id: str) -> Element:
        (element,) = [e for e in self.elements if e.attrs.get("id") == elem_id]
        return element

    def text(self) -> str:
        return "".join(t for t, _ in self.texts)

    def texts_in(self, tag: str, elem_id: str | None = None) -> list[str]:
        """Text chunks inside an element ``tag`` (with id ``elem_id`` if given)."""
        return [
            t for t, stack in self.texts
            if any(s == tag and (elem_id is None or i == elem_id) for s, i in stack)
        ]  # fmt: skip

    def texts_directly_in(self, tag: str) -> list[str]:
        return [t for t, stack in self.texts if stack and stack[-1][0] == tag]

    def rows_in(self, elem_id: str) -> list[Element]:
        return [e for e in self.find("tr") if e.inside("div", elem_id) and e.inside("tbody")]


def parse(html: str) -> Doc:
    doc = Doc()
    doc.feed(html)
    doc.close()
    return doc


def job(project: str, run: str, name: str, verdict: str, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "ci": "github" if project == "acme/api" else "gitlab",
        "project": project,
        "run": run,
        "job": name,
        "runner": None,
        "host": None,
        "verdict": verdict,
        "reason": f"{verdict}: pulled {KICS}:latest in the window",
        "image": KICS,
        "tag": "latest",
        "digest": DIGEST,
        "first_use": "2026-04-22T12:41:07.123456Z",
        "secrets": [],
        "evidence": [],
    }
    return base | extra


def use(
    lane: str, kind: str, group: str, verdict: str | None, **extra: object
) -> dict[str, object]:
    base: dict[str, object] = {
        "lane": lane,
        "lane_kind": kind,
        "group": group,
        "verdict": verdict,
        "image": KICS,
        "tag": "latest",
        "digest": DIGEST,
        "ts_lo": "2026-04-22T12:41:07.123456Z",
        "ts_hi": "2026-04-22T12:41:07.123456Z",
        "file": SCAN_LOG,
        "line": 57,
        "reason": "pulled in the window",
        "action": "pull",
    }
    return base | extra


def findings() -> dict[str, object]:
    return {
        "format": "forensics-findings/1",
        "advisory": {"id": "KICS-2026-04-22", "sha256": "a" * 64},
        "window": {"start": "2026-04-22T12:35:00Z", "end": None},
        "jobs": [
            job("acme/web", "30", "lint", "cleared", evidence=[{"file": WEB_LOG, "line": 3}]),
            job("acme/api", "9001", "scan", "confirmed",
                secrets=["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"],
                evidence=[{"file": SCAN_LOG, "line": 57}, {"file": SCAN_LOG, "line": 12}]),
            job("acme/api", "9002", EVIL_JOB, "likely", runner="runner-07",
                secrets=["GITHUB_TOKEN"], evidence=[{"file": EVIL_LOG, "line": 4}]),
            job("acme/web", "31", "lint", "possible", host="build-07", first_use=None,
                evidence=[{"file": WEB_LOG, "line": 9}]),
        ],
        "hosts": [
            {"host": "build-07", "verdict": "likely", "reason": "container created", "image": KICS,
             "tag": "latest", "digest": None, "first_use": "2026-04-22T13:02:00Z",
             "still_present": None, "evidence": [{"file": HOST_LOG, "line": 2}]},
            {"host": "runner-09", "verdict": "cleared", "reason": "known-good digest",
             "image": KICS, "tag": "v2.1.20", "digest": "sha256:" + "e" * 64,
             "first_use": "2026-04-22T12:50:00Z",
             "still_present": False, "evidence": [{"file": HOST_LOG, "line": 5}]},
        ],
        "secrets": [
            {"name": "GITHUB_TOKEN", "ci": "github", "project": "acme/api", "verdict": "confirmed",
             "jobs": ["acme/api/9001/scan", f"acme/api/9002/{EVIL_JOB}"],
             "first_exposed": "2026-04-22T12:41:07.123456Z", "expires_with_job": True,
             "permissions": {"pull-requests": "write", "contents": "read"},
             "evidence": [{"file": SCAN_LOG, "line": 20}]},
            {"name": "AWS_SECRET_ACCESS_KEY", "ci": "github", "project": "acme/api",
             "verdict": "confirmed", "jobs": ["acme/api/9001/scan"],
             "first_exposed": "2026-04-22T12:41:07.123456Z", "expires_with_job": False,
             "permissions": None, "evidence": []},
        ],
        "coverage": {"files": 4, "lines": 48210, "unparsed_lines": 3, "errors": [
            {"file": "notes.bin", "line": None, "reason": "unrecognized format"},
            {"file": WEB_LOG, "line": 7, "reason": "bad timestamp <b>x</b>"},
        ]},
    }  # fmt: skip


def evidence_lines() -> list[dict[str, object]]:
    return [
        {"file": AUDIT_LOG, "line": 1, "text": '"digest": "sha256:dddd"'},
        {"file": AUDIT_LOG, "line": 2, "text": '"tag": "v2.1.20"'},
        {"file": EVIL_LOG, "line": 4, "text": f"Run {EVIL_JOB} {SCRIPT} {IMG}"},
        {"file": HOST_LOG, "line": 2, "text": "container create kics"},
        {"file": HOST_LOG, "line": 5, "text": "container create kics:v2.1.20"},
        {"file": SCAN_LOG, "line": 12, "text": "Pulling image"},
        {"file": SCAN_LOG, "line": 20, "text": "  GITHUB_TOKEN: ***"},
        {"file": SCAN_LOG, "line": 57, "text": f'msg="{SCRIPT}" {IMG}'},
        {"file": WEB_LOG, "line": 3, "text": "docker pull checkmarx/kics:latest"},
        {"file": WEB_LOG, "line": 9, "text": "Using docker image checkmarx/kics"},
    ]  # fmt: skip


def input_files() -> list[dict[str, object]]:
    return [
        {"path": SCAN_LOG, "size": 2048, "sha256": "b" * 64, "format": "github-actions",
         "status": "parsed", "lines": 40000, "unparsed_lines": 1},
        {"path": WEB_LOG, "size": 1024, "sha256": "c" * 64, "format": "gitlab-job",
         "status": "parsed", "lines": 8210, "unparsed_lines": 2},
        {"path": "notes.bin", "size": 10, "sha256": "f" * 64, "format": None,
         "status": "unrecognized", "lines": 0, "unparsed_lines": 0},
        {"path": "github/acme/api/9001/logs.zip", "size": 4096, "sha256": "9" * 64,
         "format": None, "status": "archive", "lines": 0, "unparsed_lines": 0},
        {"path": HOST_LOG, "size": 99, "sha256": "8" * 64, "format": "journal",
         "status": "parsed", "lines": 80, "unparsed_lines": 0},
    ]  # fmt: skip


def queries() -> list[dict[str, object]]:
    return [
        {"name": "use_verdicts", "purpose": "Every use, with its verdict.", "sql": SQL,
         "params": {"window_start": "2026-04-22T12:35:00Z", "window_end": None}},
        {"name": "job_verdicts", "purpose": "Each job's strongest verdict.",
         "sql": "SELECT * FROM actor_verdicts WHERE kind = 'job'", "params": {}},
    ]  # fmt: skip


def make_data() -> ReportData:
    data = {
        "tool": {"name": "forensics", "version": "0.1.0"},
        "generated_at": None,
        "advisory": {
            "id": "KICS-2026-04-22",
            "title": "checkmarx/kics tags overwritten with a credential stealer",
            "references": ["https://example.org/advisory/kics", "internal ticket INC-42"],
            "path": "sample_logs/advisories/kics-2026-04-22.toml",
            "sha256": "a" * 64,
            "window": {"start": "2026-04-22T12:35:00.000000Z", "end": None},
            "images": [{"name": KICS, "tags": ["latest", "v2.1.20"], "digests": [
                {"digest": DIGEST, "kind": "index", "malicious": True, "platform": None}]}],
        },
        "findings": findings(),
        "uses": [
            use("acme/api/9001/scan", "job", "acme/api", "confirmed"),
            use(f"acme/api/9002/{EVIL_JOB}", "job", "acme/api", "likely", file=EVIL_LOG, line=4,
                ts_lo="2026-04-22T12:50:00.000000Z", ts_hi="2026-04-22T13:40:00.000000Z"),
            use("acme/web/31/lint", "job", "acme/web", "possible", file=WEB_LOG, line=9,
                ts_lo=None, ts_hi=None),
            use("acme/web/30/lint", "job", "acme/web", "cleared", file=WEB_LOG, line=3,
                ts_lo="2026-04-22T12:20:00.000000Z", ts_hi="2026-04-22T12:20:00.000000Z"),
            use("build-07", "host", "hosts", "likely", file=HOST_LOG, line=2,
                action="container-create", ts_lo="2026-04-22T13:02:00.000000Z",
                ts_hi="2026-04-22T13:02:00.000000Z"),
            use("runner-09", "host", "hosts", None, file=HOST_LOG, line=77, digest=None),
        ],
        "tag_pushes": [
            {"image": KICS, "tag": "latest", "digest": DIGEST, "action": "push", "actor": "mallory",
             "ts": "2026-04-22T12:36:00.000000Z", "malicious": True, "file": AUDIT_LOG,
             "line": 1},
            {"image": KICS, "tag": "v2.1.20", "digest": None, "action": "push", "actor": None,
             "ts": None, "malicious": False, "file": AUDIT_LOG, "line": 2},
        ],
        "evidence": evidence_lines(),
        "files": input_files(),
        "findings_sha256": "5" * 64,
        "secret_cells": [
            {"project": "acme/api", "name": "GITHUB_TOKEN", "job": "acme/api/9001/scan",
             "file": SCAN_LOG, "line": 20},
            {"project": "acme/api", "name": "GITHUB_TOKEN", "job": f"acme/api/9002/{EVIL_JOB}",
             "file": EVIL_LOG, "line": 4},
        ],
        "queries": queries(),
        "gaps": ["1 job has tag-only evidence: their verdicts rest on the window, not on a digest.",
                 "No host image inventory was collected <i>at all</i>."],
    }  # fmt: skip
    return cast(ReportData, data)


@pytest.fixture(name="data")
def fixture_data() -> ReportData:
    return make_data()


@pytest.fixture(name="doc")
def fixture_doc(data: ReportData) -> Doc:
    return parse(render_report(data))


def use_marks(doc: Doc) -> list[Element]:
    return [e for e in doc.find("a", "use") if e.inside("svg")]


def csp_directives(doc: Doc) -> dict[str, list[str]]:
    metas = doc.find("meta")
    (meta,) = [m for m in metas if (m.attrs.get("http-equiv") or "").lower() == CSP]
    out = {}
    for part in (meta.attrs.get("content") or "").split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def definitions(doc: Doc, section: str) -> dict[str, str]:
    """The ``<dt>``/``<dd>`` pairs of a section, as text."""
    out: dict[str, str] = {}
    term = None
    for text, stack in doc.texts:
        if ("section", section) not in stack:
            continue
        if stack[-1][0] == "dt":
            term = text
            out[term] = ""
        elif term is not None and any(tag == "dd" for tag, _ in stack):
            out[term] += text
    return out


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- safety: CSP, one inline script, no handlers, nothing loaded, payloads are text -------------


def test_csp_pins_the_inline_script_and_style_by_hash(doc: Doc) -> None:
    csp = csp_directives(doc)
    assert csp["default-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'none'"]
    assert csp["img-src"] == ["data:"]
    scripts, styles = doc.find("script"), doc.find("style")
    assert len(scripts) == 1 and len(styles) == 1
    assert scripts[0].attrs == {}  # inline, no src, no type
    script = "".join(doc.texts_directly_in("script"))
    style = "".join(doc.texts_directly_in("style"))
    assert csp["script-src"] == [sha256_source(script)]
    assert csp["style-src"] == [sha256_source(style)]
    assert all("unsafe" not in v for values in csp.values() for v in values)
    shipped = files("forensics.reports").joinpath("templates", "report.js").read_text()
    assert script == shipped.replace("\r\n", "\n")
    metas = doc.find("meta")
    assert metas.index(next(m for m in metas if m.attrs.get("http-equiv"))) < 2  # early in <head>


def test_script_builds_dom_without_markup_or_eval(doc: Doc) -> None:
    script = "".join(doc.texts_directly_in("script"))
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                   "new Function", "setAttribute(\"style\"", "setAttribute('style'"):  # fmt: skip
        assert banned not in script, banned


def test_no_event_handlers_or_inline_styles(doc: Doc) -> None:
    handlers = [(e.tag, a) for e in doc.elements for a in e.attrs if a.lower().startswith("on")]
    assert handlers == []
    assert [e.tag for e in doc.elements if "style" in e.attrs] == []
    values = [v or "" for e in doc.elements for v in e.attrs.values()]
    assert not [v for v in values if v.strip().lower().startswith("javascript:")]


def test_payloads_are_text(doc: Doc) -> None:
    text = doc.text()
    assert SCRIPT in text and IMG in text and EVIL_JOB in text
    evidence_cells = "".join(t for t, s in doc.texts if ("div", "evidence-table") in s)
    assert SCRIPT in evidence_cells and IMG in evidence_cells
    assert EVIL_JOB in "".join(doc.texts_in("div", "jobs-table"))
    assert EVIL_JOB in "".join(doc.texts_in("svg", "timeline-svg"))
    assert doc.find("img") == []
    assert len(doc.find("script")) == 1
    assert "<i>at all</i>" in "".join(doc.texts_in("ul"))  # gaps are text too
    assert [e for e in doc.find("svg") if e.attrs.get("onload") is not None] == []


def test_nothing_is_loaded(doc: Doc) -> None:
    loaders = ("link", "img", "iframe", "object", "embed", "base", "form", "image")
    for tag in (*loaders, "foreignobject", "audio", "video"):
        assert doc.find(tag) == [], tag
    for element in doc.elements:
        assert not LOADING_ATTRS & set(element.attrs), element
        assert "url(" not in " ".join(v or "" for v in element.attrs.values())
        href = element.attrs.get("href") or element.attrs.get("xlink:href")
        if href is None:
            continue
        if element.tag == "use":
            assert re.fullmatch(r"#(mk|tl)-[a-z-]+", href), href
        else:
            assert element.tag == "a"
            assert href.startswith("#") or href.startswith("https://")
            rel = set((element.attrs.get("rel") or "").split())
            assert not {"prefetch", "preload", "prerender"} & rel
    style = "".join(doc.texts_directly_in("style"))
    assert "body" in style
    assert "url(" not in style and "@import" not in style and "@font-face" not in style


def test_references_are_plain_links(doc: Doc) -> None:
    external = [
        e.attrs["href"] for e in doc.find("a") if not (e.attrs.get("href") or "#").startswith("#")
    ]
    assert external == ["https://example.org/advisory/kics"]
    assert "internal ticket INC-42" in doc.text()


def test_every_link_target_exists(doc: Doc) -> None:
    ids = [e.attrs["id"] for e in doc.elements if e.attrs.get("id")]
    assert len(ids) == len(set(ids))
    for element in doc.elements:
        href = element.attrs.get("href") or ""
        if href.startswith("#"):
            assert href[1:] in ids, href


# -- summary -----------------------------------------------------------------------------------


def test_summary_counts_and_what_could_not_be_checked(doc: Doc) -> None:
    cells = [t for t, s in doc.texts if ("table", "verdicts-table") in s and s[-1][0] == "td"]
    assert cells == ["1", "1", "1", "1", "4", "0", "1", "0", "1", "2"]  # jobs, hosts (+ total)
    terms = definitions(doc, "summary")
    assert terms["Advisory"].startswith("KICS-2026-04-22: checkmarx/kics tags overwritten")
    assert terms["Exposure window"] == "2026-04-22 12:35:00Z – open-ended"
    assert terms["Secrets to rotate"] == "2" and terms["Hosts to purge"] == "1"
    assert terms["Inputs read"] == "4 files, 48,210 lines (manifest)"
    unchecked = "".join(t for t, s in doc.texts if ("section", "summary") in s and s[-1][0] == "li")
    assert "2 errors in 2 files, 3 lines not understood, 1 file in an unrecognized format" in (
        unchecked
    )
    assert "1 job has tag-only evidence" in unchecked


def test_summary_says_when_everything_was_checked(data: ReportData) -> None:
    data["findings"]["coverage"] |= {"errors": [], "unparsed_lines": 0}
    data["files"] = [f for f in data["files"] if f["format"] or f["status"] == "archive"]
    data["gaps"] = []
    doc = parse(render_report(data))
    notes = "".join(t for t, s in doc.texts if ("section", "summary") in s and s[-1][0] == "p")
    assert "Every input line was understood" in notes


# -- timeline ----------------------------------------------------------------------------------


def test_one_mark_per_use_linking_to_its_evidence_row(data: ReportData, doc: Doc) -> None:
    marks = use_marks(doc)
    assert len(marks) == len(data["uses"])
    index = evidence_index(data)
    rows = {r.attrs.get("id") for r in doc.rows_in("evidence-table")}
    hrefs = sorted(m.attrs["href"] or "" for m in marks)
    assert hrefs == sorted("#" + index[(u["file"], u["line"])] for u in data["uses"])
    assert {h[1:] for h in hrefs} <= rows
    titles = [e for e in doc.find("title") if e.inside("a") and e.inside("svg", "timeline-svg")]
    assert len(titles) == len(marks) + len(data["tag_pushes"])


def test_marks_are_shaped_per_verdict_and_intervals_are_bars(doc: Doc) -> None:
    marks = use_marks(doc)
    shapes = {e.attrs["id"]: e.attrs["d"] for e in doc.find("path") if e.attrs.get("id")}
    placed = []
    for n, element in enumerate(doc.elements):
        if element in marks:
            shape = next(e for e in doc.elements[n:] if e.tag == "use")
            verdict = (element.attrs["class"] or "").removeprefix("use v-")
            assert shape.attrs["href"] == f"#mk-{verdict}"
            placed.append(verdict)
    assert sorted(placed) == ["cleared", "confirmed", "likely", "likely", "none", "possible"]
    solid = [shapes[f"mk-{v}"] for v in ("confirmed", "likely", "cleared", "none")]
    assert len(set(solid)) == 4  # possible: the likely circle, hollow (see the stylesheet)
    uses = [e for e in doc.find("use") if e.inside("a") and e.inside("svg", "timeline-svg")]
    assert len(uses) == len(marks) + 2  # and two tag pushes
    bars = [e for e in doc.find("line", "bar") if e.inside("a")]
    assert len(bars) == 1  # the one use with an interval
    assert "unknown" in doc.texts_in("svg", "timeline-svg")  # the "time unknown" column


def test_tag_pushes_are_marked_and_linked(data: ReportData, doc: Doc) -> None:
    pushes = [e for e in doc.find("a", "push") if e.inside("svg", "timeline-svg")]
    assert sorted(e.attrs["class"] or "" for e in pushes) == ["push push-bad", "push push-ok"]
    index = evidence_index(data)
    assert {p.attrs["href"] for p in pushes} == {"#" + index[(AUDIT_LOG, 1)],
                                                 "#" + index[(AUDIT_LOG, 2)]}  # fmt: skip


def test_tick_labels_are_readable_utc(doc: Doc) -> None:
    for ticks in ("tl-ticks-full", "tl-ticks-zoom"):
        texts = doc.texts_in("g", ticks)
        dates = [t for t in texts if re.fullmatch(r"\d{4}-\d\d-\d\d", t)]
        times = [t for t in texts if re.fullmatch(r"\d\d:\d\d(:\d\d)?", t)]
        assert 4 <= len(dates) == len(times) <= 11, ticks
    svgs = doc.find("svg", "timeline")
    ticks = [e.attrs["href"] for e in doc.find("use") if e.has_class("ticks-full")]
    zoom_ticks = [e.attrs["href"] for e in doc.find("use") if e.has_class("ticks-zoom")]
    assert ticks == ["#tl-ticks-full"] * len(svgs) and zoom_ticks == ["#tl-ticks-zoom"] * len(svgs)


def test_zoom_range_is_the_window_plus_ten_percent(data: ReportData) -> None:
    data["advisory"]["window"]["end"] = "2026-04-22T13:35:00.000000Z"
    doc = parse(render_report(data))
    svg = doc.by_id("timeline-svg")
    a, b = map(float, (svg.attrs["data-zoom"] or "").split())
    (window,) = [e for e in doc.find("rect", "window") if e.inside("svg", "timeline-svg")
                 and not e.inside("g")]  # fmt: skip
    x, w = float(window.attrs["x"] or 0), float(window.attrs["width"] or 0)
    assert x - a == pytest.approx(0.1 * w, abs=0.1)
    assert b - (x + w) == pytest.approx(0.1 * w, abs=0.1)
    x0, x1 = map(float, (svg.attrs["data-plot"] or "").split())
    assert x0 < x and x + w < x1


def test_long_lane_labels_are_cut_with_a_tooltip(data: ReportData) -> None:
    long = "acme/api/9003/" + "x" * 60
    data["uses"].append(use(long, "job", "acme/api", "likely", line=58))
    doc = parse(render_report(data))
    titles = [t for t, s in doc.texts if s and s[-1][0] == "title" and ("text", None) in s]
    assert long in titles
    labels = [t for t, s in doc.texts if s and s[-1][0] == "text" and t.endswith("…")]
    assert labels and all(len(label) <= 30 for label in labels)


def lanes_data(n_projects: int, jobs_per_project: int) -> ReportData:
    data = make_data()
    uses = data["uses"]
    for p in range(n_projects):
        for j in range(jobs_per_project):
            verdict = ("confirmed", "likely", "possible", "cleared", None)[(p + j) % 5]
            uses.append(use(f"org/p{p}/{j}/scan", "job", f"org/p{p}", verdict, file=SCAN_LOG,
                            line=100 + p * 1000 + j, ts_lo=f"2026-04-22T1{j % 10}:00:00Z",
                            ts_hi=f"2026-04-22T1{j % 10}:00:00Z"))  # fmt: skip
    return data


def test_few_lanes_need_no_groups(doc: Doc) -> None:
    assert doc.find("details", "tl-group") == []
    assert [e for e in doc.find("a", "agg")] == []


def test_many_lanes_collapse_by_project(data: ReportData) -> None:
    data = lanes_data(n_projects=20, jobs_per_project=10)
    lanes = {u["lane"] for u in data["uses"]}
    assert len(lanes) > MAX_LANES
    doc = parse(render_report(data))
    groups = doc.find("details", "tl-group")
    assert len(groups) == 20 + 2 + 1  # org/p*, acme/api, acme/web, hosts
    assert len(use_marks(doc)) == len(data["uses"])
    assert [m for m in use_marks(doc) if m.inside("svg", "timeline-svg")] == []
    for group in groups:
        assert group.attrs.get("open") is None  # collapsed without JavaScript too
    overview = [e for e in doc.elements if e.inside("svg", "timeline-svg")]
    links = [e.attrs["href"] for e in overview if e.tag == "a" and e.has_class("lane-link")]
    assert sorted(links) == sorted("#" + (g.attrs["id"] or "") for g in groups)
    aggs = [e for e in overview if e.tag == "a" and e.has_class("agg")]
    assert aggs and {a.attrs["href"] for a in aggs} <= set(links)
    full = [a for a in aggs if a.has_class("agg-full")]
    zoom = [a for a in aggs if a.has_class("agg-zoom")]
    assert full and zoom and len(full) + len(zoom) == len(aggs)  # binned for each view
    summary = "".join(t for t, s in doc.texts if s and s[-1][0] in ("summary", "strong")
                      and ("details", "tl-g-3") in s)  # fmt: skip
    assert re.search(r"org/p0: 10 jobs \(2 confirmed, 2 likely, 2 possible, 2 cleared, "
                     r"2 no verdict\), 10 uses", summary), summary  # fmt: skip


# -- tables ------------------------------------------------------------------------------------


def test_jobs_table_rows_order_and_filters(doc: Doc) -> None:
    rows = doc.rows_in("jobs-table")
    assert [r.attrs["id"] for r in rows] == ["job-1", "job-2", "job-3", "job-4"]
    cells = [e for e in doc.find("td", "badge") if e.inside("div", "jobs-table")]
    verdicts = [(e.attrs["class"] or "").removeprefix("badge v-") for e in cells]
    assert verdicts == ["confirmed", "likely", "possible", "cleared"]
    heads = [e for e in doc.find("th") if e.inside("div", "jobs-table") and e.inside("thead")]
    filters = [h.attrs.get("data-filter") for h in heads[:12]]
    assert filters[:3] == ["verdict", "ci", "project"] and set(filters[3:]) == {None}
    assert doc.by_id("jobs-table").has_class("sortable")
    reasons = doc.texts_in("div", "jobs-table")
    assert "confirmed: pulled docker.io/checkmarx/kics:latest in the window" in reasons


def test_long_tables_come_in_chunks_with_the_same_columns(data: ReportData) -> None:
    data["findings"]["jobs"] = [job("acme/api", str(n), "scan", "cleared") for n in range(450)]
    doc = parse(render_report(data))
    chunks = [e for e in doc.find("div", "chunk") if e.inside("div", "jobs-table")]
    assert len(chunks) == 3
    assert len(doc.rows_in("jobs-table")) == 450
    cols = [e for e in doc.find("col") if e.inside("div", "jobs-table")]
    assert len(cols) == 3 * 12


def test_hosts_table(doc: Doc) -> None:
    text = doc.texts_in("div", "hosts-table")
    assert "unknown" in text
    assert "no" in text  # still_present False
    assert [r.attrs["id"] for r in doc.rows_in("hosts-table")] == ["host-1", "host-2"]


def test_rotate_matrix_links_cells_to_the_secret_lines(data: ReportData, doc: Doc) -> None:
    index = evidence_index(data)
    matrix = [e for e in doc.find("td", "cell")]
    assert len(matrix) == 2 * 2  # two secrets x two jobs of acme/api
    links = [e for e in doc.find("a") if e.inside("td", None) and e.inside("section", "rotate")]
    assert sorted(e.attrs["href"] for e in links) == sorted(
        ["#" + index[(SCAN_LOG, 20)], "#" + index[(EVIL_LOG, 4)]]
    )
    spans = [e for e in doc.find("span") if e.inside("td") and e.inside("section", "rotate")]
    held_unlinked = [e.attrs["title"] for e in spans if e.attrs.get("title")]
    assert held_unlinked == ["AWS_SECRET_ACCESS_KEY in acme/api/9001/scan"]
    rotate = doc.texts_in("section", "rotate")
    assert "permissions: contents: read, pull-requests: write; expires with the job" in rotate


def test_wide_rotate_matrix_is_split(data: ReportData) -> None:
    secret = data["findings"]["secrets"][1]
    secret["jobs"] = [f"acme/api/{n}/scan" for n in range(30)]
    doc = parse(render_report(data))
    captions = [t for t, s in doc.texts if s and s[-1][0] == "caption"]
    assert captions == ["Jobs 1–12 of 32", "Jobs 13–24 of 32", "Jobs 25–32 of 32"]


# -- evidence and queries ----------------------------------------------------------------------


def test_evidence_rows_in_order_with_file_headings(data: ReportData, doc: Doc) -> None:
    rows = doc.rows_in("evidence-table")
    lines = [r for r in rows if r.attrs.get("id")]
    heads = [r for r in rows if r.has_class("file")]
    index = evidence_index(data)
    assert [r.attrs["id"] for r in lines] == [index[key] for key in sorted(index)]
    assert len(heads) == len({f for f, _ in index})
    assert {index[(e["file"], e["line"])] for e in data["evidence"]} <= set(index.values())
    not_quoted = [t for t, s in doc.texts if ("tr", index[(HOST_LOG, 77)]) in s]
    assert "(line not quoted)" in not_quoted


def test_evidence_names_what_cites_each_line(data: ReportData, doc: Doc) -> None:
    index = evidence_index(data)
    cites = "".join(t for t, s in doc.texts if ("tr", index[(SCAN_LOG, 57)]) in s)
    assert "job acme/api/9001/scan" in cites
    cites = "".join(t for t, s in doc.texts if ("tr", index[(SCAN_LOG, 20)]) in s)
    assert "secret GITHUB_TOKEN in acme/api/9001/scan" in cites
    cites = "".join(t for t, s in doc.texts if ("tr", index[(AUDIT_LOG, 1)]) in s)
    assert "push push docker.io/checkmarx/kics:latest" in cites


def test_evidence_chunks_repeat_the_file_heading() -> None:
    rows = [{"file": f, "line": n, "id": f"ev-{i}"} for i, (f, n) in
            enumerate([("a", 1), ("a", 2), ("a", 3), ("b", 1)])]  # fmt: skip
    chunks = evidence_chunks(rows, 2)
    heads = [[(r["file"], r["cont"]) for r in c if r["head"]] for c in chunks]
    assert heads == [[("a", False)], [("a", True), ("b", False)]]


def test_queries_show_sql_and_bound_parameters(doc: Doc) -> None:
    blocks = doc.find("details", "sql")
    assert [b.attrs["id"] for b in blocks] == ["q-use_verdicts", "q-job_verdicts"]
    code = [t for t, s in doc.texts if s[-2:] == (("pre", None), ("code", None))]
    assert SQL in code  # the SQL is text, even its "</code><script>"
    params = [t for t, s in doc.texts if ("details", "q-use_verdicts") in s and s[-1][0] == "code"]
    assert "$window_end" in params and "NULL" in params and "2026-04-22T12:35:00Z" in params
    hint = "".join(doc.texts_in("section", "evidence"))
    assert 'forensics sql DIR "SELECT * FROM job_verdicts"' in hint
    links = [e.attrs["href"] for e in doc.find("a") if e.inside("section", "jobs")]
    assert "#q-job_verdicts" in links


# -- coverage and custody ----------------------------------------------------------------------


def test_coverage(doc: Doc) -> None:
    formats = [e for e in doc.find("tr") if e.inside("table", "formats-table")]
    assert len(formats) == 1 + 5 + 1  # header, five groups, total
    labels = doc.texts_in("table", "formats-table")
    for label in ("github-actions", "gitlab-job", "none (archive)", "unrecognized", "48,210"):
        assert label in labels
    flagged = [t for t, s in doc.texts if ("div", "flagged-files-table") in s and s[-1][0] == "td"]
    assert flagged[0::5] == [SCAN_LOG, WEB_LOG, "notes.bin"]
    everything = [e for e in doc.find("tr") if e.inside("div", "files-table")]
    assert len(everything) == 1 + 5 and doc.by_id("files-table").inside("details", "all-files")
    errors = doc.texts_in("div", "errors-table")
    assert errors.index(WEB_LOG) < errors.index("notes.bin")  # sorted by file
    assert "—" in errors and "bad timestamp <b>x</b>" in errors
    gaps = doc.texts_in("ul", "gaps")
    assert "No host image inventory was collected <i>at all</i>." in gaps


def test_chain_of_custody(data: ReportData, doc: Doc) -> None:
    rows = [e for e in doc.find("tr") if e.inside("div", "manifest-table") and e.inside("tbody")]
    assert len(rows) == len(data["files"])
    cells = doc.texts_in("div", "manifest-table")
    assert all(f["sha256"] in cells for f in data["files"])
    assert doc.texts_in("code", "findings-sha256") == ["5" * 64]
    assert doc.texts_in("code", "advisory-sha256") == ["a" * 64]
    assert "forensics 0.1.0" in "".join(doc.texts_in("section", "custody"))


def test_open_window_and_optional_generated_at(data: ReportData, doc: Doc) -> None:
    assert "open-ended" in doc.text()
    assert "Generated" not in doc.texts_directly_in("dt")
    data["generated_at"] = "2026-04-23T08:00:00.000000Z"
    later = parse(render_report(data))
    assert "Generated" in later.texts_directly_in("dt")
    assert "2026-04-23 08:00:00Z" in later.text()


# -- determinism and scale ---------------------------------------------------------------------


def shuffled(data: ReportData) -> ReportData:
    out = copy.deepcopy(data)
    for key in ("uses", "tag_pushes", "files", "evidence", "secret_cells"):
        cast(list[Any], out[key]).reverse()
    for key in ("jobs", "hosts", "secrets"):
        out["findings"][key].reverse()
    out["findings"]["coverage"]["errors"].reverse()
    token = out["findings"]["secrets"][-1]
    token["permissions"] = dict(reversed(list(token["permissions"].items())))
    for q in out["queries"]:
        q["params"] = dict(reversed(list(q["params"].items())))
    return out


def test_render_is_deterministic(data: ReportData) -> None:
    first = render_report(data)
    assert render_report(copy.deepcopy(data)) == first
    assert render_report(shuffled(data)) == first
    grouped = lanes_data(n_projects=20, jobs_per_project=10)
    assert render_report(shuffled(grouped)) == render_report(grouped)


def test_zero_uses_still_renders(data: ReportData) -> None:
    data["uses"] = []
    data["tag_pushes"] = []
    doc = parse(render_report(data))
    assert use_marks(doc) == []
    windows = [e for e in doc.find("rect", "window") if e.inside("svg", "timeline-svg")
               and not e.inside("g")]  # fmt: skip
    assert len(windows) == 1
    right = float(windows[0].attrs["x"] or 0) + float(windows[0].attrs["width"] or 0)
    assert right == pytest.approx(985.0)


def test_size_per_job_stays_bounded() -> None:
    data = synthetic_data(jobs=2_000, hosts=40, files=400)
    html = render_report(data)
    per_job = len(html.encode()) / len(data["findings"]["jobs"])
    assert per_job < 2_500, f"{per_job:.0f} bytes per job: 10,000 jobs would not fit in 25 MB"

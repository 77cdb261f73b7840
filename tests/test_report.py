"""Tests for the HTML report: structure is checked by parsing, never by string matching."""

import copy
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import cast

import pytest

from forensics.reports.render import ReportData, evidence_index, render_report

SCAN_LOG = "github/acme/api/9001/logs.zip!0_scan.txt"
EVIL_LOG = "github/acme/api/9002/logs.zip!0_evil.txt"
WEB_LOG = "gitlab/acme/web/31/job.log"
HOST_LOG = "hosts/build-07/journal.txt"
EVIL_JOB = '"><svg onload=alert(1)>'
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
DIGEST = "sha256:" + "d" * 64
KICS = "docker.io/checkmarx/kics"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "area", "base", "source"}
LOADING_ATTRS = {"src", "srcset", "data", "poster", "action", "formaction", "background", "ping"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    ancestors: tuple[tuple[str, str | None], ...]

    def inside(self, tag: str, elem_id: str | None = None) -> bool:
        return any(t == tag and (elem_id is None or i == elem_id) for t, i in self.ancestors)


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

    def find(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

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
             "permissions": {"pull-requests": "write", "contents": "read"}},
            {"name": "AWS_SECRET_ACCESS_KEY", "ci": "github", "project": "acme/api",
             "verdict": "confirmed", "jobs": ["acme/api/9001/scan"],
             "first_exposed": "2026-04-22T12:41:07.123456Z", "expires_with_job": False,
             "permissions": None},
        ],
        "coverage": {"files": 4, "lines": 48210, "unparsed_lines": 3, "errors": [
            {"file": "notes.bin", "line": None, "reason": "unrecognized format"},
            {"file": WEB_LOG, "line": 7, "reason": "bad timestamp <b>x</b>"},
        ]},
    }  # fmt: skip


def evidence_lines() -> list[dict[str, object]]:
    return [
        {"file": EVIL_LOG, "line": 4, "text": f"Run {EVIL_JOB} {SCRIPT} {IMG}"},
        {"file": HOST_LOG, "line": 2, "text": "container create kics"},
        {"file": HOST_LOG, "line": 5, "text": "container create kics:v2.1.20"},
        {"file": SCAN_LOG, "line": 12, "text": "Pulling image"},
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
             "ts": "2026-04-22T12:36:00.000000Z", "malicious": True, "file": "registry/audit.log",
             "line": 1},
            {"image": KICS, "tag": "v2.1.20", "digest": None, "action": "push", "actor": None,
             "ts": None, "malicious": False, "file": "registry/audit.log", "line": 2},
        ],
        "evidence": evidence_lines(),
        "files": input_files(),
    }  # fmt: skip
    return cast(ReportData, data)


@pytest.fixture(name="data")
def fixture_data() -> ReportData:
    return make_data()


@pytest.fixture(name="doc")
def fixture_doc(data: ReportData) -> Doc:
    return parse(render_report(data))


def timeline_marks(doc: Doc) -> list[Element]:
    return [e for e in doc.find("a") if e.inside("svg", "timeline-svg")]


def test_no_script_element_and_no_event_handler(doc: Doc) -> None:
    assert doc.find("script") == []
    handlers = [(e.tag, a) for e in doc.elements for a in e.attrs if a.lower().startswith("on")]
    assert handlers == []


def test_payloads_are_text(doc: Doc) -> None:
    text = doc.text()
    assert SCRIPT in text
    assert IMG in text
    assert EVIL_JOB in text
    evidence_code = "".join(doc.texts_directly_in("code"))
    assert SCRIPT in evidence_code and IMG in evidence_code
    assert EVIL_JOB in "".join(doc.texts_in("table", "jobs-table"))
    assert EVIL_JOB in "".join(doc.texts_in("svg", "timeline-svg"))
    assert doc.find("img") == []
    assert len(doc.find("svg")) == 1


def test_meta_charset_and_csp(doc: Doc) -> None:
    metas = doc.find("meta")
    assert any(m.attrs.get("charset") == "utf-8" for m in metas)
    csp = [m.attrs.get("content") or "" for m in metas
           if (m.attrs.get("http-equiv") or "").lower() == "content-security-policy"]  # fmt: skip
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:"]


def test_nothing_is_loaded(doc: Doc) -> None:
    for tag in ("link", "img", "iframe", "object", "embed", "base", "form", "script"):
        assert doc.find(tag) == [], tag
    for element in doc.elements:
        assert not LOADING_ATTRS & set(element.attrs), element
        assert "url(" not in " ".join(v or "" for v in element.attrs.values())
        href = element.attrs.get("href") or element.attrs.get("xlink:href")
        if href is not None:
            assert element.tag == "a"
            assert href.startswith("#") or href.startswith("https://")
            assert not {"prefetch", "preload", "prerender"} & set(
                (element.attrs.get("rel") or "").split()
            )
    style = "".join(doc.texts_directly_in("style"))
    assert "body" in style
    assert "url(" not in style and "@import" not in style


def test_references_are_plain_links(doc: Doc) -> None:
    external = [
        e.attrs["href"] for e in doc.find("a") if not (e.attrs.get("href") or "#").startswith("#")
    ]
    assert external == ["https://example.org/advisory/kics"]
    assert "internal ticket INC-42" in doc.text()


def test_one_mark_per_use_linking_to_existing_ids(data: ReportData, doc: Doc) -> None:
    marks = timeline_marks(doc)
    assert len(marks) == len(data["uses"])
    ids = {e.attrs["id"] for e in doc.elements if e.attrs.get("id")}
    for mark in marks:
        href = mark.attrs["href"] or ""
        assert href.startswith("#ev-") and href[1:] in ids
    titles = [e for e in doc.find("title") if e.inside("a") and e.inside("svg", "timeline-svg")]
    assert len(titles) == len(marks)


def test_marks_are_shaped_per_verdict_and_intervals_are_bars(doc: Doc) -> None:
    paths = [e for e in doc.find("path") if e.inside("a") and e.inside("svg", "timeline-svg")]
    classes = sorted(e.attrs["class"] or "" for e in paths)
    assert classes.count("bar v-likely") == 1
    assert classes.count("bar v-likely") + len(timeline_marks(doc)) == len(paths)
    for verdict in ("confirmed", "likely", "possible", "cleared", "none"):
        assert f"mark v-{verdict}" in classes
    assert "unknown" in doc.texts_in("svg", "timeline-svg")  # the "time unknown" column


def test_every_link_target_exists(doc: Doc) -> None:
    ids = [e.attrs["id"] for e in doc.elements if e.attrs.get("id")]
    assert len(ids) == len(set(ids))
    for element in doc.find("a"):
        href = element.attrs.get("href") or ""
        if href.startswith("#"):
            assert href[1:] in ids, href


def test_every_evidence_row_has_an_anchor(data: ReportData, doc: Doc) -> None:
    rows = [e for e in doc.find("tr") if e.inside("table", "evidence-table") and e.inside("tbody")]
    ids = [r.attrs.get("id") or "" for r in rows]
    assert all(re.fullmatch(r"ev-[0-9]+", i) for i in ids)
    index = evidence_index(data)
    assert set(ids) == set(index.values())
    assert {index[(e["file"], e["line"])] for e in data["evidence"]} <= set(ids)
    assert ids == [index[key] for key in sorted(index)]


def test_summary_shows_all_four_verdicts(doc: Doc) -> None:
    summary = doc.texts_in("section", "summary")
    in_summary = [(t, stack) for t, stack in doc.texts if ("section", "summary") in stack]
    cells = [t for t, stack in in_summary if stack[-1][0] == "td"]
    assert cells[:8] == ["1", "1", "1", "1", "0", "1", "0", "1"]  # jobs, then hosts
    headers = [
        t for t in summary if t.strip() in {"◆ confirmed", "● likely", "○ possible", "■ cleared"}
    ]
    assert len(headers) == 4
    note = "".join(doc.texts_in("p"))
    assert "2 errors in 2 files, 3 unparsed lines, 1 file in an unrecognized format" in note


def test_rotate_matrix_shows_token_permissions(doc: Doc) -> None:
    text = doc.text()
    assert "contents: read, pull-requests: write; expires with the job" in text
    assert doc.texts_in("table").count("●") == 3


def test_hosts_table(doc: Doc) -> None:
    text = doc.texts_in("table", "hosts-table")
    assert "unknown (no inventory)" in text
    assert "no" in text  # still_present False


def test_coverage(doc: Doc) -> None:
    formats = [e for e in doc.find("tr") if e.inside("table", "formats-table")]
    assert len(formats) == 1 + 4 + 1  # header, four groups, total
    labels = doc.texts_in("table", "formats-table")
    for label in ("github-actions", "gitlab-job", "none (archive)", "unrecognized", "48,210"):
        assert label in labels
    errors = doc.texts_in("table", "errors-table")
    joined = "".join(errors)  # paths are split by <wbr> break hints
    assert -1 < joined.find(WEB_LOG) < joined.find("notes.bin")  # sorted by file
    assert "—" in errors and "bad timestamp <b>x</b>" in errors


def test_open_window_and_optional_generated_at(data: ReportData, doc: Doc) -> None:
    assert "open-ended" in doc.text()
    assert "Generated" not in doc.texts_directly_in("dt")
    data["generated_at"] = "2026-04-23T08:00:00.000000Z"
    later = parse(render_report(data))
    assert "Generated" in later.texts_directly_in("dt")
    assert "2026-04-23 08:00:00Z" in later.text()


def test_tick_labels_are_readable_utc(doc: Doc) -> None:
    labels = [
        e
        for e in doc.find("text")
        if (e.attrs.get("class") or "") == "tick-label" and e.inside("svg")
    ]
    svg_text = doc.texts_in("svg", "timeline-svg")
    dates = [t for t in svg_text if re.fullmatch(r"\d{4}-\d\d-\d\d", t)]
    times = [t for t in svg_text if re.fullmatch(r"\d\d:\d\d", t)]
    assert 6 <= len(dates) == len(times) <= 11
    assert len(labels) == len(dates) + 1  # plus the "time unknown" column heading


def test_render_is_deterministic(data: ReportData) -> None:
    first = render_report(data)
    assert render_report(copy.deepcopy(data)) == first
    shuffled = copy.deepcopy(data)
    shuffled["uses"].reverse()
    shuffled["tag_pushes"].reverse()
    shuffled["files"].reverse()
    for key in ("jobs", "hosts", "secrets"):
        shuffled["findings"][key].reverse()
    shuffled["findings"]["coverage"]["errors"].reverse()
    token = shuffled["findings"]["secrets"][-1]
    token["permissions"] = dict(reversed(list(token["permissions"].items())))
    assert render_report(shuffled) == first


def test_zero_uses_still_renders(data: ReportData) -> None:
    data["uses"] = []
    data["tag_pushes"] = []
    doc = parse(render_report(data))
    assert timeline_marks(doc) == []
    windows = [
        e for e in doc.find("rect") if e.attrs.get("class") == "window" and not e.inside("g")
    ]
    assert len(windows) == 1
    right = float(windows[0].attrs["x"] or 0) + float(windows[0].attrs["width"] or 0)
    assert right == pytest.approx(985.0)

import hashlib
import zipfile
from pathlib import Path

import polars as pl
import pytest

from forensics import schema
from forensics.ingest import HEAD_BYTES
from forensics.parsers import REGISTRY, docker_images
from forensics.parsers._base import ParseResult, Source

FIXTURES = Path(__file__).parent / "fixtures" / "docker_images"
SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "kics-incident"
MAL = "sha256:2588a44890263a8185bd5d9fadb6bc9220b60245dbcbc4da35e1b62a6f8c230d"
TABLE = "hosts/build-07/images-digests.txt"
JSONL = "hosts/build-09/images.jsonl"
INSPECT = "hosts/runner-03/inspect.json"
CRICTL = "hosts/k8s-node-1/crictl-images.json"
CRICTL_MAL = "sha256:a0d9366f6f0166dcbf92fcdc98e1a03d2e6210e8d7e8573f74d50849130651a0"
PAUSE_ID = "sha256:e6f1816883972d4be47bd48879a08919b96afcd344132622e4d444987919323c"
PAUSE = "sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"
NOT_A_ROW = docker_images.NOT_A_ROW
NOT_JSON = docker_images.NOT_JSON
BAD_NAME = docker_images.BAD_NAME
UTF8 = "invalid UTF-8 bytes (replaced with U+FFFD)"


def h(text: str) -> str:
    """The synthetic digests the fixtures were written with."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(schema.TABLES, "host_images", docker_images.HOST_IMAGES)


def item(path: str, fixture: str) -> tuple[Source, bytes]:
    host = path.split("/")[1]
    return Source(path, {"host": host}), (FIXTURES / fixture).read_bytes()


def parse_one(path: str, fixture: str) -> ParseResult:
    return docker_images.parse([item(path, fixture)])


def text_item(text: str | bytes, path: str = "hosts/h1/images.txt") -> tuple[Source, bytes]:
    data = text if isinstance(text, bytes) else text.encode()
    return Source(path, {"host": "h1"}), data


def test_schema_is_the_registered_one() -> None:
    assert docker_images.HOST_IMAGES == schema.HOST_IMAGES


def test_digests_table_rows() -> None:
    r = parse_one(TABLE, "images-digests.txt")
    got = r.tables["host_images"]
    assert got.schema == docker_images.HOST_IMAGES
    assert got.drop("host", "file", "captured_at").rows() == [
        ("docker.io/checkmarx/kics", "alpine", MAL, MAL, 2),
        ("docker.io/library/node", "20", h("node:20"), h("node:20"), 3),
        ("localhost:5000/tools/scanner", None, h("scanner"), h("scanner"), 4),
        (None, None, None, h("dangling"), 5),  # <none> <none>: only the image ID
        (None, "latest", None, h("script"), 6),  # <script> repository: no image name
        ("ghcr.io/acme/runner-tools", "1.4", None, h("tools"), 7),  # bad byte in CREATED
    ]
    assert set(got.get_column("host")) == {"build-07"}
    assert set(got.get_column("file")) == {TABLE}
    stats = r.files[TABLE]
    assert (stats.lines, stats.unparsed) == (8, 1)
    assert stats.errors == [(7, UTF8), (8, NOT_A_ROW), (6, BAD_NAME)]


def test_evidence_for_every_row_and_hostile_text_kept_as_text() -> None:
    r = parse_one(TABLE, "images-digests.txt")
    ev = r.tables["evidence"]
    assert ev.get_column("line").to_list() == [2, 3, 4, 5, 6, 7]
    script = ev.filter(pl.col("line") == 6).item(0, "text")
    assert script.startswith("<script>alert(1)</script>      latest   <none>")
    assert "\ufffd" in ev.filter(pl.col("line") == 7).item(0, "text")


def test_json_lines_rows() -> None:
    r = parse_one(JSONL, "images.jsonl")
    assert r.tables["host_images"].drop("file", "captured_at").rows() == [
        ("build-09", "docker.io/checkmarx/kics", "alpine", MAL, "1f3c5a7b9d2e", 1),
        ("build-09", "docker.io/library/node", "20", h("node:20"), "7a2b4c6d8e0f", 2),
        ("build-09", "registry.acme.internal:5000/ci/kics", None, MAL, "1f3c5a7b9d2e", 4),
        ("build-09", None, None, None, "0123456789ab", 5),
    ]
    stats = r.files[JSONL]
    assert (stats.lines, stats.unparsed) == (7, 2)  # line 6: ID "99aa"; line 7: cut short
    assert stats.errors == [(6, NOT_JSON), (7, NOT_JSON)]
    assert r.tables["evidence"].get_column("line").to_list() == [1, 2, 4, 5]


def test_inspect_rows_pair_tags_with_digests_of_the_same_repository() -> None:
    r = parse_one(INSPECT, "inspect.json")
    kics, node = h("cfg-kics"), h("cfg-node")
    assert r.tables["host_images"].drop("host", "file", "captured_at").rows() == [
        ("docker.io/checkmarx/kics", "alpine", MAL, kics, 9),  # cites the RepoDigests line
        ("docker.io/checkmarx/kics", "v2.1.20", MAL, kics, 9),
        ("docker.io/library/node", "20", h("node:20"), node, 42),
        ("mirror.acme.internal/library/node", None, h("node:20"), node, 43),  # digest only
        ("docker.io/acme/scanner", "dev", None, h("cfg-local"), 73),  # local build
        (None, "latest", None, h("cfg-bogus"), 104),  # "<script>alert(1)</script>:latest"
        (None, None, None, h("cfg-dangling"), 133),  # no tag nor digest: the "Id" line
    ]
    stats = r.files[INSPECT]
    assert (stats.lines, stats.unparsed) == (167, 1)
    assert stats.errors == [(161, docker_images.NOT_INSPECT), (104, BAD_NAME)]
    ev = r.tables["evidence"]
    text = ev.filter(pl.col("line") == 104).item(0, "text")
    assert text.strip() == '"<script>alert(1)</script>:latest"'


def test_batch_of_three_formats_and_rows_function() -> None:
    items = [
        item(INSPECT, "inspect.json"),
        item(TABLE, "images-digests.txt"),
        item(JSONL, "images.jsonl"),
    ]
    frame = docker_images.rows(items)
    assert frame.schema == docker_images.HOST_IMAGES
    assert frame.group_by("host").len().sort("host").rows() == [
        ("build-07", 6),
        ("build-09", 4),
        ("runner-03", 7),
    ]
    result = docker_images.parse(items)
    assert result.tables["host_images"].equals(frame)
    held = frame.filter((pl.col("digest") == MAL) | (pl.col("image_id") == MAL))
    assert sorted(set(held.get_column("host"))) == ["build-07", "build-09", "runner-03"]
    assert {p: s.unparsed for p, s in result.files.items()} == {
        INSPECT: 1,
        TABLE: 1,
        JSONL: 2,
    }


def test_table_without_digests_and_truncated_ids() -> None:
    data = (
        "REPOSITORY       TAG       IMAGE ID       CREATED        SIZE\n"
        "checkmarx/kics   alpine    1f3c5a7b9d2e   9 hours ago    231MB\n"
        "node             20        7a2b4c6d8e0f   3 weeks ago    1.1GB\n"
    )
    frame = docker_images.rows([text_item(data)])
    assert frame.drop("host", "file", "captured_at").rows() == [
        ("docker.io/checkmarx/kics", "alpine", None, "1f3c5a7b9d2e", 2),
        ("docker.io/library/node", "20", None, "7a2b4c6d8e0f", 3),
    ]


def test_rows_that_do_not_fit_the_header() -> None:
    data = (
        "\ufeffREPOSITORY   TAG      IMAGE ID       CREATED       SIZE\n"
        "busybox      latest   4986bf8c1536   9 weeks ago   2.43 MB\n"
        "averyveryverylongname latest 4986bf8c1536 9 weeks ago 2MB\n"  # spills over columns
        "busybox      latest   4986bf8c15     9 weeks ago   2MB\n"  # ID too short
        "busybox      latest   4986bf8c1536\n"  # cut before CREATED
        "\n"
        "Error response from daemon: context deadline exceeded\n"
    )
    r = docker_images.parse([text_item(data)])
    assert r.tables["host_images"].drop("host", "file", "captured_at").rows() == [
        ("docker.io/library/busybox", "latest", None, "4986bf8c1536", 2),
    ]
    stats = r.files["hosts/h1/images.txt"]
    assert stats.unparsed == 4
    assert [n for n, _ in stats.errors] == [3, 4, 5, 7]


def test_lines_before_any_header_and_a_second_listing_in_the_same_file() -> None:
    data = (
        "$ docker images --digests\n"
        "REPOSITORY   TAG      IMAGE ID       CREATED       SIZE\n"
        "busybox      latest   4986bf8c1536   9 weeks ago   2MB\n"
        f"REPOSITORY   TAG   DIGEST{' ' * 68}IMAGE ID       CREATED       SIZE\n"
        f"alpine       3     {h('alpine')}   5e6f7a8b9c0d   2 days ago    7.8MB\n"
    )
    r = docker_images.parse([text_item(data)])
    assert r.tables["host_images"].drop("host", "file", "captured_at").rows() == [
        ("docker.io/library/busybox", "latest", None, "4986bf8c1536", 3),
        ("docker.io/library/alpine", "3", h("alpine"), "5e6f7a8b9c0d", 5),
    ]
    assert r.files["hosts/h1/images.txt"].errors == [(1, docker_images.NO_HEADER)]


def test_inspect_compact_concatenated_and_broken() -> None:
    one = f'[{{"Id":"{h("a")}","RepoTags":["alpine:3"],"RepoDigests":["alpine@{h("d")}"]}}]'
    two = f'[{{"Id":"{h("b")}","RepoTags":null,"RepoDigests":null}}]'
    frame = docker_images.rows([text_item(one + "\n" + two + "\n", "hosts/h1/i.json")])
    assert frame.drop("host", "file", "captured_at").rows() == [
        ("docker.io/library/alpine", "3", h("d"), h("a"), 1),
        (None, None, None, h("b"), 2),
    ]
    odd = docker_images.parse([text_item('[1, "x", {"Id": 5}]\n', "hosts/h1/odd.json")])
    assert "host_images" not in odd.tables
    assert odd.files["hosts/h1/odd.json"].unparsed == 1  # three bad entries, one line
    r = docker_images.parse([text_item('[{"Id": "sha256:', "hosts/h1/cut.json")])
    assert "host_images" not in r.tables
    stats = r.files["hosts/h1/cut.json"]
    assert stats.unparsed == 1 and stats.errors[0][1].startswith("invalid JSON")


def test_empty_batch_and_empty_file() -> None:
    assert docker_images.rows([]).schema == docker_images.HOST_IMAGES
    r = docker_images.parse([text_item(b"")])
    assert r.tables == {} and r.files["hosts/h1/images.txt"].unparsed == 0


@pytest.mark.parametrize(
    "fixture",
    [
        "images-digests.txt",
        "images.jsonl",
        "inspect.json",
        "crictl-images.json",
        "crictl-broken.json",
    ],
)
def test_sniff_fixtures(fixture: str) -> None:
    head = (FIXTURES / fixture).read_bytes()[:HEAD_BYTES]
    assert [name for name, m in REGISTRY.items() if m.sniff(fixture, head)] == [docker_images.NAME]


def test_sniff_negative() -> None:
    assert not docker_images.sniff("x", b"REPOSITORY is a word\n")
    assert not docker_images.sniff("x", b"CONTAINER ID   IMAGE   COMMAND   CREATED\n")
    events = b'{"Type":"image","Action":"pull","Actor":{"ID":"node:20"},"time":1776861300}\n'
    assert not docker_images.sniff("x", events)
    assert not docker_images.sniff("x", b'[{"account": "checkmarx", "action": "repo.tag.push"}]')
    assert not docker_images.sniff("x", b'{"total_count": 1, "jobs": [{"id": 1}]}')
    assert not docker_images.sniff("x", b"2026-04-22T12:41:07.1234567Z ##[group]Run x\n")
    # kubectl get nodes -o json lists images too, by "names", and is not an inventory we read
    nodes = b'{"kind": "NodeList", "items": [{"status": {"images": [{"names": ["a"]}]}}]}'
    assert not docker_images.sniff("x", nodes)
    assert not docker_images.sniff("x", b'{"images": []}\n')  # no reference keys
    assert not docker_images.sniff("x", b'[{"images": [], "repoTags": []}]')  # not an object
    assert not docker_images.sniff("x", b'{"repoTags": ["a:1"], "images": "none"}')


def _sample_heads() -> list[tuple[str, bytes]]:
    heads: list[tuple[str, bytes]] = []
    for path in sorted(p for p in SAMPLE.rglob("*") if p.is_file()):
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                heads += [
                    (f"{path.name}!{n}", z.read(n)[:HEAD_BYTES])
                    for n in z.namelist()
                    if not n.endswith("/")
                ]
        else:
            heads.append((str(path.relative_to(SAMPLE)), path.read_bytes()[:HEAD_BYTES]))
    return heads


def test_sniff_rejects_every_sample_log() -> None:
    heads = _sample_heads()
    assert len(heads) > 20
    accepted = [name for name, head in heads if docker_images.sniff(name, head)]
    assert accepted == [
        "hosts/build-09/docker-images-20260423T0900Z.txt",
        "hosts/runner-03/docker-image-inspect.json",
    ]


def test_crictl_rows_pair_tags_with_digests_and_cite_the_digest_line() -> None:
    r = parse_one(CRICTL, "crictl-images.json")
    got = r.tables["host_images"]
    assert got.schema == docker_images.HOST_IMAGES
    assert got.drop("file", "captured_at").rows() == [
        ("k8s-node-1", "docker.io/checkmarx/kics", "latest", CRICTL_MAL, h("crictl-cfg-kics"), 9),
        ("k8s-node-1", "registry.k8s.io/pause", "3.9", PAUSE, PAUSE_ID, 23),
        (  # pulled by digest: no tag
            "k8s-node-1",
            "ghcr.io/acme/runner",
            None,
            h("crictl-runner"),
            h("crictl-cfg-runner"),
            35,
        ),
        ("k8s-node-1", None, "2.0", None, h("crictl-cfg-badutf8"), 46),  # bad byte in the name
        ("k8s-node-1", None, "latest", None, h("crictl-cfg-script"), 58),  # <script> name
    ]
    assert set(got.get_column("file")) == {CRICTL}
    stats = r.files[CRICTL]
    assert (stats.lines, stats.unparsed) == (68, 0)
    assert stats.errors == [(46, UTF8), (46, BAD_NAME), (58, BAD_NAME)]
    ev = r.tables["evidence"]
    assert ev.get_column("line").to_list() == [9, 23, 35, 46, 58]
    assert ev.filter(pl.col("line") == 58).item(0, "text").strip() == (
        '"<script>alert(1)</script>:latest"'
    )
    assert "\ufffd" in ev.filter(pl.col("line") == 46).item(0, "text")


def test_crictl_image_uses() -> None:
    uses = parse_one(CRICTL, "crictl-images.json").tables["image_uses"]
    cols = ("host", "action", "ref", "digest", "digest_kind", "line", "evidence_lines")
    assert uses.select(cols).rows() == [
        ("k8s-node-1", "inventory", "docker.io/checkmarx/kics:latest", CRICTL_MAL, "index", 9, [9]),
        ("k8s-node-1", "inventory", "registry.k8s.io/pause:3.9", PAUSE, "index", 23, [23]),
        ("k8s-node-1", "inventory", "ghcr.io/acme/runner", h("crictl-runner"), "index", 35, [35]),
        ("k8s-node-1", "inventory", None, h("crictl-cfg-badutf8"), "config", 46, [46]),
        ("k8s-node-1", "inventory", None, h("crictl-cfg-script"), "config", 58, [58]),
    ]
    assert set(uses.get_column("format")) == {docker_images.NAME}


def test_crictl_cut_off_mid_document() -> None:
    path = "hosts/k8s-node-1/crictl-broken.json"
    r = parse_one(path, "crictl-broken.json")
    assert r.tables == {}
    stats = r.files[path]
    assert (stats.lines, stats.unparsed) == (20, 20)
    assert stats.errors == [(20, "invalid JSON: Unterminated string starting at (column 9)")]


def test_crictl_compact_odd_entries_and_wrong_documents() -> None:
    one = (
        f'{{"images":[{{"id":"{h("a")}","repoTags":["alpine:3"],'
        f'"repoDigests":["alpine@{h("d")}"]}},{{"id":"{h("b")}","repoTags":null,'
        '"repoDigests":null},{"id":5,"repoTags":["x:1"]},7]}\n'
    )
    r = docker_images.parse([text_item(one, "hosts/h1/c.json")])
    assert r.tables["host_images"].drop("host", "file", "captured_at").rows() == [
        ("docker.io/library/alpine", "3", h("d"), h("a"), 1),
        (None, None, None, h("b"), 1),
    ]
    stats = r.files["hosts/h1/c.json"]
    assert (stats.unparsed, stats.errors) == (1, [(1, docker_images.NOT_CRICTL)])
    two = '{"images": [], "repoTags": []}\n["not", "crictl"]\n'
    r = docker_images.parse([text_item(two, "hosts/h1/two.json")])
    stats = r.files["hosts/h1/two.json"]
    assert r.tables == {} and stats.unparsed == 2
    assert stats.errors == [
        (1, 'JSON document that is not a crictl images object ({"images": [...]})')
    ]


def test_batch_with_crictl_finds_both_malicious_digests() -> None:
    items = [item(CRICTL, "crictl-images.json"), item(JSONL, "images.jsonl")]
    frame = docker_images.rows(items)
    bad = frame.filter(pl.col("digest").is_in([MAL, CRICTL_MAL]))
    assert bad.select("host", "image", "tag", "digest").rows() == [
        ("build-09", "docker.io/checkmarx/kics", "alpine", MAL),
        ("build-09", "registry.acme.internal:5000/ci/kics", None, MAL),
        ("k8s-node-1", "docker.io/checkmarx/kics", "latest", CRICTL_MAL),
    ]


def test_capture_time_comes_from_the_file_name() -> None:
    data = (FIXTURES / "images-digests.txt").read_bytes()
    dated = "hosts/build-07/docker-images-20260423T0900Z.txt"
    r = docker_images.parse([(Source(dated, {"host": "build-07"}), data)])
    stamps = set(r.tables["host_images"].get_column("captured_at").to_list())
    assert [str(s) for s in stamps] == ["2026-04-23 09:00:00+00:00"]
    undated = parse_one(TABLE, "images-digests.txt").tables["host_images"]
    assert undated.get_column("captured_at").null_count() == undated.height


def test_capture_time_from_a_leading_comment() -> None:
    body = (FIXTURES / "images-digests.txt").read_bytes()
    data = b"# captured 2026-04-23T09:00:00+02:00 by the responder\n" + body
    assert docker_images.sniff(TABLE, data)
    r = docker_images.parse([(Source(TABLE, {"host": "build-07"}), data)])
    stamps = {str(s) for s in r.tables["host_images"].get_column("captured_at")}
    assert stamps == {"2026-04-23 07:00:00+00:00"}
    assert all(line != 1 for line, _ in r.files[TABLE].errors if line is not None)

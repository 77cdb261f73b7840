import polars as pl

from forensics.parsers import docker_events
from forensics.parsers._base import ParseResult, Source

OLD_PULL = (
    '{"status":"pull","id":"checkmarx/kics:latest","Type":"image","Action":"pull",'
    '"Actor":{"ID":"checkmarx/kics:latest","Attributes":{"name":"checkmarx/kics"}},'
    '"scope":"local","time":1776861300}'
)
NEW_PULL = (
    '{"Type":"image","Action":"pull","Actor":{"ID":"checkmarx/kics:alpine",'
    '"Attributes":{"name":"checkmarx/kics"}},"scope":"local","time":1776861400,'
    '"timeNano":1776861400123456789}'
)
NEW_CREATE = (
    '{"Type":"container","Action":"create","Actor":{"ID":"c1","Attributes":'
    '{"image":"checkmarx/kics:alpine","name":"<img src=x onerror=alert(1)>"}},'
    '"scope":"local","time":1776861401,"timeNano":1776861401000000000}'
)
CACHED_CREATE = (
    '{"status":"create","id":"c2","from":"checkmarx/kics:debian","Type":"container",'
    '"Action":"create","Actor":{"ID":"c2","Attributes":{"image":"checkmarx/kics:debian"}},'
    '"time":1776861500}'
)
PATH = "hosts/b7/ev.jsonl"
ANCIENT = '{"status":"pull","id":"busybox:latest","time":1595821525}'


def parse(*lines: str | bytes) -> ParseResult:
    data = b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n"
    return docker_events.parse([(Source(PATH, {"host": "b7"}), data)])


def test_sniff_both_shapes() -> None:
    assert docker_events.sniff("x", OLD_PULL.encode())
    assert docker_events.sniff("x", NEW_PULL.encode())
    assert not docker_events.sniff("x", b"2026-04-22T12:41:07.1234567Z x")
    assert not docker_events.sniff("x", b'{"logs": [{"action": "repo.tag.push"}]}')


def test_old_and_new_shapes_and_time_resolution() -> None:
    r = parse(OLD_PULL, NEW_PULL, ANCIENT)
    ev = r.tables["docker_events"].sort("line")
    assert ev.get_column("action").to_list() == ["pull", "pull", "pull"]
    assert ev.get_column("image").to_list() == [
        "checkmarx/kics:latest",
        "checkmarx/kics:alpine",
        "busybox:latest",
    ]
    first, second, _ = ev.to_dicts()
    assert (first["ts_hi"] - first["ts_lo"]).total_seconds() == 0.999999
    assert str(second["ts_lo"]) == "2026-04-22 12:36:40.123456+00:00"
    assert str(second["ts_hi"]) == "2026-04-22 12:36:40.123457+00:00"
    assert r.files[PATH].unparsed == 0 and r.files[PATH].errors == []


def test_create_after_pull_is_not_a_second_use_but_cached_create_is() -> None:
    r = parse(NEW_PULL, NEW_CREATE, CACHED_CREATE)
    uses = r.tables["image_uses"].sort("line").select("action", "tag", "cached", "host")
    assert uses.rows() == [
        ("pull", "alpine", False, "b7"),
        ("container-create", "debian", True, "b7"),
    ]


def test_create_from_image_id_records_a_config_digest() -> None:
    image_id = "sha256:" + "ab" * 32
    line = NEW_CREATE.replace("checkmarx/kics:alpine", image_id)
    (u,) = parse(line).tables["image_uses"].to_dicts()
    assert (u["image"], u["digest"], u["digest_kind"]) == (None, image_id, "config")


def test_truncated_line_and_invalid_utf8_are_counted() -> None:
    r = parse(
        NEW_PULL,
        NEW_CREATE.replace("<img", "\udcff<img").encode("utf-8", "surrogateescape"),
        '{"Type":"container","Action":"cre',
    )
    assert r.files[PATH].unparsed == 1
    assert (3, "not a docker event (invalid or truncated JSON)") in r.files[PATH].errors
    assert (2, "invalid UTF-8 bytes (replaced with U+FFFD)") in r.files[PATH].errors
    names = r.tables["docker_events"].get_column("name").drop_nulls().to_list()
    assert names == ["checkmarx/kics", "\ufffd<img src=x onerror=alert(1)>"]
    assert r.tables["evidence"].filter(pl.col("line") == 1).height == 1


def test_line_that_looks_whole_but_is_not_json_falls_back_per_field() -> None:
    r = parse(NEW_PULL, '{"Type":"image", "Action": pull}', OLD_PULL)
    assert r.files[PATH].unparsed == 1
    assert r.tables["docker_events"].get_column("line").to_list() == [1, 3]
    assert r.tables["image_uses"].height == 2

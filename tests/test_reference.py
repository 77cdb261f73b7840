import pytest

from forensics.reference import normalize

CASES = [
    ("checkmarx/kics:latest", "docker.io/checkmarx/kics", "latest", None),
    ("checkmarx/kics", "docker.io/checkmarx/kics", "latest", None),
    ("alpine", "docker.io/library/alpine", "latest", None),
    ("index.docker.io/checkmarx/kics:v2.1.20", "docker.io/checkmarx/kics", "v2.1.20", None),
    ("registry-1.docker.io/library/alpine:3", "docker.io/library/alpine", "3", None),
    ("docker.io/alpine:3.20", "docker.io/library/alpine", "3.20", None),
    ("ghcr.io/syfxlin/depker:master", "ghcr.io/syfxlin/depker", "master", None),
    ("localhost:5000/test/busybox", "localhost:5000/test/busybox", "latest", None),
    ("host:5000/repo:v1", "host:5000/repo", "v1", None),
    ("mirror.gcr.io/checkmarx/kics:debian", "mirror.gcr.io/checkmarx/kics", "debian", None),
    ("docker://alpine:3.8", "docker.io/library/alpine", "3.8", None),
    ("'checkmarx/kics:alpine'", "docker.io/checkmarx/kics", "alpine", None),
]
D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("raw", "image", "tag", "digest"), CASES)
def test_normalize(raw: str, image: str, tag: str, digest: str | None) -> None:
    ref = normalize(raw)
    assert (ref.image, ref.tag, ref.digest) == (image, tag, digest)


def test_tag_and_digest_kept_apart() -> None:
    ref = normalize(f"docker.io/checkmarx/kics:alpine@{D}")
    assert (ref.image, ref.tag, ref.digest) == ("docker.io/checkmarx/kics", "alpine", D)


def test_digest_only_reference_has_no_implied_tag() -> None:
    ref = normalize(f"checkmarx/kics@{D.upper().replace('SHA256', 'sha256')}")
    assert (ref.image, ref.tag, ref.digest) == ("docker.io/checkmarx/kics", None, D)


@pytest.mark.parametrize("raw", [D, D.removeprefix("sha256:")])
def test_image_id_is_a_digest_without_name(raw: str) -> None:
    ref = normalize(raw)
    assert (ref.image, ref.tag, ref.digest) == (None, None, D)


@pytest.mark.parametrize("raw", ["$IMAGE", "-v", "checkmarx/KICS:latest", "", "a b"])
def test_not_a_reference(raw: str) -> None:
    assert normalize(raw).image is None

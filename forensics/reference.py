"""Image reference normalization after distribution/reference (``normalize.go``).

``checkmarx/kics:latest``, ``docker.io/checkmarx/kics:latest``,
``index.docker.io/checkmarx/kics:latest`` and ``registry-1.docker.io/checkmarx/kics:latest``
all become image ``docker.io/checkmarx/kics`` with tag ``latest``; ``alpine`` becomes
``docker.io/library/alpine`` with the implied tag ``latest``. Tag and digest are kept apart.
A bare image ID
(``sha256:<64 hex>`` or 64 hex) is a digest with no image name. Anything that is not a valid
reference (``$IMAGE``, ``scan``-like words are valid names, but ``-v`` or ``a b`` are not)
gives a null image.

There is one implementation, a polars expression; :func:`normalize` applies it to one string.
"""

from dataclasses import dataclass

import polars as pl

DOCKER_HUB = "docker.io"
HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")

# reference := name [ ":" tag ] [ "@" digest ]   (distribution/reference grammar)
_REF_RX = (
    r"^(?P<name>[^@\s]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[+._-][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RX = rf"^{_COMPONENT}(?:/{_COMPONENT})*$"
_DOMAIN_RX = r"^(?:localhost(?::\d+)?|[^/]*[.:][^/]*|[^/]*[A-Z][^/]*)$"
_IMAGE_ID_RX = r"^(?:sha256:)?([0-9a-f]{64})$"
_SCHEME_RX = r"^(?:docker://|docker-pullable://)"


def normalize_expr(ref: pl.Expr) -> pl.Expr:
    """Normalize a column of raw references.

    Args:
        ref: an expression of raw reference strings, as logged.

    Returns:
        A struct expression with fields ``image`` (``domain/path``), ``tag`` and ``digest``
        (``sha256:<hex>``, lower case), each null when absent or invalid.
    """
    raw = ref.str.strip_chars().str.strip_chars("'\"").str.replace(_SCHEME_RX, "")
    image_id = raw.str.extract(_IMAGE_ID_RX, 1)
    parts = raw.str.extract_groups(_REF_RX)
    name = parts.struct.field("name")
    first = name.str.extract(r"^([^/]+)/", 1)
    has_domain = first.is_not_null() & first.str.contains(_DOMAIN_RX)
    domain = pl.when(has_domain).then(first.str.to_lowercase()).otherwise(pl.lit(DOCKER_HUB))
    path = pl.when(has_domain).then(name.str.replace(r"^[^/]+/", "")).otherwise(name)
    domain = pl.when(domain.is_in(list(HUB_ALIASES))).then(pl.lit(DOCKER_HUB)).otherwise(domain)
    path = (
        pl.when((domain == DOCKER_HUB) & ~path.str.contains("/", literal=True))
        .then(pl.lit("library/") + path)
        .otherwise(path)
    )
    valid = image_id.is_null() & path.str.contains(_PATH_RX)
    image = pl.when(valid).then(domain + pl.lit("/") + path)
    # A reference with neither tag nor digest means ":latest" to docker, containerd and kubelet.
    tag = pl.when(valid).then(
        pl.when(parts.struct.field("tag").is_null() & parts.struct.field("digest").is_null())
        .then(pl.lit("latest"))
        .otherwise(parts.struct.field("tag"))
    )
    digest = (
        pl.when(image_id.is_not_null())
        .then(pl.lit("sha256:") + image_id)
        .when(valid)
        .then(parts.struct.field("digest").str.to_lowercase())
    )
    return pl.struct(image=image, tag=tag, digest=digest)


@dataclass(frozen=True)
class Reference:
    """A normalized image reference."""

    image: str | None
    tag: str | None
    digest: str | None


def normalize(ref: str) -> Reference:
    """Normalize one reference string (see :func:`normalize_expr`).

    Args:
        ref: the reference as written.

    Returns:
        The normalized reference; ``image`` is None when ``ref`` is not a valid reference.
    """
    row = pl.select(normalize_expr(pl.lit(ref, dtype=pl.String)).alias("r")).item()
    return Reference(image=row["image"], tag=row["tag"], digest=row["digest"])


def with_normalized(frame: pl.DataFrame, column: str, names: tuple[str, str, str]) -> pl.DataFrame:
    """Add the normalized ``image``, ``tag`` and ``digest`` of ``column`` under ``names``.

    References repeat heavily (thousands of events for a handful of images), and the
    normalization regexes are costly per row, so each distinct value is normalized once and
    joined back.

    Args:
        frame: rows with a reference column.
        column: the column of raw references.
        names: output column names for image, tag and digest.

    Returns:
        ``frame`` with three more columns (an existing column of the same name is replaced).
    """
    distinct = frame.select(pl.col(column)).unique().drop_nulls()
    image, tag, digest = names
    mapped = distinct.with_columns(normalize_expr(pl.col(column)).alias("_ref")).select(
        column,
        pl.col("_ref").struct.field("image").alias(image),
        pl.col("_ref").struct.field("tag").alias(tag),
        pl.col("_ref").struct.field("digest").alias(digest),
    )
    kept = frame.drop([n for n in names if n in frame.columns and n != column])
    return kept.join(mapped, on=column, how="left", maintain_order="left")

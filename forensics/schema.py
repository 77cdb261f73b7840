"""Schemas of the case tables that parsers write (one Parquet file per table).

Every event row keeps ``file`` (the logical input path; archive members as
``archive.zip!member``) and ``line`` (1-based). Times are UTC microseconds and carry their
uncertainty as a closed interval ``[ts_lo, ts_hi]``; both are null when unknown.
"""

import polars as pl

TS = pl.Datetime("us", "UTC")

IMAGE_USES = pl.Schema(
    {
        "format": pl.String(),  # parser NAME that produced the row
        "actor_kind": pl.String(),  # "job", "host", "account" (Docker Hub) or "cache"
        "job_key": pl.String(),  # jobs.job_key for a job, else null
        "host": pl.String(),  # the host, for host-side evidence (and jobs where known)
        "action": pl.String(),  # pull, run, action-image, job-container, buildkit-from, ...
        "ref": pl.String(),  # the reference as logged
        "image": pl.String(),  # normalized name, e.g. docker.io/checkmarx/kics
        "tag": pl.String(),
        "digest": pl.String(),  # sha256:<hex> recorded by the evidence, else null
        "digest_kind": pl.String(),  # index | platform | config, as the evidence recorded it
        "cached": pl.Boolean(),  # served from a local cache with no pull seen
        "step": pl.String(),  # enclosing step or group (Hub usage: the access token)
        "peer": pl.String(),  # the other side: client address of a cache, IPs of a Hub pull
        "ts_lo": TS,
        "ts_hi": TS,
        "file": pl.String(),
        "line": pl.Int64(),  # first evidence line
        "evidence_lines": pl.List(pl.Int64),
    }
)

JOB_LOGS = pl.Schema(
    {
        "job_key": pl.String(),  # logical path of the job's log (or its step folder)
        "ci": pl.String(),
        "project": pl.String(),
        "run": pl.String(),
        "file_job_name": pl.String(),  # from the file name (lossy: see the README)
        "log_job_name": pl.String(),  # "Complete job name:" line, when present
        "runner_name": pl.String(),
        "machine_name": pl.String(),
        "ts_first": TS,
        "ts_last": TS,
        "file": pl.String(),
        "line": pl.Int64(),
    }
)

API_JOBS = pl.Schema(
    {
        "ci": pl.String(),  # github | gitlab
        "project": pl.String(),
        "run": pl.String(),
        "job_id": pl.String(),
        "name": pl.String(),
        "runner_name": pl.String(),
        "started_at": TS,
        "completed_at": TS,
        "file": pl.String(),
        "line": pl.Int64(),
    }
)

JOB_SECRETS = pl.Schema(
    {
        "job_key": pl.String(),
        "name": pl.String(),  # the env/with key whose value was masked; never the value
        "context": pl.String(),  # env | with
        "step": pl.String(),
        "ts_lo": TS,
        "ts_hi": TS,
        "file": pl.String(),
        "line": pl.Int64(),
    }
)

TOKEN_PERMISSIONS = pl.Schema(
    {
        "job_key": pl.String(),
        "scope": pl.String(),  # e.g. contents, pull-requests, id-token
        "access": pl.String(),  # read | write | none
        "file": pl.String(),
        "line": pl.Int64(),
    }
)

TAG_PUSHES = pl.Schema(
    {
        "image": pl.String(),
        "tag": pl.String(),
        "digest": pl.String(),
        "action": pl.String(),  # e.g. repo.tag.push, repo.tag.delete
        "actor": pl.String(),
        "ts_lo": TS,
        "ts_hi": TS,
        "file": pl.String(),
        "line": pl.Int64(),
    }
)

DOCKER_EVENTS = pl.Schema(
    {
        "host": pl.String(),
        "type": pl.String(),
        "action": pl.String(),
        "actor_id": pl.String(),
        "image": pl.String(),  # Attributes.image (containers) or the pulled ref (images)
        "name": pl.String(),  # Attributes.name
        "ts_lo": TS,
        "ts_hi": TS,
        "file": pl.String(),
        "line": pl.Int64(),
    }
)

HOST_IMAGES = pl.Schema(
    {
        "host": pl.String(),
        "image": pl.String(),  # normalized repository
        "tag": pl.String(),
        "digest": pl.String(),  # repo (index) digest, sha256:<hex>
        "image_id": pl.String(),  # sha256:<hex>, or the 12-hex prefix a truncated listing shows
        "captured_at": pl.Datetime("us", "UTC"),  # from the file name, e.g. ...-20260423T0900Z.txt
        "file": pl.String(),
        "line": pl.Int64(),
    }
)

EVIDENCE = pl.Schema(
    {
        "file": pl.String(),
        "line": pl.Int64(),
        "text": pl.String(),  # ANSI-stripped, secrets redacted, trimmed
    }
)

TABLES: dict[str, pl.Schema] = {
    "image_uses": IMAGE_USES,
    "job_logs": JOB_LOGS,
    "api_jobs": API_JOBS,
    "job_secrets": JOB_SECRETS,
    "token_permissions": TOKEN_PERMISSIONS,
    "tag_pushes": TAG_PUSHES,
    "docker_events": DOCKER_EVENTS,
    "host_images": HOST_IMAGES,
    "evidence": EVIDENCE,
}


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select and cast ``frame`` to the schema of ``table`` (missing columns become null).

    Args:
        table: a key of :data:`TABLES`.
        frame: rows produced by a parser.

    Returns:
        The frame with exactly the table's columns, in order, with its types.
    """
    schema = TABLES[table]
    cols = [
        (pl.col(n) if n in frame.columns else pl.lit(None)).cast(t).alias(n)
        for n, t in schema.items()
    ]
    return frame.select(cols)

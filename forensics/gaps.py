"""Plain sentences about what the verdicts rest on, for the report's coverage section."""

import polars as pl

from forensics.analysis import Analysis


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _tag_only(judged: pl.DataFrame, key: str) -> int:
    per = judged.group_by(key).agg(pl.col("digest").is_not_null().any().alias("has"))
    return per.filter(~pl.col("has")).height


def gaps(analysis: Analysis) -> list[str]:
    """What could not be established from the evidence, and what that means.

    Args:
        analysis: the query results.

    Returns:
        Sentences, most consequential first (empty when nothing is missing).
    """
    uses = analysis.results["use_verdicts"]
    judged = uses.filter(pl.col("verdict").is_not_null())
    jobs = judged.filter(pl.col("actor_kind") == "job")
    hosts = judged.filter(pl.col("host").is_not_null())
    out: list[str] = []
    for n, one, many in ((_tag_only(jobs, "job_key"), "job", "jobs"),
                         (_tag_only(hosts, "host"), "host", "hosts")):  # fmt: skip
        if n:
            rest = "its verdict rests" if n == 1 else "their verdicts rest"
            out.append(f"{_plural(n, one + ' has', many + ' have')} tag-only evidence: "
                       f"{rest} on the window, not on a digest.")  # fmt: skip
    if n := judged.filter(pl.col("cached").fill_null(False) & pl.col("digest").is_null()).height:
        out.append(f"{_plural(n, 'use was', 'uses were')} served from a local cache with nothing "
                   "recorded: what the cache held is unknown.")  # fmt: skip
    if n := judged.filter(pl.col("position") == "unknown").height:
        out.append(f"{_plural(n, 'use has', 'uses have')} no known time.")
    if n := judged.filter(pl.col("position") == "straddles").height:
        out.append(f"{_plural(n, 'use straddles', 'uses straddle')} a window edge.")
    if n := uses.filter(pl.col("verdict").is_null()).height:
        verb = "was" if n == 1 else "were"
        out.append(f"{_plural(n, 'use', 'uses')} under tags the advisory does not list carried "
                   f"no digest and {verb} only counted.")  # fmt: skip
    hosts_seen = analysis.results["host_verdicts"]
    if n := hosts_seen.filter(pl.col("still_present").is_null()).height:
        who = "it still holds" if n == 1 else "they still hold"
        out.append(f"{_plural(n, 'host has', 'hosts have')} no inventory listing the image: "
                   f"whether {who} it is unknown.")  # fmt: skip
    return out

-- name: actor_verdicts
-- For each job and each host, the strongest verdict of its uses and the use that carries it.
-- inputs: use_verdicts
-- params: (none)
-- output: kind VARCHAR (job|host|account|cache), actor VARCHAR (job_key, host, account or
--   cache name), verdict VARCHAR,
--   rank INTEGER, reason VARCHAR, image VARCHAR, tag VARCHAR, digest VARCHAR,
--   host VARCHAR (of the carrying use), step VARCHAR (its step; a Hub access token),
--   peers VARCHAR[] (client addresses or IPs seen over all the actor's uses), first_use TIMESTAMPTZ,
--   evidence STRUCT(file VARCHAR, line BIGINT)[] (lines of every use with that verdict),
--   uses BIGINT (uses with a verdict)
WITH judged AS (
    -- a job's uses count for the job; a use on a known machine also counts for that host
    SELECT 'job' AS kind, job_key AS actor, * FROM use_verdicts
    WHERE actor_kind = 'job' AND verdict IS NOT NULL
    UNION ALL
    SELECT 'host' AS kind, host AS actor, * FROM use_verdicts
    WHERE actor_kind IN ('job', 'host') AND host IS NOT NULL AND verdict IS NOT NULL
    UNION ALL
    -- Docker Hub accounts (pull usage) and registries or caches that served images
    SELECT actor_kind AS kind, host AS actor, * FROM use_verdicts
    WHERE actor_kind IN ('account', 'cache') AND host IS NOT NULL AND verdict IS NOT NULL
),
best AS (
    SELECT kind, actor, max(rank) AS rank, count(*) AS uses,
           list_sort(list(DISTINCT peer) FILTER (WHERE peer IS NOT NULL)) AS peers
    FROM judged GROUP BY kind, actor
),
top AS (
    -- the earliest use with the strongest verdict speaks for the job or host
    SELECT j.*, row_number() OVER (
               PARTITION BY j.kind, j.actor
               ORDER BY j.ts_lo NULLS LAST, j.file, j.line) AS n
    FROM judged j JOIN best b USING (kind, actor, rank)
),
cited AS (
    SELECT t.kind, t.actor, {'file': t.file, 'line': e} AS ev
    FROM top t, unnest(t.evidence_lines) AS x(e)
    UNION ALL
    SELECT t.kind, t.actor, t.host_evidence FROM top t WHERE t.host_evidence IS NOT NULL
),
lines AS (
    SELECT kind, actor, list(DISTINCT ev) AS evidence FROM cited GROUP BY kind, actor
)
SELECT t.kind::VARCHAR AS kind,
       t.actor::VARCHAR AS actor,
       t.verdict::VARCHAR AS verdict,
       t.rank::INTEGER AS rank,
       t.reason::VARCHAR AS reason,
       t.image::VARCHAR AS image,
       t.tag::VARCHAR AS tag,
       t.digest::VARCHAR AS digest,
       t.host::VARCHAR AS host,
       t.step::VARCHAR AS step,
       b.peers AS peers,
       t.ts_lo AS first_use,
       list_sort(l.evidence) AS evidence,
       b.uses::BIGINT AS uses
FROM top t
JOIN best b USING (kind, actor)
JOIN lines l USING (kind, actor)
WHERE t.n = 1
ORDER BY kind, actor;

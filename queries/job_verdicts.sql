-- name: job_verdicts
-- Each job that used an advisory image, with the strongest verdict of its uses.
-- inputs: use_verdicts, jobs
-- params: (none)
-- output: job_key VARCHAR, ci VARCHAR, project VARCHAR, run VARCHAR, job VARCHAR,
--   runner VARCHAR, host VARCHAR, verdict VARCHAR, rank INTEGER, reason VARCHAR,
--   image VARCHAR, tag VARCHAR, digest VARCHAR, first_use TIMESTAMPTZ,
--   evidence STRUCT(file VARCHAR, line BIGINT)[] (lines of the uses that carry the verdict),
--   uses BIGINT (uses with a verdict)
WITH judged AS (
    SELECT * FROM use_verdicts WHERE actor_kind = 'job' AND verdict IS NOT NULL
),
best AS (
    SELECT job_key, max(rank) AS rank, count(*) AS uses FROM judged GROUP BY job_key
),
top AS (
    -- the earliest use with the strongest verdict speaks for the job
    SELECT j.*, row_number() OVER (
               PARTITION BY j.job_key
               ORDER BY j.ts_lo NULLS LAST, j.file, j.line) AS n
    FROM judged j JOIN best b ON b.job_key = j.job_key AND b.rank = j.rank
),
lines AS (
    SELECT t.job_key,
           list(DISTINCT {'file': t.file, 'line': e}) AS evidence
    FROM top t, unnest(t.evidence_lines) AS x(e)
    GROUP BY t.job_key
)
SELECT t.job_key::VARCHAR AS job_key,
       j.ci::VARCHAR AS ci,
       j.project::VARCHAR AS project,
       j.run::VARCHAR AS run,
       j.job::VARCHAR AS job,
       j.runner::VARCHAR AS runner,
       coalesce(t.host, j.host)::VARCHAR AS host,
       t.verdict::VARCHAR AS verdict,
       t.rank::INTEGER AS rank,
       t.reason::VARCHAR AS reason,
       t.image::VARCHAR AS image,
       t.tag::VARCHAR AS tag,
       t.digest::VARCHAR AS digest,
       t.ts_lo AS first_use,
       list_sort(l.evidence) AS evidence,
       b.uses::BIGINT AS uses
FROM top t
JOIN best b ON b.job_key = t.job_key
JOIN lines l ON l.job_key = t.job_key
LEFT JOIN jobs j ON j.job_key = t.job_key
WHERE t.n = 1
ORDER BY project, run, job, job_key;

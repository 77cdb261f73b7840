-- name: job_verdicts
-- Each job that used an advisory image, with the strongest verdict of its uses.
-- inputs: actor_verdicts, jobs
-- params: (none)
-- output: job_key VARCHAR, ci VARCHAR, project VARCHAR, run VARCHAR, job VARCHAR,
--   runner VARCHAR, host VARCHAR, verdict VARCHAR, rank INTEGER, reason VARCHAR,
--   image VARCHAR, tag VARCHAR, digest VARCHAR, first_use TIMESTAMPTZ,
--   evidence STRUCT(file VARCHAR, line BIGINT)[] (lines of the uses that carry the verdict),
--   uses BIGINT (uses with a verdict)
SELECT a.actor::VARCHAR AS job_key,
       j.ci::VARCHAR AS ci,
       j.project::VARCHAR AS project,
       j.run::VARCHAR AS run,
       j.job::VARCHAR AS job,
       j.runner::VARCHAR AS runner,
       coalesce(a.host, j.host)::VARCHAR AS host,
       a.verdict, a.rank, a.reason, a.image, a.tag, a.digest, a.first_use, a.evidence, a.uses
FROM actor_verdicts a
LEFT JOIN jobs j ON j.job_key = a.actor
WHERE a.kind = 'job'
ORDER BY project, run, job, job_key;

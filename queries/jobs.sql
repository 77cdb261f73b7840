-- name: jobs
-- One row per CI job found in the logs, named from the jobs API when it was collected.
-- inputs: job_logs, api_jobs
-- params: (none)
-- output: job_key VARCHAR, ci VARCHAR, project VARCHAR, run VARCHAR, job VARCHAR,
--   job_id VARCHAR, runner VARCHAR, host VARCHAR, started TIMESTAMPTZ, ended TIMESTAMPTZ,
--   file VARCHAR
WITH logs AS (
    -- A job split into step files has one row per file: fold them.
    SELECT job_key,
           any_value(ci) AS ci,
           any_value(project) AS project,
           any_value(run) AS run,
           any_value(file_job_name) AS file_job_name,
           min(log_job_name) AS log_job_name,
           min(runner_name) AS runner_name,
           min(machine_name) AS machine_name,
           min(ts_first) AS ts_first,
           max(ts_last) AS ts_last,
           min(file) AS file
    FROM job_logs
    GROUP BY job_key
),
api AS (
    SELECT *,
           -- the archive's file names drop ':' and turn '/' into '_' (cli/cli#5011)
           regexp_replace(replace(name, '/', '_'), '[:]', '', 'g') AS file_name
    FROM api_jobs
),
matched AS (
    SELECT l.job_key,
           a.job_id, a.name AS api_name, a.runner_name AS api_runner, a.run AS api_run,
           a.started_at, a.completed_at,
           row_number() OVER (PARTITION BY l.job_key ORDER BY a.job_id) AS n
    FROM logs l
    JOIN api a
      ON a.ci = l.ci AND a.project IS NOT DISTINCT FROM l.project
     AND CASE WHEN a.ci = 'gitlab'
              -- a GitLab trace is named after its job id; its JSON gives name and pipeline
              THEN a.job_id = l.file_job_name
              -- a Jenkins build.xml sits beside its log: same job path and build number
              WHEN a.ci = 'jenkins' THEN a.run IS NOT DISTINCT FROM l.run
              ELSE a.run IS NOT DISTINCT FROM l.run
                   AND (a.name = l.log_job_name OR a.name = l.file_job_name
                        OR a.file_name = l.file_job_name)
         END
)
SELECT l.job_key::VARCHAR AS job_key,
       l.ci::VARCHAR AS ci,
       l.project::VARCHAR AS project,
       -- GitLab: the pipeline id when the job object says, else the job id
       coalesce(l.run, m.api_run, CASE WHEN l.ci = 'gitlab' THEN l.file_job_name END)::VARCHAR
           AS run,
       coalesce(m.api_name, l.log_job_name, l.file_job_name)::VARCHAR AS job,
       m.job_id::VARCHAR AS job_id,
       coalesce(l.runner_name, m.api_runner)::VARCHAR AS runner,
       l.machine_name::VARCHAR AS host,                    -- self-hosted runners name their machine
       coalesce(m.started_at, l.ts_first) AS started,
       coalesce(m.completed_at, l.ts_last) AS ended,
       l.file::VARCHAR AS file
FROM logs l
LEFT JOIN matched m ON m.job_key = l.job_key AND m.n = 1
ORDER BY project, run, job, job_key;

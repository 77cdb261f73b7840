-- name: secrets_to_rotate
-- Secret names visible in any confirmed, likely or possible job (a job-level compromise can
-- read the whole job's environment), plus GITHUB_TOKEN for GitHub and CI_JOB_TOKEN for GitLab jobs.
-- inputs: job_verdicts, job_secrets, token_permissions
-- params: (none)
-- output: name VARCHAR, ci VARCHAR, project VARCHAR, verdict VARCHAR, jobs VARCHAR[],
--   first_exposed TIMESTAMPTZ, expires_with_job BOOLEAN,
--   permissions MAP(VARCHAR, VARCHAR) (GITHUB_TOKEN scope -> strongest access; NULL otherwise),
--   evidence STRUCT(file VARCHAR, line BIGINT)[] (where the name appears)
WITH flagged AS (
    SELECT *, concat_ws('/', project, run, job) AS job_ref
    FROM job_verdicts WHERE verdict IN ('confirmed', 'likely', 'possible')
),
held AS (
    SELECT s.name, f.ci, f.project, f.verdict, f.rank, f.job_ref, f.first_use,
           false AS expires_with_job, s.file, s.line
    FROM job_secrets s JOIN flagged f ON f.job_key = s.job_key
    UNION ALL
    -- every GitHub job holds a GITHUB_TOKEN, valid until the job ends
    SELECT 'GITHUB_TOKEN', f.ci, f.project, f.verdict, f.rank, f.job_ref, f.first_use,
           true, p.file, p.line
    FROM flagged f LEFT JOIN token_permissions p ON p.job_key = f.job_key
    WHERE f.ci = 'github'
    UNION ALL
    -- every GitLab job holds a CI_JOB_TOKEN, valid until the job ends
    SELECT 'CI_JOB_TOKEN', f.ci, f.project, f.verdict, f.rank, f.job_ref, f.first_use,
           true, NULL, NULL
    FROM flagged f
    WHERE f.ci = 'gitlab'
),
perms AS (
    SELECT f.project, p.scope,
           CASE max(CASE p.access WHEN 'write' THEN 2 WHEN 'read' THEN 1 ELSE 0 END)
                WHEN 2 THEN 'write' WHEN 1 THEN 'read' ELSE 'none' END AS access
    FROM token_permissions p JOIN flagged f ON f.job_key = p.job_key
    GROUP BY f.project, p.scope
)
SELECT h.name::VARCHAR AS name,
       h.ci::VARCHAR AS ci,
       h.project::VARCHAR AS project,
       arg_max(h.verdict, h.rank)::VARCHAR AS verdict,
       list_sort(list(DISTINCT h.job_ref)) AS jobs,
       min(h.first_use) AS first_exposed,
       bool_or(h.expires_with_job) AS expires_with_job,
       CASE WHEN h.name = 'GITHUB_TOKEN' AND h.ci = 'github' THEN
           (SELECT map(list(scope ORDER BY scope), list(access ORDER BY scope))
            FROM perms p WHERE p.project = h.project)
       END AS permissions,
       list_sort(list(DISTINCT {'file': h.file, 'line': h.line})
                 FILTER (WHERE h.file IS NOT NULL)) AS evidence
FROM held h
GROUP BY h.name, h.ci, h.project
ORDER BY h.project, h.name;

-- name: job_secret_names
-- The secret names each job's log shows (masked env/with values), one row per job and name.
-- inputs: job_secrets
-- params: (none)
-- output: job_key VARCHAR, name VARCHAR
SELECT DISTINCT job_key::VARCHAR AS job_key, name::VARCHAR AS name
FROM job_secrets
ORDER BY job_key, name;

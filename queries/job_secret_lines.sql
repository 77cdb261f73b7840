-- name: job_secret_lines
-- The first line where each job's log shows each secret name; GITHUB_TOKEN points at the
-- job's token permissions (absent when the log has none).
-- inputs: job_secrets, token_permissions
-- params: (none)
-- output: job_key VARCHAR, name VARCHAR, file VARCHAR, line BIGINT
WITH firsts AS (
    SELECT job_key, name, min({'file': file, 'line': line}) AS pos
    FROM job_secrets GROUP BY job_key, name
    UNION ALL
    SELECT job_key, 'GITHUB_TOKEN', min({'file': file, 'line': line})
    FROM token_permissions GROUP BY job_key
)
SELECT job_key::VARCHAR AS job_key, name::VARCHAR AS name,
       pos.file::VARCHAR AS file, pos.line::BIGINT AS line
FROM firsts
ORDER BY job_key, name;

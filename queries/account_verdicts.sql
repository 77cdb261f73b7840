-- name: account_verdicts
-- Docker Hub accounts (from the pull usage export) that pulled an advisory image or digest.
-- inputs: actor_verdicts
-- params: (none)
-- output: account VARCHAR (the Hub user name; NULL when the row names only a token),
--   token VARCHAR (access token name of the carrying use),
--   verdict VARCHAR, rank INTEGER, reason VARCHAR, image VARCHAR, tag VARCHAR, digest VARCHAR,
--   first_use TIMESTAMPTZ, ips VARCHAR[], evidence STRUCT(file VARCHAR, line BIGINT)[], uses BIGINT
SELECT CASE WHEN a.actor LIKE 'hub:(%' THEN NULL ELSE substr(a.actor, 5) END::VARCHAR AS account,
       a.step::VARCHAR AS token,
       a.verdict, a.rank, a.reason, a.image, a.tag, a.digest, a.first_use,
       -- one usage row may hold several addresses ("1.2.3.4, 5.6.7.8")
       list_sort(list_distinct(flatten(list_transform(
           a.peers, lambda p: list_transform(string_split(p, ','), lambda x: trim(x)))))) AS ips,
       a.evidence, a.uses
FROM actor_verdicts a
WHERE a.kind = 'account'
ORDER BY a.actor;

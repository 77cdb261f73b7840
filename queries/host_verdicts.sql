-- name: host_verdicts
-- Each host (captured machine or self-hosted runner) that used an advisory image, with the
-- strongest verdict of its uses.
-- inputs: actor_verdicts
-- params: (none)
-- output: host VARCHAR, verdict VARCHAR, rank INTEGER, reason VARCHAR, image VARCHAR,
--   tag VARCHAR, digest VARCHAR, first_use TIMESTAMPTZ,
--   evidence STRUCT(file VARCHAR, line BIGINT)[], uses BIGINT,
--   still_present BOOLEAN (NULL: no image inventory was collected)
SELECT a.actor::VARCHAR AS host,
       a.verdict, a.rank, a.reason, a.image, a.tag, a.digest, a.first_use, a.evidence, a.uses,
       NULL::BOOLEAN AS still_present
FROM actor_verdicts a
WHERE a.kind = 'host'
ORDER BY host;

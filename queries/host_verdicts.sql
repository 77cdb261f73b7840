-- name: host_verdicts
-- Each host (captured machine or self-hosted runner) that used an advisory image, with the
-- strongest verdict of its uses and whether its image inventory still lists a malicious digest.
-- inputs: actor_verdicts, host_images, advisory_digests
-- params: (none)
-- output: host VARCHAR, verdict VARCHAR, rank INTEGER, reason VARCHAR, image VARCHAR,
--   tag VARCHAR, digest VARCHAR, first_use TIMESTAMPTZ,
--   evidence STRUCT(file VARCHAR, line BIGINT)[], uses BIGINT,
--   still_present BOOLEAN (true: an inventory lists a malicious digest; NULL: unknown)
WITH malicious AS (
    SELECT digest FROM advisory_digests WHERE malicious
),
held AS (
    SELECT i.host,
           bool_or(coalesce(i.digest IN (SELECT digest FROM malicious), false)
                   OR coalesce(i.image_id IN (SELECT digest FROM malicious), false)) AS malicious
    FROM host_images i
    GROUP BY i.host
)
SELECT a.actor::VARCHAR AS host,
       a.verdict, a.rank, a.reason, a.image, a.tag, a.digest, a.first_use, a.evidence, a.uses,
       -- an inventory's capture time is not known yet, so one without the digest proves nothing
       CASE WHEN h.malicious THEN true END::BOOLEAN AS still_present
FROM actor_verdicts a
LEFT JOIN held h ON h.host = a.actor
WHERE a.kind = 'host'
ORDER BY host;

-- name: host_verdicts
-- Each host (captured machine or self-hosted runner) that used an advisory image, with the
-- strongest verdict of its uses and whether its image inventories say it still holds one.
-- inputs: actor_verdicts, host_images, advisory_digests
-- params: $window_start (TIMESTAMPTZ), $window_end (TIMESTAMPTZ, NULL when open-ended)
-- output: host VARCHAR, verdict VARCHAR, rank INTEGER, reason VARCHAR, image VARCHAR,
--   tag VARCHAR, digest VARCHAR, first_use TIMESTAMPTZ,
--   evidence STRUCT(file VARCHAR, line BIGINT)[], uses BIGINT,
--   still_present BOOLEAN (true: the latest inventory lists a malicious digest; false: an
--   inventory taken after the window no longer does; NULL: unknown)
WITH malicious AS (
    SELECT digest FROM advisory_digests WHERE malicious
),
snapshots AS (
    -- one inventory file = one snapshot, dated when its file name carries a time stamp
    SELECT i.host, i.file, any_value(i.captured_at) AS captured_at,
           bool_or(coalesce(i.digest IN (SELECT digest FROM malicious), false)
                   OR coalesce(i.image_id IN (SELECT digest FROM malicious), false)) AS bad
    FROM host_images i
    GROUP BY i.host, i.file
),
held AS (
    SELECT host,
           bool_or(bad) AS any_bad,
           arg_max(bad, captured_at) AS latest_bad,
           max(captured_at) AS latest_at
    FROM snapshots
    GROUP BY host
)
SELECT a.actor::VARCHAR AS host,
       a.verdict, a.rank, a.reason, a.image, a.tag, a.digest, a.first_use, a.evidence, a.uses,
       CASE WHEN h.latest_at IS NOT NULL AND h.latest_bad THEN true
            -- gone only if a snapshot taken after the window (when the tag was fixed) says so
            WHEN h.latest_at IS NOT NULL AND NOT h.latest_bad
                 AND h.latest_at > coalesce($window_end, $window_start)
                 AND h.latest_at > coalesce(a.first_use, $window_start) THEN false
            WHEN h.any_bad THEN true
       END::BOOLEAN AS still_present
FROM actor_verdicts a
LEFT JOIN held h ON h.host = a.actor
WHERE a.kind = 'host'
ORDER BY host;

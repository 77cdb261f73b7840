-- name: cache_verdicts
-- Registries and pull-through caches that served or stored an advisory image or digest.
-- inputs: actor_verdicts, use_verdicts
-- params: (none)
-- output: cache VARCHAR, verdict VARCHAR, rank INTEGER, reason VARCHAR, image VARCHAR,
--   digest VARCHAR, first_use TIMESTAMPTZ, clients VARCHAR[],
--   still_present BOOLEAN (true: the cache stored a malicious digest; NULL: unknown),
--   evidence STRUCT(file VARCHAR, line BIGINT)[], uses BIGINT
WITH stored AS (
    SELECT host, bool_or(action = 'cached' AND digest_status = 'malicious') AS malicious
    FROM use_verdicts WHERE actor_kind = 'cache' GROUP BY host
)
SELECT a.actor::VARCHAR AS cache,
       a.verdict, a.rank, a.reason, a.image, a.digest, a.first_use,
       a.peers AS clients,
       CASE WHEN s.malicious THEN true END::BOOLEAN AS still_present,
       a.evidence, a.uses
FROM actor_verdicts a
LEFT JOIN stored s ON s.host = a.actor
WHERE a.kind = 'cache'
ORDER BY cache;

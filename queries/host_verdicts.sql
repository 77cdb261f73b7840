-- name: host_verdicts
-- Each host (captured machine or self-hosted runner) that used an advisory image, with the
-- strongest verdict of its uses.
-- inputs: use_verdicts
-- params: (none)
-- output: host VARCHAR, verdict VARCHAR, rank INTEGER, reason VARCHAR, image VARCHAR,
--   tag VARCHAR, digest VARCHAR, first_use TIMESTAMPTZ,
--   evidence STRUCT(file VARCHAR, line BIGINT)[], uses BIGINT,
--   still_present BOOLEAN (NULL: no image inventory was collected)
WITH judged AS (
    SELECT * FROM use_verdicts WHERE host IS NOT NULL AND verdict IS NOT NULL
),
best AS (
    SELECT host, max(rank) AS rank, count(*) AS uses FROM judged GROUP BY host
),
top AS (
    SELECT j.*, row_number() OVER (
               PARTITION BY j.host
               ORDER BY j.ts_lo NULLS LAST, j.file, j.line) AS n
    FROM judged j JOIN best b ON b.host = j.host AND b.rank = j.rank
),
lines AS (
    SELECT t.host, list(DISTINCT {'file': t.file, 'line': e}) AS evidence
    FROM top t, unnest(t.evidence_lines) AS x(e)
    GROUP BY t.host
)
SELECT t.host::VARCHAR AS host,
       t.verdict::VARCHAR AS verdict,
       t.rank::INTEGER AS rank,
       t.reason::VARCHAR AS reason,
       t.image::VARCHAR AS image,
       t.tag::VARCHAR AS tag,
       t.digest::VARCHAR AS digest,
       t.ts_lo AS first_use,
       list_sort(l.evidence) AS evidence,
       b.uses::BIGINT AS uses,
       NULL::BOOLEAN AS still_present
FROM top t
JOIN best b ON b.host = t.host
JOIN lines l ON l.host = t.host
WHERE t.n = 1
ORDER BY host;

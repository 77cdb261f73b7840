-- name: use_verdicts
-- Every use of an advisory image (under any mirror name) or of a listed digest, with its verdict.
-- inputs: image_uses, jobs, advisory_images, advisory_tags, advisory_digests, mirrors, tag_pushes
-- params: $window_start (TIMESTAMPTZ), $window_end (TIMESTAMPTZ, NULL when open-ended)
-- output: actor_kind VARCHAR, job_key VARCHAR, host VARCHAR, step VARCHAR, peer VARCHAR,
--   action VARCHAR, ref VARCHAR,
--   image VARCHAR (upstream name), tag VARCHAR, digest VARCHAR, digest_kind VARCHAR,
--   cached BOOLEAN, ts_lo TIMESTAMPTZ, ts_hi TIMESTAMPTZ, file VARCHAR, line BIGINT,
--   evidence_lines BIGINT[], host_evidence STRUCT(file VARCHAR, line BIGINT),
--   position VARCHAR (inside|before|after|straddles|unknown),
--   digest_status VARCHAR (malicious|known-good|unlisted|none), listed_kind VARCHAR,
--   tag_listed BOOLEAN, verdict VARCHAR (confirmed|likely|possible|cleared|NULL: counted only),
--   rank INTEGER (4..1, 0 for NULL), reason VARCHAR
WITH mapped AS (
    -- a job use whose own time is unknown lies somewhere in the job's run (e.g. Jenkins
    -- console-view times have no date; a GitLab line before the first section marker)
    SELECT u.* EXCLUDE (digest, digest_kind, ts_lo, ts_hi),
           CASE WHEN u.actor_kind = 'job' THEN coalesce(u.ts_lo, j.started) ELSE u.ts_lo END
               AS ts_lo,
           CASE WHEN u.actor_kind = 'job' THEN coalesce(u.ts_hi, j.ended) ELSE u.ts_hi END
               AS ts_hi,
           u.digest AS own_digest, u.digest_kind AS own_kind, j.started, j.ended,
           coalesce(u.host, j.host) AS use_host,
           coalesce(
               (SELECT m.upstream || substr(u.image, length(m.mirror) + 1)
                FROM mirrors m
                WHERE starts_with(u.image, m.mirror || '/')
                ORDER BY length(m.mirror) DESC
                LIMIT 1),
               u.image) AS mirrored
    FROM image_uses u
    LEFT JOIN jobs j ON j.job_key = u.job_key
),
normalized AS (
    SELECT *,
           CASE WHEN mirrored LIKE 'docker.io/%' AND position('/' IN substr(mirrored, 11)) = 0
                THEN 'docker.io/library/' || substr(mirrored, 11)
                ELSE mirrored END AS upstream_image
    FROM mapped
),
host_digests AS (
    -- digests a host's own logs recorded, with their time
    SELECT use_host, upstream_image, tag, own_digest, own_kind, ts_lo, ts_hi, file, line, step
    FROM normalized
    WHERE actor_kind = 'host' AND own_digest IS NOT NULL
),
upstream AS (
    -- a job use with no digest inherits the digest its host recorded for the same image and
    -- tag while the job ran (e.g. a pull without a Digest: line and the daemon's log of it);
    -- a pod's pull event (no digest) inherits the digest in the same pod's status (imageID)
    SELECT n.*,
           CASE WHEN n.actor_kind = 'job' AND n.own_digest IS NULL AND n.use_host IS NOT NULL
                     AND n.started IS NOT NULL AND n.ended IS NOT NULL THEN
               (SELECT {'digest': h.own_digest, 'kind': h.own_kind, 'file': h.file,
                        'line': h.line, 'host': h.use_host}
                FROM host_digests h
                WHERE h.use_host = n.use_host AND h.upstream_image = n.upstream_image
                  AND h.tag IS NOT DISTINCT FROM n.tag AND h.ts_lo IS NOT NULL
                  AND h.ts_lo >= n.started AND h.ts_hi <= n.ended
                ORDER BY abs(epoch(h.ts_lo) - epoch(coalesce(n.ts_lo, h.ts_lo))), h.file, h.line
                LIMIT 1)
                WHEN n.format = 'kubernetes' AND n.own_digest IS NULL AND n.step IS NOT NULL THEN
               (SELECT {'digest': h.own_digest, 'kind': h.own_kind, 'file': h.file,
                        'line': h.line, 'host': h.use_host}
                FROM host_digests h
                WHERE h.use_host IS NOT DISTINCT FROM n.use_host AND h.step = n.step
                  AND h.upstream_image = n.upstream_image AND h.tag IS NOT DISTINCT FROM n.tag
                ORDER BY h.file, h.line
                LIMIT 1)
           END AS via_host
    FROM normalized n
),
inherited AS (
    SELECT *,
           coalesce(own_digest, via_host.digest) AS digest,
           coalesce(own_kind, via_host.kind) AS digest_kind
    FROM upstream
),
audit_good AS (
    -- what the publisher's audit log shows a tag pointing to outside the window
    SELECT DISTINCT p.digest, p.image, p.tag, p.ts_lo
    FROM tag_pushes p
    WHERE p.action = 'repo.tag.push' AND p.digest IS NOT NULL
      AND (p.ts_hi < $window_start OR ($window_end IS NOT NULL AND p.ts_lo > $window_end))
      AND p.digest NOT IN (SELECT digest FROM advisory_digests WHERE malicious)
),
classified AS (
    SELECT u.*,
           d.malicious AS listed_malicious,
           d.kind AS listed_kind,
           (SELECT g.tag || ' pointing to it at ' || strftime(g.ts_lo, '%Y-%m-%d %H:%M:%S')
            FROM audit_good g WHERE g.digest = u.digest
            ORDER BY (g.tag = u.tag) DESC, g.ts_lo, g.tag LIMIT 1) AS audit_tag,
           EXISTS (SELECT 1 FROM advisory_tags t
                   WHERE t.image = u.upstream_image AND t.tag = u.tag) AS tag_listed,
           CASE WHEN u.ts_lo IS NULL OR u.ts_hi IS NULL THEN 'unknown'
                WHEN u.ts_hi < $window_start THEN 'before'
                WHEN $window_end IS NOT NULL AND u.ts_lo > $window_end THEN 'after'
                WHEN u.ts_lo >= $window_start
                     AND ($window_end IS NULL OR u.ts_hi <= $window_end) THEN 'inside'
                ELSE 'straddles' END AS position
    FROM inherited u
    LEFT JOIN (SELECT digest, bool_or(malicious) AS malicious, min(kind) AS kind
               FROM advisory_digests GROUP BY digest) d ON d.digest = u.digest
    WHERE u.upstream_image IN (SELECT image FROM advisory_images) OR d.digest IS NOT NULL
),
judged AS (
    SELECT *,
           CASE WHEN listed_malicious THEN 'malicious'
                WHEN listed_malicious = false OR audit_tag IS NOT NULL THEN 'known-good'
                WHEN digest IS NOT NULL THEN 'unlisted'
                ELSE 'none' END AS digest_status
    FROM classified
),
verdicts AS (
    SELECT *,
           CASE WHEN digest_status = 'malicious' THEN 'confirmed'
                WHEN digest_status = 'known-good' THEN 'cleared'
                WHEN digest IS NOT NULL AND position IN ('before', 'after') THEN 'cleared'
                WHEN digest IS NOT NULL THEN 'possible'
                WHEN NOT tag_listed THEN NULL
                WHEN cached AND position <> 'before' THEN 'possible'
                WHEN position IN ('before', 'after') THEN 'cleared'
                WHEN position = 'inside' THEN 'likely'
                ELSE 'possible' END AS verdict
    FROM judged
)
SELECT actor_kind::VARCHAR AS actor_kind,
       job_key::VARCHAR AS job_key,
       use_host::VARCHAR AS host,
       step::VARCHAR AS step,
       peer::VARCHAR AS peer,
       action::VARCHAR AS action,
       ref::VARCHAR AS ref,
       upstream_image::VARCHAR AS image,
       tag::VARCHAR AS tag,
       digest::VARCHAR AS digest,
       digest_kind::VARCHAR AS digest_kind,
       cached::BOOLEAN AS cached,
       ts_lo, ts_hi,
       file::VARCHAR AS file,
       line::BIGINT AS line,
       evidence_lines,
       -- the host's line a job use took its digest from (NULL: the use recorded its own)
       CASE WHEN via_host IS NOT NULL AND own_digest IS NULL
            THEN {'file': via_host.file, 'line': via_host.line} END AS host_evidence,
       position::VARCHAR AS position,
       digest_status::VARCHAR AS digest_status,
       listed_kind::VARCHAR AS listed_kind,
       tag_listed::BOOLEAN AS tag_listed,
       verdict::VARCHAR AS verdict,
       CASE verdict WHEN 'confirmed' THEN 4 WHEN 'likely' THEN 3
                    WHEN 'possible' THEN 2 WHEN 'cleared' THEN 1 ELSE 0 END::INTEGER AS rank,
       (CASE WHEN via_host IS NOT NULL AND own_digest IS NULL
             THEN CASE WHEN actor_kind = 'job'
                       THEN 'host ' || via_host.host || ' logged the digest while the job ran ('
                       ELSE 'the pod''s status names the digest (' END
                  || via_host.file || ':' || via_host.line || '); '
             ELSE '' END ||
        CASE
          WHEN digest_status = 'malicious' THEN
            'digest ' || digest || ' is listed malicious (' || listed_kind || ' digest)'
          WHEN digest_status = 'known-good' AND listed_malicious = false THEN
            'digest ' || digest || ' is listed known-good'
          WHEN digest_status = 'known-good' THEN
            'digest ' || digest || ' is known-good: the audit log shows tag ' || audit_tag
            || ' UTC, outside the window'
          WHEN digest IS NOT NULL AND position IN ('before', 'after') THEN
            'digest ' || digest || ' is not listed and the use was ' || position || ' the window'
          WHEN digest IS NOT NULL THEN
            'digest ' || digest || ' is neither listed malicious nor known-good, and the use '
            || CASE position WHEN 'inside' THEN 'was inside the window'
                             WHEN 'straddles' THEN 'straddles a window edge'
                             ELSE 'has no known time' END
          WHEN NOT tag_listed THEN
            'tag ' || coalesce(tag, '(none)') || ' is not listed and no digest was recorded: counted only'
          WHEN cached AND position <> 'before' THEN
            'tag ' || tag || ' is listed and the image was served from the local cache with no '
            || 'pull or digest recorded; the cache may hold what was pulled during the window'
          WHEN position IN ('before', 'after') THEN
            'tag ' || tag || ' is listed, no digest was recorded, and the use was entirely '
            || position || ' the window'
          WHEN position = 'inside' THEN
            'tag ' || tag || ' is listed, no digest was recorded, and the use was entirely '
            || 'inside the window'
          WHEN position = 'straddles' THEN
            'tag ' || tag || ' is listed, no digest was recorded, and the use''s time '
            || 'straddles a window edge'
          ELSE 'tag ' || tag || ' is listed, no digest was recorded, and the time is unknown'
        END)::VARCHAR AS reason
FROM verdicts
ORDER BY actor_kind, job_key, host, file, line, action, image, tag;

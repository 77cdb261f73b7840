-- name: tag_history
-- Tag events of advisory images from the publisher's audit log, for the timeline.
-- inputs: tag_pushes, advisory_images, advisory_digests
-- params: (none)
-- output: image VARCHAR, tag VARCHAR, digest VARCHAR, action VARCHAR, actor VARCHAR,
--   ts_lo TIMESTAMPTZ, malicious BOOLEAN, file VARCHAR, line BIGINT
SELECT p.image::VARCHAR AS image,
       p.tag::VARCHAR AS tag,
       p.digest::VARCHAR AS digest,
       p.action::VARCHAR AS action,
       p.actor::VARCHAR AS actor,
       p.ts_lo,
       coalesce((SELECT bool_or(d.malicious) FROM advisory_digests d WHERE d.digest = p.digest),
                false) AS malicious,
       p.file::VARCHAR AS file,
       p.line::BIGINT AS line
FROM tag_pushes p
WHERE p.image IN (SELECT image FROM advisory_images)
ORDER BY p.ts_lo, p.tag, p.file, p.line;

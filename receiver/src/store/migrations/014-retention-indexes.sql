-- What the hourly retention purge deletes, found by index (store/retention.ts): incidents resolved
-- and deliveries delivered before the period. Without them each run read every incident and every
-- delivery to find that nothing had expired, seconds of a store's time at a million incidents, and
-- on a stock PostgreSQL (128 MB of shared buffers) enough to push the intake's indexes out of the
-- cache. Partial: an open incident or a pending delivery (what the intake writes) has no entry.
CREATE INDEX incidents_resolved ON incidents (resolved_at) WHERE state = 'resolved';
CREATE INDEX deliveries_delivered ON deliveries (delivered_at) WHERE status = 'delivered';

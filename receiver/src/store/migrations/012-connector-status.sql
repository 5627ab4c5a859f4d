-- A connector's state as the status reads it (http/status-report.ts): its latest successful and its
-- latest failed delivery, found through these instead of a scan of every delivery ever kept (the
-- console asks every 5 s). Both are partial: a new delivery (pending, no error) enters neither, so
-- the intake's insert pays nothing; a delivery enters one when the outbox completes or fails it.
CREATE INDEX deliveries_connector_delivered ON deliveries (connector, delivered_at) WHERE status = 'delivered';
CREATE INDEX deliveries_connector_failed ON deliveries (connector, updated_at) WHERE last_error IS NOT NULL;

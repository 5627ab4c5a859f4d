-- Keys that always fit a btree index. PostgreSQL refuses an index entry over about 2.7 KB, and
-- Azure may send longer alert ids, ARM ids and CI names: such an alert must still be stored, so
-- a value over 512 bytes is keyed by its SHA-256 instead (store/keys.ts computes the same key).
ALTER TABLE incidents ADD COLUMN alert_key text;
UPDATE incidents SET alert_key = CASE WHEN octet_length(alert_id) <= 512 THEN alert_id
  ELSE 'sha256:' || encode(sha256(convert_to(alert_id, 'UTF8')), 'hex') END;
ALTER TABLE incidents ALTER COLUMN alert_key SET NOT NULL;
ALTER TABLE incidents DROP CONSTRAINT incidents_alert_id_key;
ALTER TABLE incidents ADD CONSTRAINT incidents_alert_key_key UNIQUE (alert_key);

-- One key for bound CIs (r: + lower-cased ARM id) and unbound ones (n: + lower-cased name).
ALTER TABLE configuration_items ADD COLUMN ci_key text;
UPDATE configuration_items SET ci_key = CASE WHEN resource_id IS NOT NULL
  THEN 'r:' || CASE WHEN octet_length(resource_id) <= 512 THEN resource_id
    ELSE 'sha256:' || encode(sha256(convert_to(resource_id, 'UTF8')), 'hex') END
  ELSE 'n:' || CASE WHEN octet_length(lower(name)) <= 512 THEN lower(name)
    ELSE 'sha256:' || encode(sha256(convert_to(lower(name), 'UTF8')), 'hex') END END;
ALTER TABLE configuration_items ALTER COLUMN ci_key SET NOT NULL;
ALTER TABLE configuration_items DROP CONSTRAINT configuration_items_resource_id_key;
DROP INDEX configuration_items_unbound_name;
ALTER TABLE configuration_items ADD CONSTRAINT configuration_items_ci_key_key UNIQUE (ci_key);

-- The timeline and the CI links are append-only and written by one code path (ledger/), in the
-- same transaction as the rows they point at. Their foreign-key checks were the largest cost of
-- the intake batch left on the server (one trigger query per row), so the write path and its
-- tests keep them consistent instead. Deleting an incident deletes its rows explicitly.
ALTER TABLE incident_events DROP CONSTRAINT incident_events_incident_id_fkey;
ALTER TABLE incident_events DROP CONSTRAINT incident_events_notification_id_fkey;
ALTER TABLE incident_configuration_items DROP CONSTRAINT incident_configuration_items_incident_id_fkey;
ALTER TABLE incident_configuration_items DROP CONSTRAINT incident_configuration_items_ci_id_fkey;

-- Nothing reads notifications by alert id; the timeline links them by id.
DROP INDEX notifications_alert_id;

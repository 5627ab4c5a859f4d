-- Every notification the receiver acknowledged, exactly as Azure sent it.
CREATE TABLE notifications (
  id bigserial PRIMARY KEY,
  -- sha256 of the canonical JSON: the same delivery twice is stored once.
  dedup_key text NOT NULL UNIQUE,
  received_at timestamptz NOT NULL DEFAULT now(),
  alert_id text NOT NULL,
  monitor_condition text NOT NULL,
  monitoring_service text NOT NULL,
  raw_payload text NOT NULL,
  caller_tenant_id text NOT NULL,
  caller_object_id text,
  caller_app_id text NOT NULL,
  token_version text NOT NULL
);

CREATE INDEX notifications_alert_id ON notifications (alert_id);

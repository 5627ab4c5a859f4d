-- The heartbeat (docs/operations.md#heartbeat): every HEARTBEAT_INTERVAL the lease holder asks
-- Azure to send a test notification through the stack's action group to our own webhook, with a
-- one-time nonce in its URL. One row per attempt; any replica may receive it (the store is shared).
CREATE TABLE heartbeats (
  nonce text PRIMARY KEY,
  sent_at timestamptz NOT NULL,
  -- After this a late arrival is no longer taken as this heartbeat (the nonce is spent).
  expires_at timestamptz NOT NULL,
  -- Azure's notificationStatus id, from createNotifications' Location; null until it answered 202.
  notification_id text,
  -- Why createNotifications failed (a 403: the role is missing), or null.
  send_error text,
  received_at timestamptz,
  -- What Azure posted, for the record: schemaId and monitoringService of the test payload.
  received_shape text,
  -- Azure's verdict from notificationStatus: the overall state and the secure webhook's action detail.
  azure_state text,
  azure_detail jsonb,
  azure_checked_at timestamptz
);
CREATE INDEX heartbeats_sent ON heartbeats (sent_at);

-- The "heartbeat missing" self alert: one row, set while it is fired, so exactly one replica sends
-- its "Fired" and exactly one its "Resolved" (a conditional UPDATE each).
CREATE TABLE heartbeat_alert (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  fired_at timestamptz,
  missing_since timestamptz
);
INSERT INTO heartbeat_alert (id) VALUES (true);

-- The incident ledger: one incident per Azure alertId, its timeline, and the CMDB it binds to.
CREATE TABLE incidents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  alert_id text NOT NULL UNIQUE,
  state text NOT NULL CHECK (state IN ('open', 'resolved')),
  resolution text CHECK (resolution IN ('alert', 'operator', 'quiet_period')),
  severity text,
  title text NOT NULL,
  description text,
  monitoring_service text NOT NULL,
  signal_type text,
  family text NOT NULL,
  alert_rule text,
  fired_at timestamptz NOT NULL,
  resolved_at timestamptz,
  -- The change the incident last applied, in the payload's own order (incidents/lifecycle.ts).
  last_at text NOT NULL,
  last_rank smallint NOT NULL,
  last_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_newest ON incidents (fired_at DESC, id DESC);
CREATE INDEX incidents_open_family ON incidents (family, fired_at) WHERE state = 'open';

CREATE TABLE incident_events (
  id bigserial PRIMARY KEY,
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  type text NOT NULL,
  at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  notification_id bigint REFERENCES notifications (id),
  actor text,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

CREATE TABLE configuration_items (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Lower-cased ARM id; null for a name Azure sent without any resource id (an unbound CI).
  resource_id text UNIQUE,
  name text NOT NULL,
  bound boolean NOT NULL,
  subscription_id text,
  resource_group text,
  provider_type text,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  CHECK (bound = (resource_id IS NOT NULL))
);
CREATE UNIQUE INDEX configuration_items_unbound_name ON configuration_items (lower(name)) WHERE resource_id IS NULL;

CREATE TABLE incident_configuration_items (
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  ci_id uuid NOT NULL REFERENCES configuration_items (id) ON DELETE CASCADE,
  source text NOT NULL,
  PRIMARY KEY (incident_id, ci_id)
);
CREATE INDEX incident_configuration_items_ci ON incident_configuration_items (ci_id);

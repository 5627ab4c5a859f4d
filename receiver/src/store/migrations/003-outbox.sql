-- The outbox: deliveries of incident changes to each configured ITSM tool, written in the same
-- transaction as the change and delivered by the outbox worker.
CREATE TABLE deliveries (
  id bigserial PRIMARY KEY,
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  connector text NOT NULL,
  action text NOT NULL CHECK (action IN ('open', 'reopen', 'resolve')),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  payload jsonb NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- A claimed job is leased: another worker may take it only after the lease runs out (a crash).
  leased_until timestamptz,
  -- Retried until then; dead-lettered after. A replay moves it.
  deadline_at timestamptz NOT NULL,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_incident ON deliveries (incident_id, connector, id);
CREATE INDEX deliveries_dead ON deliveries (id) WHERE status = 'dead';

-- What each ITSM tool calls our incident.
CREATE TABLE connector_links (
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  connector text NOT NULL,
  external_id text NOT NULL,
  external_number text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, connector)
);

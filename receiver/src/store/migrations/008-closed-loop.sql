-- The closed loop (docs/incidents.md#the-closed-loop): a person closes the ticket in the ITSM, the
-- ledger resolves, the Azure alert is closed; reconciliation catches a lost "Resolved".

-- Who resolved an incident, now also the ITSM (a person closed its ticket) and reconciliation
-- (Azure's own view said resolved or closed). Every value incidents/lifecycle.ts allows.
ALTER TABLE incidents DROP CONSTRAINT IF EXISTS incidents_resolution_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_resolution_check
  CHECK (resolution IN ('alert', 'operator', 'quiet_period', 'itsm', 'reconciliation'));

-- Which ticket an incident's deliveries are about: 1, and one more each time an alert fires again
-- after a person closed it under a route whose onRefireAfterClose is `new` (a new ticket).
ALTER TABLE incidents ADD COLUMN ticket_generation integer NOT NULL DEFAULT 1;

-- Deliveries also acknowledge and comment on a ticket; the write-back to Azure is a delivery too.
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_action_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_action_check
  CHECK (action IN ('open', 'reopen', 'resolve', 'acknowledge', 'comment'));

-- Events an ITSM pushed (or the poll found), each applied once: a repeated eventId is a no-op.
CREATE TABLE itsm_events (
  connector text NOT NULL,
  event_id text NOT NULL,
  incident_id uuid,
  state text NOT NULL,
  outcome text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connector, event_id)
);
CREATE INDEX itsm_events_received ON itsm_events (received_at);

-- Where each connector's poll of its tickets has got to (the tool's last-modified time and how
-- many tickets of that very time were already read).
CREATE TABLE itsm_poll_cursors (
  connector text PRIMARY KEY,
  changed_at text NOT NULL,
  seen_at_that_time integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Finding a ticket's incident: by what the tool calls it, per connector.
CREATE INDEX connector_links_ticket ON connector_links (connector, external_id);
CREATE INDEX connector_links_number ON connector_links (connector, external_number);
CREATE INDEX incidents_open_since ON incidents (fired_at) WHERE state = 'open';

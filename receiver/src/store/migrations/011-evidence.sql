-- Log evidence (docs/incidents.md#log-evidence): the rows a log search alert found, fetched once per
-- incident from the link in its payload. The row is the claim: whichever replica inserts it fetches,
-- and an open delivery of a log alert waits (up to EVIDENCE_WAIT) until its state is no longer 'fetching'.
CREATE TABLE incident_evidence (
  incident_id uuid PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
  state text NOT NULL CHECK (state IN ('fetching', 'stored', 'refused', 'failed', 'none')),
  -- A replica that dies mid-fetch leaves a claim another may take after this.
  claimed_until timestamptz,
  -- The host the link named (refused ones too): what an operator checks against LOG_ANALYTICS_ENDPOINT.
  link_host text,
  -- {source, columns, rows, truncated}: at most 50 rows and 64 KB of them.
  result jsonb,
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The evidence job's look for new log alerts without a claim, every half second on each replica.
CREATE INDEX incidents_log_alerts_new ON incidents (created_at) WHERE monitoring_service = 'Log Alerts V2';

-- Noise control (routing/noise.ts, incidents/noise.ts, docs/noise.md): one ticket per problem.
--
-- A problem (a group of alerts, or the storm incident of a storm guard) is an incident row of its
-- own kind, so the outbox, the timeline and the read API treat it like any incident; its members
-- stay incidents of their own (one per Azure alertId) and point at it with problem_id. `noise` is
-- the noise state machine's state (holds, flapping, a problem's members and pending updates);
-- `due_at` is when its timer must next look at the row.
ALTER TABLE incidents ADD COLUMN kind text NOT NULL DEFAULT 'alert' CHECK (kind IN ('alert', 'group', 'storm'));
ALTER TABLE incidents ADD COLUMN problem_id uuid;
ALTER TABLE incidents ADD COLUMN group_key text;
ALTER TABLE incidents ADD COLUMN noise jsonb;
ALTER TABLE incidents ADD COLUMN due_at timestamptz;
CREATE INDEX incidents_due ON incidents (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX incidents_problem ON incidents (problem_id) WHERE problem_id IS NOT NULL;
-- A group that resolved lately may reopen (a flapping series): found by key and resolve time.
CREATE INDEX incidents_group_key ON incidents (group_key, resolved_at) WHERE group_key IS NOT NULL;
-- One open problem per key, whichever replica opens it: the second one's transaction fails and
-- runs again, finding the first. Deferred, so a batch may resolve a group and open the next one
-- of the same key (its member fired again) in one statement.
ALTER TABLE incidents ADD CONSTRAINT incidents_one_open_problem
  EXCLUDE USING btree (group_key WITH =) WHERE (state = 'open' AND group_key IS NOT NULL) DEFERRABLE INITIALLY DEFERRED;

-- Member changes reach a problem's ticket as an update (a ServiceNow work note, a BMC Helix work log):
-- every action outbox/delivery.ts knows, the closed loop's acknowledge and comment included.
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_action_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_action_check CHECK (action IN ('open', 'reopen', 'resolve', 'acknowledge', 'comment', 'update'));

-- Storm guards: the tickets each guard let through per connector lately, and its open storm incident.
CREATE TABLE noise_storms (
  storm text NOT NULL,
  connector text NOT NULL,
  opened jsonb NOT NULL DEFAULT '[]',
  incident_id uuid,
  PRIMARY KEY (storm, connector)
);

-- Silences added at run time (POST /api/silences), like `amtool silence add`.
CREATE TABLE silences (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  match jsonb NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  comment text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expired_by text,
  CHECK (ends_at >= starts_at)
);
CREATE INDEX silences_ends ON silences (ends_at, starts_at);

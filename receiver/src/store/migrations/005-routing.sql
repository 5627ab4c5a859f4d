-- Routing rules (receiver/src/routing): a notification the admission rules refused is kept, with
-- the rule that refused it; an incident keeps the routing it was created with for its whole life,
-- and a maintenance window holds its deliveries until the window ends.
ALTER TABLE notifications ADD COLUMN admitted boolean NOT NULL DEFAULT true;
ALTER TABLE notifications ADD COLUMN admission_rule text;

ALTER TABLE incidents ADD COLUMN routing jsonb;
ALTER TABLE incidents ADD COLUMN held_until timestamptz;
ALTER TABLE incidents ADD COLUMN hold_window text;
CREATE INDEX incidents_held ON incidents (held_until) WHERE held_until IS NOT NULL;

-- A problem's members listed by name and its pending update lines (incidents/noise.ts `shown`,
-- `pending`), apart from the rest of its state in `noise`. A storm or a busy group changes its
-- counters with every intake batch, but its listed members only now and then: kept in a column of
-- their own, the lines (and the description made from them) are written only when they change, so
-- a batch no longer compresses and rewrites kilobytes of JSON per problem (store/ledger-writes.ts).
-- `noise` keeps empty lists in their place, so that a replica of the release before, still running
-- during a rolling upgrade, reads a state it understands (store/incidents.ts); a problem such a
-- replica changes lists its members from then on, and its counts stay right.
ALTER TABLE incidents ADD COLUMN problem_lines jsonb;
UPDATE incidents SET problem_lines = jsonb_build_object('shown', noise -> 'shown', 'pending', noise -> 'pending'),
    noise = noise || '{"shown": [], "pending": []}'
  WHERE kind <> 'alert' AND noise IS NOT NULL;

-- Leases: a job that must run on one replica at a time (a heartbeat, a sweep) holds its lease
-- while it runs; another replica takes it over only once it has expired (its holder died).
CREATE TABLE leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now()
);

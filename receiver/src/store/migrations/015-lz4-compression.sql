-- The long values the intake writes (an alert's raw body, an incident's routing explanation and a
-- problem's text, a delivery's snapshot) compressed with LZ4 rather than PostgreSQL's own pglz.
-- A row past 2 kB is compressed as it is written: with a noise rule an alert incident's routing
-- explanation takes it there, and pglz spent about 8 µs of PostgreSQL's time on each such row,
-- LZ4 next to nothing, for the same size (docs/performance.md). Values already stored keep pglz;
-- both read alike.
-- Only the column's setting changes (no table rewrite). A server built without LZ4 (and PGlite, the
-- embedded store) refuses the method, and PostgreSQL before 14 the syntax: those keep pglz.
DO $$
BEGIN
  EXECUTE 'ALTER TABLE notifications ALTER COLUMN raw_payload SET COMPRESSION lz4';
  EXECUTE 'ALTER TABLE incidents ALTER COLUMN routing SET COMPRESSION lz4, ALTER COLUMN description SET COMPRESSION lz4,
    ALTER COLUMN noise SET COMPRESSION lz4, ALTER COLUMN problem_lines SET COMPRESSION lz4';
  EXECUTE 'ALTER TABLE deliveries ALTER COLUMN payload SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
  NULL;
END
$$;

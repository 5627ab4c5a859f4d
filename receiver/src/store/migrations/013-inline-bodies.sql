-- Raw bodies stay in their row, uncompressed, up to about 8 kB (docs/performance.md). By default a
-- row over about 2 kB is compressed (pglz) and moved to the TOAST table with an index entry of its
-- own, and half of Azure's sample bodies are 2-3.3 kB: that was the largest share of PostgreSQL's
-- CPU for recording a notification. Nothing reads the bodies on the intake path, the table is
-- append-only, and a row is read by its id or dedup key, so wider rows cost disk, not time.
-- Larger bodies (up to Azure's 256 kB) are still compressed and moved out as before.
ALTER TABLE notifications SET (toast_tuple_target = 8160);

-- SPDX-License-Identifier: Apache-2.0
--
-- 007_events_index: a narrower btree on events, because it was the largest
-- cost per row at ingest (perf on the events backend of the ingest
-- benchmark: about a fifth of its COPY time went to inserting into it).
--
-- The old key (host_id, exec_id, ts) was unique per row, so every event
-- added a full index tuple and btree deduplication never applied.  The
-- queries that use it ("connections" joins on host_id and exec_id, then
-- filters the window; "timeline" filters host_id and uses BRIN for ts) do
-- not need ts in the key.  Keyed on (host_id, exec_id) alone, the many
-- events of one process collapse into posting lists; rows without a
-- process (exec_id NULL) are never looked up by it and stay out.
--
-- On a large existing events table this rebuilds the index of every
-- partition inside the migration's transaction.

DROP INDEX events_host_exec;
CREATE INDEX events_host_exec ON events (host_id, exec_id)
	WHERE exec_id IS NOT NULL;

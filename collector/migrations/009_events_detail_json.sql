-- SPDX-License-Identifier: Apache-2.0
--
-- 009_events_detail_json: the two largest costs per row left at ingest,
-- measured with one COPY of the same million event rows into a day
-- partition (2 cores, the same session, rows/s):
--
--   detail jsonb, btree (host_id, exec_id)   107k-117k
--   detail json,  btree (host_id, exec_id)   133k-146k
--   detail json,  hash (exec_id)             188k-211k
--
-- detail: jsonb parses every value into its binary tree at insert; json
-- only checks the syntax and keeps the text.  Events are written once and
-- read rarely (an incident query reads a few keys of a few thousand rows,
-- with ->> as before), so the parse belongs on the read side.
--
-- The process index: the incident queries look events up by exec_id
-- equality only ("connections" joins the process tree on host_id and
-- exec_id).  An exec_id already names its host (host:boot:pid:start), so a
-- hash index on it alone answers that join; it stores a 4-byte hash per
-- row instead of the two text keys, which made every btree insert a
-- descent through wide pages.  Rows without a process stay out.
--
-- On an existing events table this rewrites every partition inside the
-- migration's transaction.
ALTER TABLE events ALTER COLUMN detail DROP DEFAULT;
ALTER TABLE events ALTER COLUMN detail TYPE json USING detail::json;
ALTER TABLE events ALTER COLUMN detail SET DEFAULT '{}';

DROP INDEX events_host_exec;
CREATE INDEX events_exec ON events USING hash (exec_id)
	WHERE exec_id IS NOT NULL;

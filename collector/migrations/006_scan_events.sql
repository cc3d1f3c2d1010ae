-- SPDX-License-Identifier: Apache-2.0
--
-- 006_scan_events: what a scan could not read in full (a depth or byte
-- limit, a zip bomb, a corrupt or unreadable file), as the scanner lists it
-- in ScanReport.events, one row each; the report's count of events it had
-- to leave out (its list is bounded) goes with the scan.  host_id leads the
-- key, so the table is distributed by host on Citus like scans.

ALTER TABLE scans ADD COLUMN events_dropped bigint NOT NULL DEFAULT 0;

CREATE TABLE scan_events (
	host_id text NOT NULL,
	scan_id text NOT NULL,
	n integer NOT NULL,           -- position in the report's list
	kind text NOT NULL,           -- depth-limit, zip-bomb, corrupt, ...
	path text NOT NULL DEFAULT '',
	inner_path text NOT NULL DEFAULT '',
	detail text NOT NULL DEFAULT '',
	layer_digest text,
	ts timestamptz NOT NULL DEFAULT now(),  -- the scan's end
	PRIMARY KEY (host_id, scan_id, n)
);
CREATE INDEX scan_events_ts ON scan_events (host_id, ts);

-- Every events transaction updates its sources' marks: with a low fill
-- factor, pages of this small table are pruned after a few updates, so the
-- lookups of SQL_HWM_GROUP do not walk long chains of dead row versions.
ALTER TABLE sources SET (fillfactor = 20);

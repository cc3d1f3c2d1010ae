-- SPDX-License-Identifier: Apache-2.0
--
-- 002_partitions: the events table partitioned by day (UTC), with the
-- functions the collector calls to create partitions ahead and to drop the
-- ones older than its retention (collector/maint.c).
--
-- Partitions are named events_pYYYYMMDD and hold [day, day + 1) in UTC.
-- events_default catches what no partition covers (a source whose clock is
-- far off); when a day's partition is created later, its rows move there.

ALTER TABLE events RENAME TO events_v1;
ALTER INDEX events_ts RENAME TO events_v1_ts;
ALTER INDEX events_host_exec RENAME TO events_v1_host_exec;

CREATE TABLE events (
	ts timestamptz NOT NULL,
	host_id text NOT NULL,
	kind text NOT NULL,
	exec_id text,
	pid integer,
	detail jsonb NOT NULL DEFAULT '{}',
	source_id text NOT NULL,
	boot_id text NOT NULL,
	seq bigint NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (ts);
CREATE TABLE events_default PARTITION OF events DEFAULT;
-- BRIN costs almost nothing at ingest and serves time windows; the btree
-- serves "everything one process did".
CREATE INDEX events_ts ON events USING brin (ts);
CREATE INDEX events_host_exec ON events (host_id, exec_id, ts);

INSERT INTO events SELECT * FROM events_v1;
DROP TABLE events_v1;

-- The partition of <day>, created if missing, with the rows of that day
-- moved out of events_default.  True when it was created.
CREATE FUNCTION px_events_partition(day date) RETURNS boolean
	LANGUAGE plpgsql AS $$
DECLARE
	part text := 'events_p' || to_char(day, 'YYYYMMDD');
	lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
	hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
	IF to_regclass(part) IS NOT NULL THEN
		RETURN false;
	END IF;
	EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS)',
		part);
	EXECUTE format('WITH m AS (DELETE FROM events_default WHERE ts >= $1 '
		'AND ts < $2 RETURNING *) INSERT INTO %I SELECT * FROM m', part)
		USING lo, hi;
	EXECUTE format('ALTER TABLE events ATTACH PARTITION %I '
		'FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
	RETURN true;
END $$;

-- Creates the partitions of yesterday through <ahead> days from now and,
-- when <retention_days> > 0, drops the partitions (and deletes the
-- default's rows) older than that many days.  Returns what it did, as
-- "created=N dropped=M".
CREATE FUNCTION px_events_maintain(retention_days integer, ahead integer)
	RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	today date := (now() AT TIME ZONE 'UTC')::date;
	created integer := 0;
	dropped integer := 0;
	r record;
BEGIN
	-- One maintainer at a time, across collectors.
	PERFORM pg_advisory_xact_lock(hashtext('parallax.events_maintain'));
	FOR i IN -1 .. greatest(ahead, 0) LOOP
		IF px_events_partition(today + i) THEN
			created := created + 1;
		END IF;
	END LOOP;
	IF retention_days > 0 THEN
		FOR r IN SELECT c.relname FROM pg_inherits i
			JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'events'::regclass
			AND c.relname ~ '^events_p[0-9]{8}$'
			AND to_date(substr(c.relname, 9), 'YYYYMMDD')
				< today - retention_days
		LOOP
			EXECUTE format('DROP TABLE %I', r.relname);
			dropped := dropped + 1;
		END LOOP;
		DELETE FROM events_default
		WHERE ts < (today - retention_days)::timestamp AT TIME ZONE 'UTC';
	END IF;
	RETURN format('created=%s dropped=%s', created, dropped);
END $$;

SELECT px_events_maintain(0, 2);

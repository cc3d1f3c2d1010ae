-- SPDX-License-Identifier: Apache-2.0
--
-- 001_init: the foundation schema of the parallax collector.
--
-- host_id leads every key so that the tables can later be distributed by
-- host (Citus).  Timestamps are timestamptz; the wire carries nanoseconds
-- since the epoch and px_ts() converts them.  Every table is written only by
-- the collector's ingest transactions (collector/ingest.c).

CREATE FUNCTION px_ts(ns bigint) RETURNS timestamptz
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CASE WHEN ns IS NULL OR ns <= 0 THEN NULL
		ELSE timestamptz 'epoch' + (ns / 1000) * interval '1 microsecond'
		END $$;

-- Orders severities for sorting and for max() over a group.
CREATE FUNCTION px_severity_rank(s text) RETURNS integer
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CASE s WHEN 'critical' THEN 4 WHEN 'high' THEN 3
		WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END $$;

-- Delivery state: the high-water mark of each (source, boot) per host.  A
-- batch whose seq is at or below it is a duplicate.  A scanner speaks for
-- many hosts with one boot_id; seq stays increasing within each host's
-- subset, so the per-host mark detects replays just as well.
CREATE TABLE sources (
	host_id text NOT NULL,
	source_id text NOT NULL,
	boot_id text NOT NULL,
	seq bigint NOT NULL,
	kind text NOT NULL,
	version text NOT NULL DEFAULT '',
	peer text,
	first_seen timestamptz NOT NULL DEFAULT now(),
	last_seen timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (host_id, source_id, boot_id)
);

-- Inventory, from the HostFacts of every batch.
CREATE TABLE hosts (
	host_id text PRIMARY KEY,
	hostname text NOT NULL DEFAULT '',
	kernel text NOT NULL DEFAULT '',
	os text NOT NULL DEFAULT '',
	arch text NOT NULL DEFAULT '',
	kernel_boot_id text NOT NULL DEFAULT '',
	first_seen timestamptz NOT NULL DEFAULT now(),
	last_seen timestamptz NOT NULL DEFAULT now()
);

-- One row per process image (exec_id), alive while exited_at is NULL.  A
-- fork creates the row with the parent's image; the exec that follows keeps
-- the exec_id (same pid and start time) and overwrites the image.
CREATE TABLE processes (
	host_id text NOT NULL,
	exec_id text NOT NULL,
	pid integer NOT NULL,
	ppid integer,
	parent_exec_id text,
	start_time_ns bigint,
	exe text,
	argv text[],
	cmdline text,
	argv_truncated boolean NOT NULL DEFAULT false,
	comm text,
	uid bigint,
	euid bigint,
	loginuid bigint,
	cgroup_id numeric(20),
	container_id text,
	mnt_ns numeric(20),
	pid_ns numeric(20),
	from_snapshot boolean NOT NULL DEFAULT false,
	started_at timestamptz,
	exited_at timestamptz,
	exit_code integer,
	last_seen timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (host_id, exec_id)
);
CREATE INDEX processes_alive ON processes (host_id, pid)
	WHERE exited_at IS NULL;

-- Every runtime event, append-only.  The columns are what queries filter
-- on; the rest of the event is in detail.
-- XXX: not yet partitioned by day; a later migration does that before the
-- table grows past what one heap serves well.
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
);
CREATE INDEX events_ts ON events USING brin (ts);
CREATE INDEX events_host_exec ON events (host_id, exec_id);

-- What each process holds right now (unloaded_at NULL) and held before.
CREATE TABLE artifacts_loaded (
	host_id text NOT NULL,
	exec_id text NOT NULL,
	pid integer NOT NULL,
	path text NOT NULL,
	sha256 text,
	dev numeric(20),
	inode numeric(20),
	size bigint,
	mtime timestamptz,
	load_kind text NOT NULL,
	hash_error text,
	first_seen timestamptz NOT NULL,
	last_seen timestamptz NOT NULL,
	unloaded_at timestamptz,
	PRIMARY KEY (host_id, exec_id, path)
);
CREATE INDEX artifacts_loaded_sha256 ON artifacts_loaded (sha256)
	WHERE unloaded_at IS NULL;
CREATE INDEX artifacts_loaded_path ON artifacts_loaded (host_id, path)
	WHERE unloaded_at IS NULL;

-- What the scanner found at rest, one row per (artifact, package, CVE) or
-- per secret/PII/malware hit; upserted on the natural key.  cve is '' for a
-- package with no known CVE; fingerprint is the keyed hash of a secret or
-- PII value, or the malware signature, '' for packages.
CREATE TABLE findings (
	id bigserial,
	host_id text NOT NULL,
	path text NOT NULL,
	inner_path text NOT NULL DEFAULT '',
	type text NOT NULL,
	ecosystem text NOT NULL DEFAULT '',
	name text NOT NULL DEFAULT '',
	version text NOT NULL DEFAULT '',
	cve text NOT NULL DEFAULT '',
	fingerprint text NOT NULL DEFAULT '',
	sha256 text,
	layer_digest text,
	purl text,
	severity text NOT NULL DEFAULT 'unknown',
	evidence text NOT NULL DEFAULT '',
	source_id text NOT NULL,
	first_seen timestamptz NOT NULL DEFAULT now(),
	last_seen timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (host_id, id),
	UNIQUE (host_id, path, inner_path, type, ecosystem, name, version, cve,
		fingerprint)
);
CREATE INDEX findings_sha256 ON findings (sha256);

-- The headline: a finding about an artifact that a process has loaded.
-- host_id is the process's host; finding_host_id the host the snapshot came
-- from (they differ when the same bytes are matched across hosts by sha256).
CREATE TABLE correlations (
	host_id text NOT NULL,
	exec_id text NOT NULL,
	path text NOT NULL,
	finding_id bigint NOT NULL,
	finding_host_id text NOT NULL,
	pid integer NOT NULL,
	exe text,
	cmdline text,
	inner_path text NOT NULL DEFAULT '',
	sha256 text,
	type text NOT NULL,
	name text NOT NULL DEFAULT '',
	version text NOT NULL DEFAULT '',
	cve text NOT NULL DEFAULT '',
	severity text NOT NULL DEFAULT 'unknown',
	loaded_since timestamptz NOT NULL,
	first_seen timestamptz NOT NULL DEFAULT now(),
	last_seen timestamptz NOT NULL DEFAULT now(),
	loaded_now boolean NOT NULL DEFAULT true,
	ended_at timestamptz,
	PRIMARY KEY (host_id, exec_id, path, finding_id)
);
CREATE INDEX correlations_live ON correlations (host_id) WHERE loaded_now;

-- One row per completed scan of a snapshot.
CREATE TABLE scans (
	host_id text NOT NULL,
	scan_id text NOT NULL,
	source_id text NOT NULL,
	root text NOT NULL DEFAULT '',
	snapshot_kind text NOT NULL DEFAULT '',
	started_at timestamptz,
	finished_at timestamptz,
	files bigint NOT NULL DEFAULT 0,
	bytes bigint NOT NULL DEFAULT 0,
	findings bigint NOT NULL DEFAULT 0,
	errors bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (host_id, scan_id)
);

-- Findings with whether any process has the artifact loaded right now.
CREATE VIEW v_findings AS
SELECT f.host_id, f.path, f.inner_path, f.type, f.ecosystem, f.name,
	f.version, f.purl, f.cve, f.severity, f.sha256, f.evidence,
	f.first_seen, f.last_seen,
	EXISTS (SELECT 1 FROM correlations c
		WHERE c.finding_id = f.id AND c.finding_host_id = f.host_id
		AND c.loaded_now) AS loaded_now,
	f.id
FROM findings f;

-- Correlations whose process is alive and still holds the artifact.  The
-- command line comes from the process when known (its exec may have arrived
-- after the load).
CREATE VIEW v_loaded_now AS
SELECT c.host_id, c.pid, c.exec_id, coalesce(p.exe, c.exe) AS exe,
	coalesce(p.cmdline, c.cmdline) AS cmdline, c.path, c.inner_path,
	c.sha256, c.type, c.name, c.version, c.cve, c.severity,
	c.loaded_since, c.first_seen, c.last_seen, c.finding_id,
	c.finding_host_id, p.container_id
FROM correlations c
JOIN artifacts_loaded a ON a.host_id = c.host_id AND a.exec_id = c.exec_id
	AND a.path = c.path
LEFT JOIN processes p ON p.host_id = c.host_id AND p.exec_id = c.exec_id
WHERE c.loaded_now AND c.ended_at IS NULL AND a.unloaded_at IS NULL
	AND p.exited_at IS NULL;

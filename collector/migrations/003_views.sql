-- SPDX-License-Identifier: Apache-2.0
--
-- 003_views: what the dashboard and incident response read (collector/
-- queries.c runs them for the CLI and the HTTP API).

-- Findings with a CVE, each with whether a live process of the same host
-- holds the artifact right now (the same bytes loaded on another host
-- count for that host, through its own finding, not for this one).
CREATE VIEW v_vulnerable AS
SELECT f.host_id, f.id, f.severity, f.cve, f.name, f.version, f.path,
	f.inner_path, f.sha256, f.first_seen, f.last_seen,
	EXISTS (SELECT 1 FROM correlations c
		WHERE c.finding_host_id = f.host_id AND c.finding_id = f.id
		AND c.host_id = f.host_id AND c.loaded_now) AS loaded_now
FROM findings f
WHERE f.cve <> '';

-- Exposure per host and severity: vulnerable findings, those loaded now
-- and those only at rest.
CREATE VIEW v_exposure_host AS
SELECT host_id, severity, count(*) AS vulnerable,
	count(*) FILTER (WHERE loaded_now) AS loaded,
	count(*) FILTER (WHERE NOT loaded_now) AS at_rest_only,
	count(DISTINCT cve) AS cves
FROM v_vulnerable GROUP BY host_id, severity;

-- The same, fleet-wide, with how many hosts each count spans.
CREATE VIEW v_exposure_fleet AS
SELECT severity, count(*) AS vulnerable,
	count(*) FILTER (WHERE loaded_now) AS loaded,
	count(*) FILTER (WHERE NOT loaded_now) AS at_rest_only,
	count(DISTINCT cve) AS cves,
	count(DISTINCT host_id) AS hosts,
	count(DISTINCT host_id) FILTER (WHERE loaded_now) AS hosts_loaded
FROM v_vulnerable GROUP BY severity;

-- The host inventory: facts, sources, live processes, what is loaded and
-- what is exposed.
CREATE VIEW v_hosts AS
SELECT h.host_id, h.hostname, h.os, h.kernel, h.arch, h.first_seen,
	h.last_seen,
	(SELECT string_agg(DISTINCT s.kind, ',') FROM sources s
		WHERE s.host_id = h.host_id) AS sources,
	(SELECT count(*) FROM processes p WHERE p.host_id = h.host_id
		AND p.exited_at IS NULL) AS processes_alive,
	(SELECT count(*) FROM artifacts_loaded a WHERE a.host_id = h.host_id
		AND a.unloaded_at IS NULL) AS artifacts_loaded,
	(SELECT count(*) FROM v_vulnerable v WHERE v.host_id = h.host_id)
		AS vulnerable,
	(SELECT count(*) FROM v_vulnerable v WHERE v.host_id = h.host_id
		AND v.loaded_now) AS vulnerable_loaded,
	(SELECT max(px_severity_rank(v.severity)) FROM v_vulnerable v
		WHERE v.host_id = h.host_id AND v.loaded_now) AS worst_loaded_rank
FROM hosts h;

-- A process's tree: its ancestors (depth < 0), itself (0) and its
-- descendants (depth > 0), by parent_exec_id on the same host.
CREATE FUNCTION px_process_tree(host text, exec text)
	RETURNS TABLE (depth integer, host_id text, exec_id text,
		parent_exec_id text, pid integer, exe text, cmdline text,
		started_at timestamptz, exited_at timestamptz)
	LANGUAGE sql STABLE AS $$
	WITH RECURSIVE up AS (
		SELECT 0 AS depth, p.* FROM processes p
		WHERE p.exec_id = exec AND (host IS NULL OR p.host_id = host)
		UNION ALL
		SELECT up.depth - 1, p.* FROM processes p JOIN up
		ON p.host_id = up.host_id AND p.exec_id = up.parent_exec_id
		WHERE up.depth > -64
	), down AS (
		SELECT 0 AS depth, p.* FROM processes p
		WHERE p.exec_id = exec AND (host IS NULL OR p.host_id = host)
		UNION ALL
		SELECT down.depth + 1, p.* FROM processes p JOIN down
		ON p.host_id = down.host_id AND p.parent_exec_id = down.exec_id
		WHERE down.depth < 64 AND p.exec_id <> down.exec_id
	)
	SELECT t.depth, t.host_id, t.exec_id, t.parent_exec_id, t.pid, t.exe,
		t.cmdline, t.started_at, t.exited_at
	FROM (SELECT * FROM up UNION SELECT * FROM down) t
	ORDER BY t.depth, t.started_at, t.exec_id
$$;

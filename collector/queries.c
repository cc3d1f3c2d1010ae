// SPDX-License-Identifier: Apache-2.0
/*
 * The query catalogue (see queries.h).  Parameters: $1 host, $2 exec_id,
 * $3 sha256, $4 package, $5 since, $6 until, $7 limit, $8 advisory id,
 * all sent as text and cast here; a query ignores those it does not use.
 */
#include "queries.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define P(x) (1u << (x))

const char *const coll_qparam_names[COLL_Q_NPARAMS] = {
	"host", "exec", "sha256", "package", "since", "until", "limit", "cve",
};

/* --host takes a host_id or a hostname. */
#define HOST_OK(col)                                                         \
	"($1::text IS NULL OR " col " = $1::text OR "                        \
	"px_host_name(" col ") = $1::text)"
/* A required --host on a large table: the host_ids it names, resolved
 * once (px_host_name's rule: the host_id itself, or a hostname), so the
 * scan can use an index on host_id instead of naming every row. */
#define HOST_IN(col)                                                         \
	col " IN (SELECT $1::text UNION SELECT h.host_id FROM hosts h "      \
	"WHERE h.hostname = $1::text AND h.hostname <> '')"
#define WINDOW(col)                                                          \
	"($5::text IS NULL OR " col " >= $5::timestamptz) AND "              \
	"($6::text IS NULL OR " col " < $6::timestamptz)"
/* coll_query_missing() has refused what is not 1..; larger is cut. */
#define STR(x) #x
#define XSTR(x) STR(x)
#define LIMIT "LIMIT least(coalesce($7::bigint, "                          \
	XSTR(COLL_Q_LIMIT_DEFAULT) "), " XSTR(COLL_Q_LIMIT_MAX) ")"

const struct coll_query coll_queries[] = {
	{ "findings", "what the scanner found at rest, worst first", 0, 0,
	  "SELECT px_host_name(host_id) AS host, "
	  "severity, cve, type, name, version, path, "
	  "inner_path AS inner, sha256, loaded_now, "
	  "date_trunc('second', first_seen) AS first_seen, "
	  "date_trunc('second', last_seen) AS last_seen "
	  "FROM v_findings WHERE " HOST_OK("host_id") " "
	  "ORDER BY px_severity_rank(severity) DESC, host_id, path, "
	  "inner_path, name, cve" },
	{ "loaded", "vulnerable artifacts loaded by a live process right now",
	  0, 0,
	  "SELECT px_host_name(host_id) AS host, "
	  "pid, coalesce(cmdline, exe, '') AS command, "
	  "path, inner_path AS inner, sha256, %s AS cves, "
	  "(array_agg(severity ORDER BY px_severity_rank(severity) DESC))[1] "
	  "AS severity, date_trunc('second', min(loaded_since)) "
	  "AS loaded_since FROM v_loaded_now WHERE " HOST_OK("host_id") " "
	  "GROUP BY host_id, exec_id, pid, cmdline, exe, path, inner_path, "
	  "sha256 ORDER BY max(px_severity_rank(severity)) DESC, host_id, pid, "
	  "path, inner_path" },
	{ "correlations", "every correlation, past and present", 0, 0,
	  "SELECT px_host_name(host_id) AS host, "
	  "pid, coalesce(cmdline, exe, '') AS command, "
	  "path, inner_path AS inner, sha256, cve, severity, name, version, "
	  "CASE WHEN loaded_now THEN 'loaded' ELSE 'ended' END AS state, "
	  "date_trunc('second', loaded_since) AS loaded_since, "
	  "date_trunc('second', ended_at) AS ended_at, "
	  "date_trunc('second', last_seen) AS last_seen FROM correlations "
	  "WHERE " HOST_OK("host_id") " "
	  "ORDER BY first_seen, host_id, pid, path, inner_path, cve" },
	{ "exposure", "vulnerable findings per severity: loaded now vs at rest "
	  "only (fleet-wide, or one --host)", 0, 0,
	  "SELECT severity, sum(vulnerable)::bigint AS vulnerable, "
	  "sum(loaded)::bigint AS loaded, "
	  "sum(at_rest_only)::bigint AS at_rest_only, "
	  "count(DISTINCT host_id) AS hosts, "
	  "count(DISTINCT host_id) FILTER (WHERE loaded > 0) AS hosts_loaded "
	  "FROM v_exposure_host WHERE " HOST_OK("host_id") " "
	  "GROUP BY severity ORDER BY px_severity_rank(severity) DESC" },
	{ "exposure-hosts", "the same per host, most exposed first", 0, 0,
	  "SELECT px_host_name(host_id) AS host, "
	  "severity, vulnerable, loaded, at_rest_only, "
	  "cves FROM v_exposure_host WHERE " HOST_OK("host_id") " "
	  "ORDER BY px_severity_rank(severity) DESC, loaded DESC, "
	  "vulnerable DESC, host_id" },
	{ "hosts", "the host inventory", 0, 0,
	  "SELECT host_id AS host, hostname, os, kernel, sources, "
	  "processes_alive, artifacts_loaded, vulnerable, vulnerable_loaded, "
	  "date_trunc('second', last_seen) AS last_seen FROM v_hosts "
	  "WHERE " HOST_OK("host_id") " ORDER BY vulnerable_loaded DESC, "
	  "vulnerable DESC, host_id" },
	{ "tree", "a process's ancestors and descendants (--exec)",
	  P(COLL_Q_EXEC), 0,
	  "SELECT depth, px_host_name(host_id) AS host, "
	  "pid, exec_id, parent_exec_id, "
	  "coalesce(cmdline, exe, '') AS command, "
	  "date_trunc('second', started_at) AS started_at, "
	  "date_trunc('second', exited_at) AS exited_at "
	  "FROM px_process_tree($1::text, $2::text)" },
	{ "artifacts", "what a process and its descendants loaded (--exec, "
	  "--since/--until), with the CVEs of each", P(COLL_Q_EXEC), 0,
	  "SELECT px_host_name(a.host_id) AS host, "
	  "a.pid, a.exec_id, a.path, a.sha256, "
	  "a.load_kind, date_trunc('second', a.first_seen) AS first_seen, "
	  "date_trunc('second', a.unloaded_at) AS unloaded_at, "
	  "(SELECT %s FROM correlations c WHERE c.host_id = a.host_id "
	  "AND c.exec_id = a.exec_id AND c.path = a.path) AS cves "
	  "FROM px_process_tree($1::text, $2::text) t "
	  "JOIN artifacts_loaded a ON a.host_id = t.host_id "
	  "AND a.exec_id = t.exec_id WHERE " WINDOW("a.first_seen") " "
	  "ORDER BY a.first_seen, a.exec_id, a.path" },
	{ "connections", "network events of a process and its descendants "
	  "(--exec, --since/--until, --limit)", P(COLL_Q_EXEC), 0,
	  "SELECT e.ts, px_host_name(e.host_id) AS host, e.pid, e.exec_id, "
	  "e.detail->>'kind' AS kind, e.detail->>'remote_addr' AS remote_addr, "
	  "e.detail->>'remote_port' AS remote_port, "
	  "e.detail->>'local_addr' AS local_addr, "
	  "e.detail->>'local_port' AS local_port "
	  "FROM px_process_tree($1::text, $2::text) t "
	  "JOIN events e ON e.host_id = t.host_id AND e.exec_id = t.exec_id "
	  "WHERE e.kind = 'net' AND " WINDOW("e.ts") " ORDER BY e.ts " LIMIT },
	{ "where-loaded", "every host where an artifact (--sha256) or a "
	  "package (--package) is loaded now", 0,
	  P(COLL_Q_SHA256) | P(COLL_Q_PACKAGE),
	  "SELECT DISTINCT px_host_name(a.host_id) AS host, a.pid, a.exec_id, "
	  "coalesce(p.cmdline, p.exe, '') AS command, a.path, a.sha256, "
	  "date_trunc('second', a.first_seen) AS loaded_since "
	  "FROM artifacts_loaded a LEFT JOIN processes p "
	  "ON p.host_id = a.host_id AND p.exec_id = a.exec_id "
	  "WHERE a.unloaded_at IS NULL AND p.exited_at IS NULL "
	  "AND " HOST_OK("a.host_id") " "
	  "AND ($3::text IS NULL OR a.sha256 = $3::text) "
	  "AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM findings f "
	  "WHERE f.type = 'package' AND (f.name = $4::text "
	  "OR f.name LIKE '%%:' || replace(replace(replace($4::text, "
	  "'\\', '\\\\'), '%%', '\\%%'), '_', '\\_')) "
	  "AND (f.sha256 = a.sha256 OR (f.host_id = a.host_id "
	  "AND f.path = a.path)))) ORDER BY 1, 2, 5" },
	{ "advisory-hosts", "hosts holding a package an advisory covers, and "
	  "whether it is loaded there now (--cve: CVE or OSV id)",
	  P(COLL_Q_CVE), 0,
	  "SELECT px_host_name(f.host_id) AS host, f.name, f.version, f.path, "
	  "f.inner_path AS inner, f.cve, f.severity, EXISTS (SELECT 1 "
	  "FROM correlations c WHERE c.finding_host_id = f.host_id "
	  "AND c.finding_id = f.id AND c.host_id = f.host_id "
	  "AND c.loaded_now) AS loaded_now, "
	  "date_trunc('second', f.first_seen) AS first_seen FROM findings f "
	  "WHERE " HOST_OK("f.host_id") " AND (f.cve = $8::text OR f.cve IN "
	  "(SELECT a.cve FROM advisories a WHERE a.id = $8::text)) "
	  "ORDER BY 8 DESC, 1, 4, 5" },
	{ "scan-events", "what scans could not read in full (depth or size "
	  "limits, zip bombs, corrupt or unreadable files), newest first "
	  "(--host, --since/--until, --limit)", 0, 0,
	  "SELECT e.ts, px_host_name(e.host_id) AS host, e.scan_id, s.root, "
	  "e.kind, e.path, e.inner_path AS inner, e.detail, e.layer_digest, "
	  "s.events_dropped FROM scan_events e LEFT JOIN scans s "
	  "ON s.host_id = e.host_id AND s.scan_id = e.scan_id "
	  "WHERE " HOST_OK("e.host_id") " AND " WINDOW("e.ts") " "
	  "ORDER BY e.ts DESC, e.host_id, e.scan_id, e.n " LIMIT },
	{ "timeline", "a host's events in a window (--host, --since/--until, "
	  "--limit)", P(COLL_Q_HOST), 0,
	  "SELECT e.ts, px_host_name(e.host_id) AS host, e.kind, e.pid, "
	  "e.exec_id, e.detail::text AS detail "
	  "FROM events e WHERE " HOST_IN("e.host_id") " AND " WINDOW("e.ts")
	  " ORDER BY e.ts, e.host_id, e.seq " LIMIT },
};

const size_t coll_n_queries = sizeof(coll_queries) / sizeof(coll_queries[0]);

#define CVES_TEXT "string_agg(DISTINCT nullif(cve, ''), ',' ORDER BY nullif(cve, ''))"
#define CVES_JSON "coalesce(array_agg(DISTINCT cve ORDER BY cve) FILTER (WHERE cve <> ''), '{}')"

const struct coll_query *coll_query_find(const char *name)
{
	for (size_t i = 0; i < coll_n_queries; i++)
		if (strcmp(coll_queries[i].name, name) == 0)
			return &coll_queries[i];
	return NULL;
}

int coll_query_sql(const struct coll_query *q, bool json, char *buf,
		   size_t len)
{
	char inner[4096];
	int n;

	n = snprintf(inner, sizeof(inner), q->sql, json ? CVES_JSON : CVES_TEXT);
	if (n < 0 || (size_t)n >= sizeof(inner))
		return -ENOSPC;
	if (json)
		n = snprintf(buf, len, "SELECT coalesce(json_agg(t), '[]'::json) "
			     "FROM (%s) t", inner);
	else
		n = snprintf(buf, len, "%s", inner);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* Digits only, at least 1; any length (LIMIT cuts it to the cap, and a
 * bigint cast of more than 18 digits would fail, so those are cut here). */
static bool limit_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && s[n] == '\0' && n <= 18 && strspn(s, "0") < n;
}

const char *coll_query_missing(const struct coll_query *q,
			       const char *const *params)
{
	static char msg[128];
	bool any = false;

	for (int i = 0; i < COLL_Q_NPARAMS; i++) {
		if ((q->needs & P(i)) && params[i] == NULL) {
			snprintf(msg, sizeof(msg), "%s needs --%s", q->name,
				 coll_qparam_names[i]);
			return msg;
		}
		if ((q->needs_any & P(i)) && params[i] != NULL)
			any = true;
	}
	if (params[COLL_Q_LIMIT] != NULL && !limit_ok(params[COLL_Q_LIMIT])) {
		snprintf(msg, sizeof(msg), "--limit must be a whole number "
			 "from 1 (at most %d rows are returned)",
			 COLL_Q_LIMIT_MAX);
		return msg;
	}
	if (q->needs_any != 0 && !any) {
		snprintf(msg, sizeof(msg), "%s needs one of:", q->name);
		for (int i = 0; i < COLL_Q_NPARAMS; i++)
			if (q->needs_any & P(i))
				snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
					 " --%s", coll_qparam_names[i]);
		return msg;
	}
	return NULL;
}

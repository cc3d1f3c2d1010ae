// SPDX-License-Identifier: Apache-2.0
/*
 * The dashboard and incident-response queries (collector/queries.c) against
 * a real PostgreSQL filled through the ingest sink: exposure per severity,
 * fleet-wide and per host; the inventory; a process's tree, artifacts and
 * connections; where an artifact or package is loaded; a host's timeline.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ingest_harness.h"
#include "queries.h"
#include "px_check.h"

#define ACK_COMMITTED PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED
#define SHA_LOG4J "6f0a1b7c33a2b6d6c1fb56ba3e4e3d8e8b4ef1f6a9d5d3c2b1a0f9e8d7c6b5a4"
#define SHA_IDLE "2222222222222222222222222222222222222222222222222222222222222222"
#define JAR "/opt/app/lib/log4j-core-2.14.1.jar"
#define IDLE_JAR "/opt/old/commons-text-1.9.jar"
#define SHELL "web-1:boot:100:1"
#define JVM "web-1:boot:101:2"
#define CURL "web-1:boot:102:3"

static char out[1 << 16];

/* Runs query <name> as JSON with the parameters given as name=value
 * pairs, NULL-terminated; returns the JSON text (static). */
static const char *q(const char *name, ...)
{
	const struct coll_query *cq = coll_query_find(name);
	const char *params[COLL_Q_NPARAMS] = { 0 };
	Oid types[COLL_Q_NPARAMS];
	char sql[8192];
	const char *kv;
	PGresult *res;
	va_list ap;

	ck_assert_ptr_nonnull(cq);
	va_start(ap, name);
	while ((kv = va_arg(ap, const char *)) != NULL) {
		const char *val = va_arg(ap, const char *);

		for (int i = 0; i < COLL_Q_NPARAMS; i++)
			if (strcmp(coll_qparam_names[i], kv) == 0)
				params[i] = val;
	}
	va_end(ap);
	ck_assert_ptr_null(coll_query_missing(cq, params));
	for (int i = 0; i < COLL_Q_NPARAMS; i++)
		types[i] = 25;
	ck_assert_int_eq(coll_query_sql(cq, true, sql, sizeof(sql)), 0);
	res = PQexecParams(H.db, sql, COLL_Q_NPARAMS, types, params, NULL,
			   NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", name,
		      PQresultErrorMessage(res));
	snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

static void exec_child(struct tbatch *t, uint32_t pid, const char *id,
		       const char *exe, const char *parent)
{
	Parallax__V1__Batch *b;

	tb_exec(t, pid, id, exe, "-x");
	b = tb_batch(t);
	b->events[b->n_events - 1]->exec->parent_exec_id = (char *)parent;
}

/* web-1: a shell that started a JVM holding log4j, which started curl
 * that connected out; the scanner found log4j and an idle jar with CVEs.
 * db-1: scanned only, log4j at rest. */
static void fleet(void)
{
	struct tbatch *s = tb_new("web-1", "scanner-1", "sb", 1, true);
	struct tbatch *d = tb_new("db-1", "scanner-1", "sb", 2, true);
	struct tbatch *a = tb_new("web-1", "agent-web-1", "ab", 1, false);

	tb_finding(s, JAR, "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-44228");
	tb_finding(s, IDLE_JAR, "", SHA_IDLE, "org.apache.commons:commons-text",
		   "1.9", "CVE-2022-42889");
	tb_finding(d, JAR, "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-44228");
	exec_child(a, 100, SHELL, "/bin/sh", "");
	exec_child(a, 101, JVM, "/usr/bin/java", SHELL);
	tb_load(a, 101, JVM, JAR, SHA_LOG4J);
	exec_child(a, 102, CURL, "/usr/bin/curl", JVM);
	tb_net(a, 102, CURL);
	ck_assert_int_eq(h_ingest(s, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_ingest(d, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_ingest(a, NULL, 0), ACK_COMMITTED);
}

START_TEST(exposure_splits_loaded_from_at_rest_fleet_wide_and_per_host)
{
	fleet();
	/* Three critical findings: one loaded (web-1 log4j), two at rest. */
	ck_assert_msg(strstr(q("exposure", NULL),
			     "\"severity\":\"critical\",\"vulnerable\":3,\"loaded\":1,"
			     "\"at_rest_only\":2,\"hosts\":2,\"hosts_loaded\":1") != NULL,
		      "%s", out);
	ck_assert_msg(strstr(q("exposure", "host", "db-1", NULL),
			     "\"vulnerable\":1,\"loaded\":0,\"at_rest_only\":1") != NULL,
		      "%s", out);
	q("exposure-hosts", NULL);
	ck_assert_msg(strstr(out, "{\"host\":\"web-1\",\"severity\":\"critical\",\"vulnerable\":2,\"loaded\":1,\"at_rest_only\":1") != NULL,
		      "%s", out);
}
END_TEST

START_TEST(the_inventory_lists_each_host_with_its_exposure)
{
	fleet();
	q("hosts", NULL);
	ck_assert_msg(strstr(out, "\"host\":\"web-1\"") && strstr(out, "\"host\":\"db-1\""),
		      "%s", out);
	ck_assert_msg(strstr(q("hosts", "host", "web-1", NULL),
			     "\"sources\":\"agent,scanner\",\"processes_alive\":3,"
			     "\"artifacts_loaded\":1,\"vulnerable\":2,\"vulnerable_loaded\":1") != NULL,
		      "%s", out);
}
END_TEST

START_TEST(a_process_tree_goes_up_to_ancestors_and_down_to_descendants)
{
	fleet();
	q("tree", "exec", JVM, NULL);
	ck_assert_msg(strstr(out, "{\"depth\":-1,\"host\":\"web-1\",\"pid\":100") &&
		      strstr(out, "{\"depth\":0,\"host\":\"web-1\",\"pid\":101") &&
		      strstr(out, "{\"depth\":1,\"host\":\"web-1\",\"pid\":102"), "%s", out);
	ck_assert_str_eq(q("tree", "exec", "web-1:boot:999:9", NULL), "[]");
}
END_TEST

static char plans[1 << 16];

/* Keeps the plans auto_explain sends as NOTICEs for the recursive walk
 * (the per-row host name lookups are left out). */
static void keep_notice(void *arg, const char *msg)
{
	size_t n = strlen(plans);

	(void)arg;
	if (strstr(msg, "Recursive Union"))
		snprintf(plans + n, sizeof(plans) - n, "%s", msg);
}

/* Returns the text of EXPLAIN <sql> (static). */
static const char *explain(const char *sql)
{
	char buf[1024];
	PGresult *res;

	snprintf(buf, sizeof(buf), "EXPLAIN %s", sql);
	res = PQexec(H.db, buf);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
		      PQresultErrorMessage(res));
	out[0] = '\0';
	for (int i = 0; i < PQntuples(res); i++) {
		size_t n = strlen(out);

		snprintf(out + n, sizeof(out) - n, "%s\n", PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return out;
}

/* A host of 20000 processes (a binary tree: i's parent is i/2) and 20000
 * vulnerable findings, one in ten loaded now: large enough that the
 * planner's choice is the one a real fleet would get. */
static void big_host(void)
{
	pgtmp_exec(H.db, "INSERT INTO processes (host_id, exec_id, pid, parent_exec_id, exe) SELECT 'big-1', 'big-1:b:' || g, g, CASE WHEN g > 1 THEN 'big-1:b:' || (g / 2) END, '/bin/x' FROM generate_series(1, 20000) g");
	pgtmp_exec(H.db, "INSERT INTO findings (host_id, path, type, name, version, cve, source_id) SELECT 'big-1', '/f/' || g, 'package', 'p' || g, '1', 'CVE-2099-' || g, 'scanner-1' FROM generate_series(1, 20000) g");
	pgtmp_exec(H.db, "INSERT INTO correlations (host_id, exec_id, path, finding_id, finding_host_id, pid, type, loaded_since, loaded_now) SELECT f.host_id, 'big-1:b:' || (f.id % 20000 + 1), f.path, f.id, f.host_id, 1, 'package', now(), f.id % 10 = 0 FROM findings f WHERE f.host_id = 'big-1'");
	pgtmp_exec(H.db, "ANALYZE processes, findings, correlations");
}

/* Migration 008's indexes, checked where they are meant to be used: each
 * level of the process tree's walk down, and v_vulnerable's EXISTS. */
START_TEST(the_tree_and_the_vulnerable_view_use_their_indexes)
{
	long id;
	char sql[256];

	big_host();
	/* px_process_tree is a SQL function: auto_explain shows the plan of
	 * its statement, as NOTICEs to this connection. */
	plans[0] = '\0';
	PQsetNoticeProcessor(H.db, keep_notice, NULL);
	pgtmp_exec(H.db, "LOAD 'auto_explain'");
	pgtmp_exec(H.db, "SET auto_explain.log_min_duration = 0");
	pgtmp_exec(H.db, "SET auto_explain.log_nested_statements = on");
	pgtmp_exec(H.db, "SET auto_explain.log_level = notice");
	q("tree", "exec", "big-1:b:2", NULL);
	pgtmp_exec(H.db, "SET auto_explain.log_min_duration = -1");
	PQsetNoticeProcessor(H.db, NULL, NULL);
	ck_assert_msg(plans[0] != '\0', "no plan of the walk");
	ck_assert_msg(strstr(plans, "processes_parent"), "%.3000s", plans);
	/* The walk is still right: 2's subtree, 1 its parent. */
	q("tree", "exec", "big-1:b:2", NULL);
	ck_assert_msg(strstr(out, "\"depth\":-1,\"host\":\"big-1\",\"pid\":1,") &&
		      strstr(out, "\"depth\":1,\"host\":\"big-1\",\"pid\":5,") &&
		      !strstr(out, "\"pid\":3,"), "%.400s", out);

	id = h_num("SELECT min(id) FROM findings WHERE host_id = 'big-1'");
	snprintf(sql, sizeof(sql), "SELECT loaded_now FROM v_vulnerable WHERE host_id = 'big-1' AND id = %ld", id);
	ck_assert_msg(strstr(explain(sql), "correlations_finding_live"), "%.2000s", out);
	ck_assert_msg(strstr(explain("SELECT count(*) FILTER (WHERE loaded_now) FROM v_vulnerable WHERE host_id = 'big-1' AND severity = 'critical'"),
			     "correlations_finding_live"), "%.2000s", out);
}
END_TEST

/* Migration 009: a process's events are found through the hash index on
 * exec_id (the join of "connections"), and their detail, now json, still
 * answers ->> as jsonb did. */
START_TEST(a_process_events_are_found_by_their_exec_index)
{
	const char *plan;

	pgtmp_exec(H.db, "INSERT INTO events (ts, host_id, kind, exec_id, pid, detail, source_id, boot_id, seq) SELECT now() - g * interval '1 ms', 'big-1', 'net', 'big-1:b:' || (g % 5000), g % 5000, ('{\"kind\":\"CONNECT\",\"remote_port\":' || g || '}')::json, 'agent-big', 'b', g FROM generate_series(1, 50000) g");
	pgtmp_exec(H.db, "ANALYZE events");
	plan = explain("SELECT e.ts FROM events e WHERE e.host_id = 'big-1' AND e.exec_id = 'big-1:b:7' AND e.kind = 'net'");
	/* The hash index alone (the old btree's condition named host_id too). */
	ck_assert_msg(strstr(plan, "Index Cond: (exec_id = 'big-1:b:7'::text)") != NULL,
		      "%.2000s", plan);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE host_id = 'big-1' AND exec_id = 'big-1:b:7' AND (detail->>'remote_port')::int % 5000 = 7"), 10);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE host_id = 'big-1' AND exec_id = 'big-1:b:7'"), 10);
}
END_TEST

START_TEST(artifacts_and_connections_cover_the_process_and_its_children)
{
	fleet();
	q("artifacts", "exec", SHELL, NULL);
	ck_assert_msg(strstr(out, JAR) && strstr(out, "\"cves\":[\"CVE-2021-44228\"]"),
		      "%s", out);
	q("connections", "exec", JVM, NULL);
	ck_assert_msg(strstr(out, "\"pid\":102") &&
		      strstr(out, "127.0.0.1") && strstr(out, "389"), "%s", out);
	/* A window before the events finds nothing. */
	ck_assert_str_eq(q("connections", "exec", JVM, "until", "2000-01-01", NULL), "[]");
}
END_TEST

START_TEST(where_loaded_finds_hosts_by_digest_or_package)
{
	fleet();
	q("where-loaded", "sha256", SHA_LOG4J, NULL);
	ck_assert_msg(strstr(out, "\"host\":\"web-1\",\"pid\":101") && !strstr(out, "db-1"),
		      "%s", out);
	q("where-loaded", "package", "log4j-core", NULL);
	ck_assert_msg(strstr(out, "\"pid\":101"), "%s", out);
	ck_assert_str_eq(q("where-loaded", "package", "commons-text", NULL), "[]");
	ck_assert_str_eq(q("where-loaded", "sha256", SHA_IDLE, NULL), "[]");
	/* A package name is matched as written: LIKE's wildcards in it are
	 * plain characters. */
	ck_assert_str_eq(q("where-loaded", "package", "log4j_core", NULL), "[]");
	ck_assert_str_eq(q("where-loaded", "package", "%", NULL), "[]");
	ck_assert_str_eq(q("where-loaded", "package", "log4j%", NULL), "[]");
}
END_TEST

/* Rows of <name> for host <host> with <limit> (NULL: none), counted from
 * the table form: the JSON of a capped answer would not fit in out. */
static int rows_of(const char *name, const char *host, const char *limit)
{
	const struct coll_query *cq = coll_query_find(name);
	const char *params[COLL_Q_NPARAMS] = { 0 };
	Oid types[COLL_Q_NPARAMS];
	char sql[8192];
	PGresult *res;
	int n;

	for (int i = 0; i < COLL_Q_NPARAMS; i++)
		types[i] = 25;     /* text, as the CLI and the HTTP API send */
	params[COLL_Q_HOST] = host;
	params[COLL_Q_LIMIT] = limit;
	ck_assert_ptr_null(coll_query_missing(cq, params));
	ck_assert_int_eq(coll_query_sql(cq, false, sql, sizeof(sql)), 0);
	res = PQexecParams(H.db, sql, COLL_Q_NPARAMS, types, params, NULL,
			   NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
		      PQresultErrorMessage(res));
	n = PQntuples(res);
	PQclear(res);
	return n;
}

START_TEST(a_timeline_answers_at_most_the_limit_cap)
{
	const struct coll_query *cq = coll_query_find("timeline");
	const char *params[COLL_Q_NPARAMS] = { "busy-1" };
	const char *bad[] = { "0", "-1", "10k", "", "1e3",
			      "12345678901234567890" };

	/* More events than the cap, on a host named differently from its
	 * id. */
	pgtmp_exec(H.db, "INSERT INTO hosts (host_id, hostname) VALUES ('busy-1', 'busy.example')");
	pgtmp_exec(H.db, "INSERT INTO events (ts, host_id, kind, exec_id, pid, detail, source_id, boot_id, seq) SELECT now() - g * interval '1 ms', 'busy-1', 'net', 'busy-1:b:1:1', 1, '{}', 'agent-busy', 'b', g FROM generate_series(1, 10050) g");
	ck_assert_int_eq(rows_of("timeline", "busy.example", NULL), COLL_Q_LIMIT_DEFAULT);
	ck_assert_int_eq(rows_of("timeline", "busy-1", "10"), 10);
	ck_assert_int_eq(rows_of("timeline", "busy.example", "999999"), COLL_Q_LIMIT_MAX);
	ck_assert_int_eq(COLL_Q_LIMIT_MAX, 10000);
	ck_assert_int_eq(rows_of("timeline", "nobody.example", NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		params[COLL_Q_LIMIT] = bad[i];
		ck_assert_msg(coll_query_missing(cq, params) != NULL &&
			      strstr(coll_query_missing(cq, params), "--limit"),
			      "limit '%s' accepted", bad[i]);
	}
}
END_TEST

START_TEST(a_host_timeline_lists_its_events_in_order_within_a_window)
{
	const char *first, *last;

	fleet();
	q("timeline", "host", "web-1", NULL);
	first = strstr(out, "\"kind\":\"exec\"");
	last = strstr(out, "\"kind\":\"net\"");
	ck_assert_msg(first && last && first < last, "%s", out);
	ck_assert_str_eq(q("timeline", "host", "db-1", NULL), "[]");
	q("timeline", "host", "web-1", "limit", "2", NULL);
	ck_assert_msg(strstr(out, "\"kind\":\"net\"") == NULL, "%s", out);
	/* By hostname, like the other queries' --host. */
	pgtmp_exec(H.db, "UPDATE hosts SET hostname = 'web-1.example' WHERE host_id = 'web-1'");
	q("timeline", "host", "web-1.example", NULL);
	first = strstr(out, "\"kind\":\"exec\"");
	last = strstr(out, "\"kind\":\"net\"");
	ck_assert_msg(first && last && first < last &&
		      strstr(out, "\"host\":\"web-1.example\""), "%s", out);
}
END_TEST

/* A scan report with what could not be read in full; its events are
 * stored once per (host, scan) even when the report is replayed. */
START_TEST(scan_events_list_what_a_scan_could_not_read_in_full)
{
	Parallax__V1__ScanEvent ev[2], *evp[2] = { &ev[0], &ev[1] };
	Parallax__V1__ScanReport rep;
	struct tbatch *t;

	parallax__v1__scan_event__init(&ev[0]);
	parallax__v1__scan_event__init(&ev[1]);
	ev[0].kind = (char *)"zip-bomb";
	ev[0].path = (char *)"/srv/upload/bomb.zip";
	ev[0].inner = (char *)"a.zip!/b.zip";
	ev[0].detail = (char *)"ratio 1200:1";
	ev[1].kind = (char *)"depth-limit";
	ev[1].path = (char *)"/opt/app.war";
	ev[1].layer_digest = (char *)"sha256:abcd";
	parallax__v1__scan_report__init(&rep);
	rep.scan_id = (char *)"scan-7";
	rep.root = (char *)"/";
	rep.snapshot_kind = (char *)"dir";
	rep.finished_ns = 1796292000000000000ull;   /* 2026-12-03T10:00Z */
	rep.n_events = 2;
	rep.events = evp;
	rep.events_dropped = 3;
	for (uint64_t seq = 1; seq <= 2; seq++) {
		t = tb_new("db-1", "scanner-1", "sb", seq, true);
		tb_batch(t)->scan = &rep;
		ck_assert_int_eq(h_ingest(t, NULL, 0), ACK_COMMITTED);
	}
	ck_assert_int_eq(h_num("SELECT count(*) FROM scan_events"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM scans WHERE scan_id = 'scan-7' AND events_dropped = 3"), 1);

	q("scan-events", "host", "db-1", NULL);
	ck_assert_msg(strstr(out, "\"scan_id\":\"scan-7\",\"root\":\"/\",\"kind\":\"zip-bomb\",\"path\":\"/srv/upload/bomb.zip\",\"inner\":\"a.zip!/b.zip\",\"detail\":\"ratio 1200:1\",\"layer_digest\":null,\"events_dropped\":3") &&
		      strstr(out, "\"kind\":\"depth-limit\",\"path\":\"/opt/app.war\",\"inner\":\"\",\"detail\":\"\",\"layer_digest\":\"sha256:abcd\""),
		      "%s", out);
	ck_assert_str_eq(q("scan-events", "host", "web-1", NULL), "[]");
	ck_assert_str_eq(q("scan-events", "since", "2026-12-03T10:00:01Z", NULL), "[]");
	q("scan-events", "until", "2026-12-03T10:00:01Z", "limit", "1", NULL);
	ck_assert_msg(strstr(out, "zip-bomb") != NULL && strstr(out, "depth-limit") == NULL,
		      "%s", out);
}
END_TEST

START_TEST(the_cli_requires_the_parameters_a_query_needs)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl(getenv("PX_CLI_BIN"), "parallax", "--db", H.dsn, "tree",
		      (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 2);
}
END_TEST

static Suite *queries_suite(void)
{
	Suite *s = suite_create("collector-queries");
	TCase *tc = tcase_create("queries");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, h_cluster_up, h_cluster_down);
	tcase_add_checked_fixture(tc, h_setup, h_teardown);
	tcase_add_test(tc, exposure_splits_loaded_from_at_rest_fleet_wide_and_per_host);
	tcase_add_test(tc, the_inventory_lists_each_host_with_its_exposure);
	tcase_add_test(tc, a_process_tree_goes_up_to_ancestors_and_down_to_descendants);
	tcase_add_test(tc, the_tree_and_the_vulnerable_view_use_their_indexes);
	tcase_add_test(tc, a_process_events_are_found_by_their_exec_index);
	tcase_add_test(tc, artifacts_and_connections_cover_the_process_and_its_children);
	tcase_add_test(tc, where_loaded_finds_hosts_by_digest_or_package);
	tcase_add_test(tc, a_host_timeline_lists_its_events_in_order_within_a_window);
	tcase_add_test(tc, a_timeline_answers_at_most_the_limit_cap);
	tcase_add_test(tc, the_cli_requires_the_parameters_a_query_needs);
	tcase_add_test(tc, scan_events_list_what_a_scan_could_not_read_in_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(queries_suite());
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The ingest path against a real PostgreSQL: batches in, rows and acks out,
 * high-water marks, correlation in both arrival orders, process exit, and a
 * database restart in the middle of a run.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_harness.h"
#include "px_check.h"
#include "transport.h"

#define ACK_COMMITTED PARALLAX__V1__ACK_STATUS__ACK_STATUS_COMMITTED
#define ACK_DUPLICATE PARALLAX__V1__ACK_STATUS__ACK_STATUS_DUPLICATE
#define ACK_REJECTED PARALLAX__V1__ACK_STATUS__ACK_STATUS_REJECTED

#define SHA_LOG4J "6f0a1b7c33a2b6d6c1fb56ba3e4e3d8e8b4ef1f6a9d5d3c2b1a0f9e8d7c6b5a4"
#define SHA_OTHER "1111111111111111111111111111111111111111111111111111111111111111"
#define JAR "/opt/app/lib/log4j-core-2.14.1.jar"
#define EXEC_A "node-1:boot:4242:5242"

static struct tbatch *agent(uint64_t seq)
{
	return tb_new("node-1", "agent-node-1", "boot-a", seq, false);
}

static struct tbatch *scanner(const char *host, uint64_t seq)
{
	return tb_new(host, "scanner-1", "scan-boot", seq, true);
}

/* A JVM that has the jar open. */
static struct tbatch *jvm_with_jar(uint64_t seq, const char *sha)
{
	struct tbatch *t = agent(seq);

	tb_exec(t, 4242, EXEC_A, "/usr/bin/java", "-jar");
	tb_load(t, 4242, EXEC_A, JAR, sha);
	return t;
}

START_TEST(rows_land_for_an_agent_batch)
{
	struct tbatch *t = jvm_with_jar(1, SHA_LOG4J);

	tb_net(t, 4242, EXEC_A);
	ck_assert_int_eq(h_ingest(t, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM hosts WHERE host_id = 'node-1'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM processes WHERE cmdline = '/usr/bin/java -jar' AND exited_at IS NULL AND cgroup_id = 18446744073709551615"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM artifacts_loaded WHERE path = '" JAR "' AND sha256 = '" SHA_LOG4J "' AND unloaded_at IS NULL"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE host_id = 'node-1' AND seq = 1"), 3);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE kind = 'net' AND detail->>'remote_addr' = '127.0.0.1'"), 1);
	ck_assert_int_eq(h_num("SELECT seq FROM sources WHERE source_id = 'agent-node-1' AND boot_id = 'boot-a'"), 1);
}
END_TEST

START_TEST(a_replayed_seq_is_acked_duplicate_and_adds_no_rows)
{
	long events;

	ck_assert_int_eq(h_ingest(jvm_with_jar(1, SHA_LOG4J), NULL, 0), ACK_COMMITTED);
	events = h_num("SELECT count(*) FROM events");
	ck_assert_int_eq(events, 2);
	ck_assert_int_eq(h_ingest(jvm_with_jar(1, SHA_LOG4J), NULL, 0), ACK_DUPLICATE);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events"), events);

	ck_assert_int_eq(h_ingest(jvm_with_jar(2, SHA_LOG4J), NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_ingest(jvm_with_jar(1, SHA_OTHER), NULL, 0), ACK_DUPLICATE);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events"), 2 * events);
	ck_assert_int_eq(h_num("SELECT count(*) FROM artifacts_loaded WHERE sha256 = '" SHA_OTHER "'"), 0);

	/* A new boot of the source starts again at 1. */
	ck_assert_int_eq(h_ingest(tb_new("node-1", "agent-node-1", "boot-b", 1, false), NULL, 0),
			 ACK_COMMITTED);
}
END_TEST

START_TEST(a_finding_then_a_load_of_the_same_bytes_correlates)
{
	struct tbatch *s = scanner("snapshot-host", 1);

	tb_finding(s, "/srv/app/lib/log4j-core.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-44228");
	ck_assert_int_eq(h_ingest(s, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 0);

	/* Another host, another path, the same bytes. */
	ck_assert_int_eq(h_ingest(jvm_with_jar(1, SHA_LOG4J), NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations WHERE host_id = 'node-1' AND finding_host_id = 'snapshot-host' AND cve = 'CVE-2021-44228' AND pid = 4242 AND cmdline = '/usr/bin/java -jar' AND loaded_now"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now WHERE path = '" JAR "'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_findings WHERE loaded_now"), 1);
}
END_TEST

START_TEST(a_load_then_a_finding_of_the_same_bytes_correlates)
{
	struct tbatch *s = scanner("snapshot-host", 1);

	ck_assert_int_eq(h_ingest(jvm_with_jar(1, SHA_LOG4J), NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 0);
	tb_finding(s, "/srv/app/lib/log4j-core.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-44228");
	tb_finding(s, "/srv/app/lib/log4j-core.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-45046");
	/* No CVE: nothing to raise an alarm about. */
	tb_finding(s, "/srv/app/lib/log4j-core.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-api",
		   "2.14.1", NULL);
	ck_assert_int_eq(h_ingest(s, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM findings"), 3);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now WHERE host_id = 'node-1' AND pid = 4242"), 2);
	ck_assert_int_eq(h_num("SELECT count(DISTINCT cve) FROM correlations"), 2);
}
END_TEST

START_TEST(a_load_without_digest_matches_a_finding_by_host_and_path)
{
	struct tbatch *s = scanner("node-1", 1);

	ck_assert_int_eq(h_ingest(jvm_with_jar(1, ""), NULL, 0), ACK_COMMITTED);
	tb_finding(s, JAR, "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core", "2.14.1",
		   "CVE-2021-44228");
	tb_finding(s, "/elsewhere.jar", "", SHA_OTHER, "x:y", "1", "CVE-2000-0001");
	ck_assert_int_eq(h_ingest(s, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations WHERE path = '" JAR "' AND sha256 = '" SHA_LOG4J "'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 1);
}
END_TEST

START_TEST(a_process_exit_clears_loaded_now_and_keeps_history)
{
	struct tbatch *s = scanner("snapshot-host", 1), *x, *late;

	tb_finding(s, "/srv/a.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core", "2.14.1",
		   "CVE-2021-44228");
	ck_assert_int_eq(h_ingest(s, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_ingest(jvm_with_jar(1, SHA_LOG4J), NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now"), 1);

	x = agent(2);
	tb_exit(x, 4242, EXEC_A, 137);
	ck_assert_int_eq(h_ingest(x, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now"), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations WHERE NOT loaded_now AND ended_at IS NOT NULL"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM artifacts_loaded WHERE unloaded_at IS NOT NULL"), 1);
	ck_assert_int_eq(h_num("SELECT exit_code FROM processes WHERE exec_id = '" EXEC_A "' AND exited_at IS NOT NULL"), 137);

	/* A finding arriving after the exit finds nothing live. */
	late = scanner("snapshot-host", 2);
	tb_finding(late, "/srv/a.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core", "2.14.1",
		   "CVE-2021-45046");
	ck_assert_int_eq(h_ingest(late, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 1);
}
END_TEST

START_TEST(a_whole_short_life_in_one_batch_ends_unloaded)
{
	struct tbatch *s = scanner("snapshot-host", 1), *t = jvm_with_jar(1, SHA_LOG4J);

	tb_finding(s, "/srv/a.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core", "2.14.1",
		   "CVE-2021-44228");
	ck_assert_int_eq(h_ingest(s, NULL, 0), ACK_COMMITTED);
	tb_exit(t, 4242, EXEC_A, 0);
	ck_assert_int_eq(h_ingest(t, NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations WHERE ended_at IS NOT NULL"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now"), 0);
	/* The exit was applied first: the load and its correlation were
	 * written once, already ended (the first tuple of their tables). */
	ck_assert_int_eq(h_num("SELECT count(*) FROM artifacts_loaded a JOIN processes p USING (host_id, exec_id) WHERE a.unloaded_at = p.exited_at AND a.ctid = '(0,1)'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations WHERE NOT loaded_now AND ctid = '(0,1)'"), 1);
}
END_TEST

START_TEST(batches_survive_a_database_restart_without_loss_or_doubles)
{
	enum { N = 30 };
	static struct ack_slot slot[N], again[N];
	struct tbatch *t[N];

	h_resink(1);    /* one batch per transaction: a restart lands mid-run */
	for (int i = 0; i < N; i++) {
		t[i] = agent((uint64_t)i + 1);
		tb_exec(t[i], 1000 + i, "node-1:boot:x", "/bin/sh", "-c");
		tb_net(t[i], 1000 + i, "node-1:boot:x");
		h_submit(tb_batch(t[i]), &slot[i]);
	}
	h_wait_acks(3);
	ck_assert_int_lt(H.acked, N);
	pgtmp_restart(&H.pg);
	h_wait_acks(N);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(slot[i].count, 1);
		ck_assert_int_eq(slot[i].status, ACK_COMMITTED);
	}
	/* The assertion connection was cut by the restart too. */
	PQfinish(H.db);
	H.db = pgtmp_connect(H.dsn);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events"), 2 * N);
	ck_assert_int_eq(h_num("SELECT count(DISTINCT seq) FROM events"), N);
	ck_assert_int_eq(h_num("SELECT seq FROM sources"), N);

	/* A source replaying everything after the restart doubles nothing. */
	for (int i = 0; i < N; i++)
		h_submit(tb_batch(t[i]), &again[i]);
	h_wait_acks(2 * N);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(again[i].status, ACK_DUPLICATE);
		tb_free(t[i]);
	}
	ck_assert_int_eq(h_num("SELECT count(*) FROM events"), 2 * N);
}
END_TEST

/* The sink takes only batches that passed px_batch_invalid(), which the
 * transport runs on its own thread (test_refuse covers that path over
 * gRPC); these are the reasons it gives. */
START_TEST(an_invalid_batch_is_named_by_its_reason)
{
	struct tbatch *t = agent(0);
	const char *why = px_batch_invalid(tb_batch(t));

	ck_assert_msg(why != NULL && strstr(why, "seq") != NULL, "why: %s",
		      why ? why : "(valid)");
	tb_free(t);
}
END_TEST

/* Text that is not UTF-8 is refused before the database, which would
 * refuse it only when the rows are written, failing the whole group. */
START_TEST(a_string_that_is_not_utf8_is_named_by_its_field)
{
	struct tbatch *bad = agent(1);
	const char *why;

	tb_exec(bad, 7, "node-1:boot:7", "/tmp/\xff\xfe", "x");
	why = px_batch_invalid(tb_batch(bad));
	ck_assert_msg(why != NULL &&
		      strstr(why, "string field exe is not valid UTF-8") != NULL,
		      "why: %s", why ? why : "(valid)");
	tb_free(bad);
}
END_TEST

/* Makes the server refuse (SQLSTATE 22023) any process whose exe is under
 * /tmp/refused. */
static void refuse_exe_in_tmp(void)
{
	pgtmp_exec(H.db, "CREATE FUNCTION t_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.exe LIKE '/tmp/refused%' THEN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '22023'; END IF; RETURN NEW; END $$");
	pgtmp_exec(H.db, "CREATE TRIGGER t_refuse BEFORE INSERT OR UPDATE ON processes FOR EACH ROW EXECUTE FUNCTION t_refuse()");
}

/* What the database itself refuses (here a data exception a trigger
 * raises, as validation now keeps the cases we know of away) rejects the
 * batch, and the next one commits. */
START_TEST(a_batch_the_database_refuses_is_rejected_and_the_next_commits)
{
	struct tbatch *bad = agent(1);
	char detail[512];

	refuse_exe_in_tmp();
	tb_exec(bad, 7, "node-1:boot:7", "/tmp/refused", "x");
	ck_assert_int_eq(h_ingest(bad, detail, sizeof(detail)), ACK_REJECTED);
	ck_assert_msg(strstr(detail, "SQLSTATE 22") != NULL, "detail: %s", detail);
	ck_assert_int_eq(h_num("SELECT count(*) FROM processes"), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM sources"), 0);
	ck_assert_int_eq(h_ingest(jvm_with_jar(2, SHA_LOG4J), NULL, 0), ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM processes"), 1);
}
END_TEST

/*
 * The state statements of agent batches run once per group, over the rows
 * of every batch (ingest.c: merge_group).  Two hosts here use the same
 * exec_id text: only host_id tells their processes apart, so an exit on
 * one must leave the other's loads and correlation live.
 */
START_TEST(one_group_of_many_hosts_keeps_each_host_apart)
{
	static struct ack_slot slot[4];
	struct tbatch *t[4];

	t[0] = scanner("snapshot-host", 1);
	tb_finding(t[0], "/srv/a.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core",
		   "2.14.1", "CVE-2021-44228");
	t[1] = tb_new("node-a", "agent-a", "boot-a", 1, false);
	tb_exec(t[1], 10, "same:exec:10:1", "/usr/bin/java", "-jar");
	tb_load(t[1], 10, "same:exec:10:1", JAR, SHA_LOG4J);
	t[2] = tb_new("node-c", "agent-c", "boot-c", 1, false);
	tb_exec(t[2], 10, "same:exec:10:1", "/usr/bin/java", "-cp");
	tb_load(t[2], 10, "same:exec:10:1", JAR, SHA_LOG4J);
	tb_exit(t[2], 10, "same:exec:10:1", 3);
	t[3] = tb_new("node-b", "agent-b", "boot-b", 1, false);
	tb_exec(t[3], 20, "node-b:exec:20:1", "/bin/cat", "x");
	tb_load(t[3], 20, "node-b:exec:20:1", "/lib/libc.so.6", SHA_OTHER);
	tb_net(t[3], 20, "node-b:exec:20:1");
	ck_assert_uint_eq(h_ingest_together(t, 4, slot), 1);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(slot[i].status, ACK_COMMITTED);

	ck_assert_int_eq(h_num("SELECT count(*) FROM processes WHERE exec_id = 'same:exec:10:1'"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM processes WHERE host_id = 'node-a' AND exited_at IS NULL AND cmdline = '/usr/bin/java -jar'"), 1);
	ck_assert_int_eq(h_num("SELECT exit_code FROM processes WHERE host_id = 'node-c' AND exited_at IS NOT NULL AND cmdline = '/usr/bin/java -cp'"), 3);
	ck_assert_int_eq(h_num("SELECT count(*) FROM artifacts_loaded WHERE host_id = 'node-a' AND unloaded_at IS NULL"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM artifacts_loaded a JOIN processes p USING (host_id, exec_id) WHERE a.host_id = 'node-c' AND a.unloaded_at = p.exited_at"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM artifacts_loaded WHERE host_id = 'node-b' AND sha256 = '" SHA_OTHER "' AND unloaded_at IS NULL"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations WHERE host_id = 'node-a' AND loaded_now AND ended_at IS NULL AND cmdline = '/usr/bin/java -jar'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations WHERE host_id = 'node-c' AND NOT loaded_now AND ended_at IS NOT NULL"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events"), 8);
}
END_TEST

/* A finding and the exit of a process that had its artifact loaded since
 * an earlier group, together in one group: the finding still meets the
 * load live, and the exit ends the correlation, as in the batches' own
 * order. */
START_TEST(a_finding_and_an_exit_in_one_group_leave_an_ended_correlation)
{
	static struct ack_slot slot[2];
	struct tbatch *t[2] = { scanner("snapshot-host", 1), agent(2) };

	ck_assert_int_eq(h_ingest(jvm_with_jar(1, SHA_LOG4J), NULL, 0), ACK_COMMITTED);
	tb_finding(t[0], "/srv/a.jar", "", SHA_LOG4J, "org.apache.logging.log4j:log4j-core", "2.14.1",
		   "CVE-2021-44228");
	tb_exit(t[1], 4242, EXEC_A, 0);
	ck_assert_uint_eq(h_ingest_together(t, 2, slot), 2);
	ck_assert_int_eq(slot[0].status, ACK_COMMITTED);
	ck_assert_int_eq(slot[1].status, ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations WHERE host_id = 'node-1' AND cve = 'CVE-2021-44228' AND NOT loaded_now AND ended_at IS NOT NULL"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM correlations"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM v_loaded_now"), 0);
}
END_TEST

/* A refused batch inside a group of several hosts' batches: the merged
 * statement fails for all, the group is split, and only the bad batch is
 * rejected. */
START_TEST(a_refused_batch_in_a_merged_group_spares_the_others)
{
	static struct ack_slot slot[3];
	struct tbatch *t[3];

	refuse_exe_in_tmp();
	for (int i = 0; i < 3; i++) {
		char host[16], exec_id[32];

		snprintf(host, sizeof(host), "node-%d", i);
		snprintf(exec_id, sizeof(exec_id), "%s:b:7:1", host);
		t[i] = tb_new(host, host, "boot", 1, false);
		tb_exec(t[i], 7, exec_id, i == 1 ? "/tmp/refused" : "/bin/true", "x");
		tb_load(t[i], 7, exec_id, JAR, SHA_LOG4J);
	}
	h_ingest_together(t, 3, slot);
	ck_assert_int_eq(slot[0].status, ACK_COMMITTED);
	ck_assert_int_eq(slot[1].status, ACK_REJECTED);
	ck_assert_int_eq(slot[2].status, ACK_COMMITTED);
	ck_assert_int_eq(h_num("SELECT count(*) FROM processes WHERE host_id IN ('node-0', 'node-2')"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM artifacts_loaded"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE host_id = 'node-1'"), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events"), 4);
}
END_TEST

/* The events' columns as the binary COPY wrote them: the time to the
 * microsecond, integers, NULL, and text with the bytes that COPY's text
 * format would have had to escape. */
START_TEST(event_columns_arrive_exactly)
{
	struct tbatch *t = agent(1);

	tb_exec(t, 4242, EXEC_A, "/opt/a\tb\\c\nd\re", "x\ty");
	tb_load(t, 4242, EXEC_A, JAR, SHA_LOG4J);
	ck_assert_int_eq(h_ingest(t, NULL, 0), ACK_COMMITTED);
	/* tb_new: the batch of seq 1 starts at 1700000001 s, 1 ns apart. */
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE ts = to_timestamp(1700000001)"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE pid = 4242 AND exec_id = '" EXEC_A "' AND host_id = 'node-1' AND source_id = 'agent-node-1' AND boot_id = 'boot-a' AND seq = 1"), 2);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE kind = 'exec' AND detail->>'exe' = E'/opt/a\\tb\\\\c\\nd\\re' AND detail->'argv'->>1 = E'x\\ty'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM processes WHERE exe = E'/opt/a\\tb\\\\c\\nd\\re'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE kind = 'artifact' AND detail->>'path' = '" JAR "'"), 1);
}
END_TEST

/* The events COPY and its COMMIT go in one query string: rows the server
 * refuses in the COPY skip the COMMIT, the group is split, and only the
 * batch with the refused rows is rejected; the others commit, and the
 * refused batch leaves no event row. */
START_TEST(a_refused_event_row_rejects_only_its_batch)
{
	static struct ack_slot slot[3];
	struct tbatch *t[3];

	pgtmp_exec(H.db, "CREATE FUNCTION t_refuse_ev() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.host_id = 'node-bad' THEN RAISE EXCEPTION 'event refused by the test' USING ERRCODE = '22023'; END IF; RETURN NEW; END $$");
	pgtmp_exec(H.db, "CREATE TRIGGER t_refuse_ev BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION t_refuse_ev()");
	for (int i = 0; i < 3; i++) {
		const char *host = i == 1 ? "node-bad" : i == 0 ? "node-0" : "node-2";

		t[i] = tb_new(host, host, "boot", 1, false);
		tb_net(t[i], 7, "x:b:7:1");
		tb_net(t[i], 7, "x:b:7:1");
	}
	h_ingest_together(t, 3, slot);
	ck_assert_int_eq(slot[0].status, ACK_COMMITTED);
	ck_assert_int_eq(slot[1].status, ACK_REJECTED);
	ck_assert_int_eq(slot[2].status, ACK_COMMITTED);
	ck_assert_msg(strstr(slot[1].detail, "event refused by the test") != NULL, "detail: %s",
		      slot[1].detail);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events"), 4);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE host_id = 'node-bad'"), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM sources WHERE host_id = 'node-bad'"), 0);
	ck_assert_int_eq(h_num("SELECT count(*) FROM sources"), 2);
}
END_TEST

/* Duplicates decided inside one group, key by key: a source's replays of
 * seqs the group already holds are duplicates wherever they sit, other
 * sources and boots are not affected by them. */
START_TEST(replays_inside_one_group_are_duplicates_of_their_own_key_only)
{
	static const struct { const char *host, *source, *boot; uint64_t seq;
			      Parallax__V1__AckStatus want; } b[] = {
		{ "node-1", "agent-a", "boot-1", 1, ACK_COMMITTED },
		{ "node-2", "agent-b", "boot-1", 1, ACK_COMMITTED },
		{ "node-1", "agent-a", "boot-1", 2, ACK_COMMITTED },
		{ "node-1", "agent-a", "boot-1", 1, ACK_DUPLICATE },
		{ "node-1", "agent-a", "boot-2", 1, ACK_COMMITTED },
		{ "node-1", "agent-a", "boot-1", 3, ACK_COMMITTED },
		{ "node-1", "agent-a", "boot-1", 2, ACK_DUPLICATE },
		{ "node-2", "agent-b", "boot-1", 1, ACK_DUPLICATE },
	};
	enum { N = sizeof(b) / sizeof(b[0]) };
	static struct ack_slot slot[N];
	struct tbatch *t[N];

	for (size_t i = 0; i < N; i++) {
		t[i] = tb_new(b[i].host, b[i].source, b[i].boot, b[i].seq, false);
		tb_net(t[i], 7, "x:b:7:1");
	}
	ck_assert_uint_eq(h_ingest_together(t, N, slot), 1);
	for (size_t i = 0; i < N; i++)
		ck_assert_msg(slot[i].status == b[i].want, "batch %zu: status %d", i,
			      slot[i].status);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events"), 5);
	ck_assert_int_eq(h_num("SELECT seq FROM sources WHERE source_id = 'agent-a' AND boot_id = 'boot-1'"), 3);
	ck_assert_int_eq(h_num("SELECT seq FROM sources WHERE source_id = 'agent-a' AND boot_id = 'boot-2'"), 1);
	ck_assert_int_eq(h_num("SELECT seq FROM sources WHERE source_id = 'agent-b'"), 1);
	ck_assert_int_eq(h_num("SELECT count(*) FROM events WHERE source_id = 'agent-a' AND boot_id = 'boot-1'"), 3);
}
END_TEST

static Suite *ingest_suite(void)
{
	Suite *s = suite_create("collector-ingest");
	TCase *tc = tcase_create("ingest");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, h_cluster_up, h_cluster_down);
	tcase_add_checked_fixture(tc, h_setup, h_teardown);
	tcase_add_test(tc, rows_land_for_an_agent_batch);
	tcase_add_test(tc, a_replayed_seq_is_acked_duplicate_and_adds_no_rows);
	tcase_add_test(tc, a_finding_then_a_load_of_the_same_bytes_correlates);
	tcase_add_test(tc, a_load_then_a_finding_of_the_same_bytes_correlates);
	tcase_add_test(tc, a_load_without_digest_matches_a_finding_by_host_and_path);
	tcase_add_test(tc, a_process_exit_clears_loaded_now_and_keeps_history);
	tcase_add_test(tc, a_whole_short_life_in_one_batch_ends_unloaded);
	tcase_add_test(tc, batches_survive_a_database_restart_without_loss_or_doubles);
	tcase_add_test(tc, an_invalid_batch_is_named_by_its_reason);
	tcase_add_test(tc, a_batch_the_database_refuses_is_rejected_and_the_next_commits);
	tcase_add_test(tc, a_string_that_is_not_utf8_is_named_by_its_field);
	tcase_add_test(tc, one_group_of_many_hosts_keeps_each_host_apart);
	tcase_add_test(tc, event_columns_arrive_exactly);
	tcase_add_test(tc, replays_inside_one_group_are_duplicates_of_their_own_key_only);
	tcase_add_test(tc, a_refused_event_row_rejects_only_its_batch);
	tcase_add_test(tc, a_finding_and_an_exit_in_one_group_leave_an_ended_correlation);
	tcase_add_test(tc, a_refused_batch_in_a_merged_group_spares_the_others);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(ingest_suite());
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Two collectors on one PostgreSQL: a host's runtime events arrive at one
 * and its snapshot findings at the other, in either order or at the same
 * time, and they still correlate; the same batch of a new boot sent to both
 * at once is stored once.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector_proc.h"
#include "pgtmp.h"
#include "tbatch.h"
#include "transport.h"
#include "px_check.h"

#define HOSTS 20
#define RACE_ROUNDS 8
#define RACE_KEYS 12
#define RACE_EVENTS 5

static struct pgtmp PG;

struct coll {
	char dir[64];
	char log[96];
	char listen[32];
	pid_t pid;
};

static void start(struct coll *c, const char *dsn)
{
	snprintf(c->dir, sizeof(c->dir), "/tmp/pxfleet.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(c->dir));
	snprintf(c->log, sizeof(c->log), "%s/collector.log", c->dir);
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:%d", cp_free_port());
	{
		char *argv[] = { "parallax-collector", "--db", (char *)dsn,
				 "--data-dir", c->dir, "--listen", c->listen,
				 NULL };

		c->pid = cp_spawn_argv(c->log, argv);
	}
}

static struct px_client *client(const char *target, struct tbatch *t)
{
	struct px_client_config cfg = { 0 };
	struct px_client *c;
	char err[256];

	cfg.target = target;
	cfg.source = tb_batch(t)->source;
	c = px_client_start(&cfg, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

static void sha_of(int k, char *sha)
{
	for (int i = 0; i < 64; i++)
		sha[i] = "0123456789abcdef"[(k + i) % 16];
	sha[64] = '\0';
	sha[0] = 'f';
	sha[1] = "0123456789abcdef"[k % 16];
	sha[2] = "0123456789abcdef"[k / 16 % 16];
}

static struct tbatch *scan_of(int k, const char *sha)
{
	char host[32];
	struct tbatch *t;

	snprintf(host, sizeof(host), "fleet-%d", k);
	t = tb_new(host, "scanner-f", "sb", 1, true);
	tb_finding(t, "/app/log4j-core.jar", "", sha,
		   "org.apache.logging.log4j:log4j-core", "2.14.1",
		   "CVE-2021-44228");
	return t;
}

static struct tbatch *run_of(int k, const char *sha)
{
	char host[32], exec_id[64];
	struct tbatch *t;

	snprintf(host, sizeof(host), "fleet-%d", k);
	snprintf(exec_id, sizeof(exec_id), "%s:b:%d:1", host, 1000 + k);
	t = tb_new(host, "agent-f", "ab", 1, false);
	tb_exec(t, 1000 + k, exec_id, "/usr/bin/java", "-jar");
	tb_load(t, 1000 + k, exec_id, "/app/log4j-core.jar", sha);
	return t;
}

/* Each host's agent talks to <a>, its scanner to <b>; sequential mode
 * waits for each ack (scanner first for even hosts, agent first for odd
 * ones); concurrent mode sends everything at once. */
static void send_fleet(struct coll *a, struct coll *b, bool concurrent,
		       int base)
{
	struct px_client *ca[HOSTS], *cb[HOSTS];
	struct tbatch *ta[HOSTS], *tb[HOSTS];
	struct px_client_stats st;
	char sha[65];

	for (int k = 0; k < HOSTS; k++) {
		sha_of(base + k, sha);
		ta[k] = run_of(base + k, sha);
		tb[k] = scan_of(base + k, sha);
		ca[k] = client(a->listen, ta[k]);
		cb[k] = client(b->listen, tb[k]);
	}
	for (int k = 0; k < HOSTS; k++) {
		struct px_client *first = k % 2 ? ca[k] : cb[k];
		struct px_client *second = k % 2 ? cb[k] : ca[k];

		ck_assert_int_eq(px_client_send(first, tb_batch(k % 2 ? ta[k] : tb[k]), NULL), 0);
		if (!concurrent)
			ck_assert_int_eq(px_client_flush(first, 60000), 0);
		ck_assert_int_eq(px_client_send(second, tb_batch(k % 2 ? tb[k] : ta[k]), NULL), 0);
	}
	for (int k = 0; k < HOSTS; k++) {
		ck_assert_int_eq(px_client_flush(ca[k], 60000), 0);
		ck_assert_int_eq(px_client_flush(cb[k], 60000), 0);
		px_client_get_stats(ca[k], &st);
		ck_assert_uint_eq(st.acked, 1);
		px_client_get_stats(cb[k], &st);
		ck_assert_uint_eq(st.acked, 1);
		px_client_stop(ca[k]);
		px_client_stop(cb[k]);
		tb_free(ta[k]);
		tb_free(tb[k]);
	}
}

/* A fresh database and two collectors on it, both ready.  They start
 * together, so the migrations run once, under a lock. */
static void start_pair(struct coll *a, struct coll *b, char *dsn, size_t len)
{
	pgtmp_start(&PG);
	pgtmp_new_db(&PG, dsn, len);
	start(a, dsn);
	start(b, dsn);
	cp_wait_ready(a->pid, a->log);
	cp_wait_ready(b->pid, b->log);
}

/* Both collectors exit cleanly; their directories and the cluster go. */
static void stop_pair(struct coll *a, struct coll *b)
{
	ck_assert_int_eq(cp_stop(a->pid), 0);
	ck_assert_int_eq(cp_stop(b->pid), 0);
	pgtmp_rmtree(a->dir);
	pgtmp_rmtree(b->dir);
	pgtmp_stop(&PG);
}

START_TEST(runtime_at_one_collector_and_findings_at_the_other_correlate)
{
	struct coll a, b;
	char dsn[512];
	PGconn *db;

	start_pair(&a, &b, dsn, sizeof(dsn));

	send_fleet(&a, &b, false, 0);
	send_fleet(&a, &b, true, 100);

	db = pgtmp_connect(dsn);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM schema_migrations"),
			 pgtmp_long(db, "SELECT max(version) FROM schema_migrations"));
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(DISTINCT host_id) FROM v_loaded_now "
				    "WHERE cve = 'CVE-2021-44228' AND host_id = finding_host_id"),
			 2 * HOSTS);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM sources"), 4 * HOSTS);
	PQfinish(db);
	stop_pair(&a, &b);
}
END_TEST

/*
 * The high-water mark of a (host, source, boot) key that no collector has
 * seen yet: one source's clients, one per collector, send the same batch
 * (seq 1 of a fresh boot) at the same moment.  Both are acked, one as a
 * duplicate, and its events are stored exactly once.  Many keys per round,
 * several rounds, so the two events transactions overlap often.
 */
START_TEST(the_same_new_batch_at_two_collectors_is_stored_once)
{
	struct px_client *ca[RACE_KEYS], *cb[RACE_KEYS];
	struct tbatch *t[RACE_KEYS];
	struct px_client_stats st;
	struct coll a, b;
	char dsn[512];
	PGconn *db;

	start_pair(&a, &b, dsn, sizeof(dsn));
	db = pgtmp_connect(dsn);

	for (int r = 0; r < RACE_ROUNDS; r++) {
		for (int k = 0; k < RACE_KEYS; k++) {
			char host[32], boot[32], exec_id[64];

			snprintf(host, sizeof(host), "race-%d", k);
			snprintf(boot, sizeof(boot), "boot-%d", r);
			snprintf(exec_id, sizeof(exec_id), "%s:%s:1", host, boot);
			t[k] = tb_new(host, "agent-race", boot, 1, false);
			for (int e = 0; e < RACE_EVENTS; e++)
				tb_net(t[k], (uint32_t)(100 + e), exec_id);
			ca[k] = client(a.listen, t[k]);
			cb[k] = client(b.listen, t[k]);
		}
		for (int k = 0; k < RACE_KEYS; k++) {
			ck_assert_int_eq(px_client_send(ca[k], tb_batch(t[k]), NULL), 0);
			ck_assert_int_eq(px_client_send(cb[k], tb_batch(t[k]), NULL), 0);
		}
		for (int k = 0; k < RACE_KEYS; k++) {
			ck_assert_int_eq(px_client_flush(ca[k], 60000), 0);
			ck_assert_int_eq(px_client_flush(cb[k], 60000), 0);
			px_client_get_stats(ca[k], &st);
			ck_assert_uint_eq(st.acked, 1);
			px_client_get_stats(cb[k], &st);
			ck_assert_uint_eq(st.acked, 1);
			px_client_stop(ca[k]);
			px_client_stop(cb[k]);
			tb_free(t[k]);
		}
		/* Every key of the round: exactly one batch's events. */
		{
			char sql[256];

			snprintf(sql, sizeof(sql),
				 "SELECT count(*) FROM (SELECT host_id FROM events "
				 "WHERE boot_id = 'boot-%d' GROUP BY host_id "
				 "HAVING count(*) = %d) x", r, RACE_EVENTS);
			ck_assert_int_eq(pgtmp_long(db, sql), RACE_KEYS);
			snprintf(sql, sizeof(sql),
				 "SELECT count(*) FROM events WHERE boot_id = 'boot-%d'",
				 r);
			ck_assert_int_eq(pgtmp_long(db, sql),
					 RACE_KEYS * RACE_EVENTS);
		}
	}
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM sources WHERE seq = 1"),
			 RACE_ROUNDS * RACE_KEYS);
	PQfinish(db);
	stop_pair(&a, &b);
}
END_TEST

static Suite *fleet_suite(void)
{
	Suite *s = suite_create("collector-fleet");
	TCase *tc = tcase_create("fleet");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, runtime_at_one_collector_and_findings_at_the_other_correlate);
	tcase_add_test(tc, the_same_new_batch_at_two_collectors_is_stored_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(fleet_suite());
}

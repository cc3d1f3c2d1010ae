// SPDX-License-Identifier: Apache-2.0
/*
 * Effectively-once delivery, counted: a source streams numbered events to
 * the collector binary over gRPC on loopback while the collector is killed
 * with SIGKILL and restarted, and while PostgreSQL restarts; the source
 * replays whatever was not acked.  Afterwards the events table holds each
 * number exactly once.  Also: above its high-water mark the collector
 * stops reading, and nothing is lost while it waits; a batch it cannot
 * queue is refused and replayed, not lost.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector_proc.h"
#include "pgtmp.h"
#include "tbatch.h"
#include "transport.h"
#include "px_check.h"

#define PER_BATCH 50

static struct pgtmp PG;

static void cluster_up(void)
{
	pgtmp_start(&PG);
}

static void cluster_down(void)
{
	pgtmp_stop(&PG);
}

struct run {
	char dir[64];
	char log[64];
	char conf[64];
	char dsn[512];
	char listen[32];
	int port;
	pid_t pid;
};

static void run_init(struct run *r, const char *yaml)
{
	FILE *f;

	snprintf(r->dir, sizeof(r->dir), "/tmp/pxdel.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(r->log, sizeof(r->log), "%s/collector.log", r->dir);
	snprintf(r->conf, sizeof(r->conf), "%s/collector.yaml", r->dir);
	f = fopen(r->conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "collector:\n  retention_days: 0\n%s", yaml);
	fclose(f);
	pgtmp_new_db(&PG, r->dsn, sizeof(r->dsn));
	r->port = cp_free_port();
	snprintf(r->listen, sizeof(r->listen), "127.0.0.1:%d", r->port);
}

static void run_start(struct run *r)
{
	char *argv[] = { "parallax-collector", "--config", r->conf, "--db",
			 r->dsn, "--data-dir", r->dir, "--listen", r->listen,
			 NULL };

	r->pid = cp_spawn_argv(r->log, argv);
	cp_wait_ready(r->pid, r->log);
}

static void run_kill(struct run *r)
{
	int status;

	ck_assert_int_eq(kill(r->pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(r->pid, &status, 0), r->pid);
	r->pid = 0;
}

static struct px_client *client(const struct run *r, struct tbatch *proto)
{
	struct px_client_config cfg = { 0 };
	char err[256];
	struct px_client *c;

	cfg.target = r->listen;
	cfg.source = tb_batch(proto)->source;
	c = px_client_start(&cfg, err, sizeof(err));
	ck_assert_msg(c != NULL, "client: %s", err);
	return c;
}

/* Queues batch <i>: events numbered i*PER_BATCH .. i*PER_BATCH+49 (the
 * number travels as the pid). */
static void send_numbered(struct px_client *c, int i)
{
	struct tbatch *t = tb_new("del-host", "del-agent", "del-boot", 1, false);
	int ret;

	for (int k = 0; k < PER_BATCH; k++)
		tb_net(t, (uint32_t)(i * PER_BATCH + k), "del-host:b:1");
	while ((ret = px_client_send(c, tb_batch(t), NULL)) == -ENOBUFS)
		usleep(10000);
	ck_assert_int_eq(ret, 0);
	tb_free(t);
}

static long count(const struct run *r, const char *sql)
{
	PGconn *db = pgtmp_connect(r->dsn);
	long v = pgtmp_long(db, sql);

	PQfinish(db);
	return v;
}

/* The committed mark of the test's source, 0 before its first commit. */
static long mark_of(const struct run *r)
{
	return count(r, "SELECT coalesce(max(seq), 0) FROM sources "
			"WHERE source_id = 'del-agent'");
}

/* The value of <key>=N on the collector's "stopped" line in <log>. */
static long stopped_field(const char *log, const char *key)
{
	static char buf[1 << 20];
	const char *line, *at;

	cp_slurp(log, buf, sizeof(buf));
	line = strstr(buf, "msg=\"stopped\"");
	ck_assert_msg(line != NULL, "no stopped line: %s", buf);
	at = strstr(line, key);
	ck_assert_msg(at != NULL, "no %s in: %s", key, line);
	return atol(at + strlen(key));
}

START_TEST(each_event_is_stored_once_across_a_collector_kill_and_a_database_restart)
{
	enum { BATCHES = 300 };
	struct tbatch *proto = tb_new("del-host", "del-agent", "del-boot", 1, false);
	static char buf[1 << 20];
	struct px_client_stats st;
	struct px_client *c;
	long mark = 0;
	uint64_t acked_at_kill = 0, pending_at_kill = 0;
	struct run r;

	run_init(&r, "");
	run_start(&r);
	c = client(&r, proto);
	for (int i = 0; i < BATCHES; i++) {
		send_numbered(c, i);
		if (i == BATCHES / 3) {
			/* Mid-stream: wait for some acks while more are still
			 * queued, then kill. */
			for (int k = 0; k < 1000; k++) {
				px_client_get_stats(c, &st);
				if (st.acked > 0)
					break;
				usleep(1000);
			}
			run_kill(&r);
			usleep(100000);  /* acks already on the wire land */
			px_client_get_stats(c, &st);
			acked_at_kill = st.acked;
			pending_at_kill = st.pending;
			mark = mark_of(&r);
			run_start(&r);
		}
		if (i == 2 * BATCHES / 3)
			pgtmp_restart(&PG);
		usleep(2000);
	}
	ck_assert_uint_gt(acked_at_kill, 0);
	ck_assert_uint_gt(pending_at_kill, 0);
	/* The kill lost nothing the database had: the mark covers every ack. */
	ck_assert_int_ge(mark, (long)acked_at_kill);
	ck_assert_int_eq(px_client_flush(c, 120000), 0);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.rejected, 0);
	ck_assert_uint_eq(st.acked, BATCHES);
	ck_assert_uint_ge(st.reconnects, 1);
	px_client_stop(c);

	ck_assert_int_eq(count(&r, "SELECT count(*) FROM events"),
			 BATCHES * PER_BATCH);
	ck_assert_int_eq(count(&r, "SELECT count(DISTINCT pid) FROM events"),
			 BATCHES * PER_BATCH);
	ck_assert_int_eq(count(&r, "SELECT max(pid) FROM events"),
			 BATCHES * PER_BATCH - 1);
	ck_assert_int_eq(count(&r, "SELECT seq FROM sources WHERE source_id = 'del-agent'"),
			 BATCHES);
	/* The PostgreSQL restart hit the ingest of the second collector. */
	cp_slurp(r.log, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "database connection lost") != NULL, "log: %s", buf);
	ck_assert_int_eq(cp_stop(r.pid), 0);
	/* Batches committed before the kill but not acked came back as
	 * replays and were acked DUPLICATE, writing nothing. */
	ck_assert_int_ge(stopped_field(r.log, "duplicates="),
			 mark - (long)acked_at_kill);
	ck_assert_int_eq(stopped_field(r.log, "committed=") +
			 stopped_field(r.log, "duplicates=") >= BATCHES - mark, 1);
	tb_free(proto);
	pgtmp_rmtree(r.dir);
}
END_TEST

/* A connection whose open transaction holds the marks' table, so that
 * every events transaction waits until it commits. */
static PGconn *hold_marks(const char *dsn)
{
	PGconn *db = pgtmp_connect(dsn);

	pgtmp_exec(db, "BEGIN");
	pgtmp_exec(db, "LOCK TABLE sources IN ACCESS EXCLUSIVE MODE");
	return db;
}

START_TEST(intake_pauses_above_the_high_water_mark_and_nothing_is_lost)
{
	enum { BATCHES = 40 };
	struct tbatch *proto = tb_new("del-host", "del-agent", "del-boot", 1, false);
	static char buf[1 << 16];
	struct px_client_stats st;
	struct px_client *c;
	PGconn *locker;
	struct run r;

	/* One batch per group, at most 4 waiting before intake pauses. */
	run_init(&r, "  queue_high_water: 4\n  copy_rows: 1\n");
	run_start(&r);
	/* Hold the marks' table: every events transaction waits. */
	locker = hold_marks(r.dsn);

	c = client(&r, proto);
	for (int i = 0; i < BATCHES; i++)
		send_numbered(c, i);
	for (int i = 0; i < 600; i++) {
		cp_slurp(r.log, buf, sizeof(buf));
		if (strstr(buf, "pausing intake") != NULL)
			break;
		usleep(50000);
	}
	ck_assert_msg(strstr(buf, "pausing intake") != NULL, "log: %s", buf);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.acked, 0);
	ck_assert_uint_eq(st.pending, BATCHES);

	pgtmp_exec(locker, "COMMIT");
	PQfinish(locker);
	ck_assert_int_eq(px_client_flush(c, 120000), 0);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.acked, BATCHES);
	px_client_stop(c);
	cp_slurp(r.log, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "resuming intake") != NULL, "log: %s", buf);
	ck_assert_int_eq(count(&r, "SELECT count(DISTINCT pid) FROM events"),
			 BATCHES * PER_BATCH);
	ck_assert_int_eq(count(&r, "SELECT count(*) FROM events"),
			 BATCHES * PER_BATCH);
	ck_assert_int_eq(cp_stop(r.pid), 0);
	tb_free(proto);
	pgtmp_rmtree(r.dir);
}
END_TEST

/*
 * A batch the collector cannot queue (here: collector.queue_limit reached,
 * the path out of memory takes too) is refused with RESOURCE_EXHAUSTED and
 * ends its stream, and no later seq of the source commits before it: the
 * source replays from its last ack, and every event is stored once.
 */
START_TEST(a_batch_refused_for_a_full_queue_is_replayed_not_lost)
{
	enum { BATCHES = 40 };
	struct tbatch *proto = tb_new("del-host", "del-agent", "del-boot", 1, false);
	static char buf[1 << 16];
	struct px_client_stats st;
	struct px_client *c;
	const char *line;
	PGconn *locker;
	struct run r;

	run_init(&r, "  queue_high_water: 1000\n  queue_limit: 3\n");
	run_start(&r);
	/* Hold the marks' table: the first batches stay queued. */
	locker = hold_marks(r.dsn);

	c = client(&r, proto);
	for (int i = 0; i < BATCHES; i++)
		send_numbered(c, i);
	line = NULL;
	for (int i = 0; i < 600 && line == NULL; i++) {
		usleep(50000);
		cp_slurp(r.log, buf, sizeof(buf));
		line = strstr(buf, "batch refused, stream ended");
	}
	ck_assert_msg(line != NULL, "log: %s", buf);
	ck_assert_msg(strstr(line, "reason=queue_full") != NULL, "log: %s", line);
	ck_assert_msg(strstr(line, "seq=4 ") != NULL, "log: %s", line);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.acked, 0);
	ck_assert_uint_eq(st.pending, BATCHES);

	pgtmp_exec(locker, "COMMIT");
	PQfinish(locker);
	ck_assert_int_eq(px_client_flush(c, 120000), 0);
	px_client_get_stats(c, &st);
	ck_assert_uint_eq(st.acked, BATCHES);
	ck_assert_uint_eq(st.rejected, 0);
	ck_assert_uint_ge(st.reconnects, 1);
	px_client_stop(c);
	ck_assert_int_eq(count(&r, "SELECT count(*) FROM events"),
			 BATCHES * PER_BATCH);
	ck_assert_int_eq(count(&r, "SELECT count(DISTINCT pid) FROM events"),
			 BATCHES * PER_BATCH);
	ck_assert_int_eq(count(&r, "SELECT seq FROM sources WHERE source_id = 'del-agent'"),
			 BATCHES);
	ck_assert_int_eq(cp_stop(r.pid), 0);
	tb_free(proto);
	pgtmp_rmtree(r.dir);
}
END_TEST

static Suite *delivery_suite(void)
{
	Suite *s = suite_create("collector-delivery");
	TCase *tc = tcase_create("delivery");

	tcase_set_timeout(tc, 200);
	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_add_test(tc, each_event_is_stored_once_across_a_collector_kill_and_a_database_restart);
	tcase_add_test(tc, intake_pauses_above_the_high_water_mark_and_nothing_is_lost);
	tcase_add_test(tc, a_batch_refused_for_a_full_queue_is_replayed_not_lost);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(delivery_suite());
}

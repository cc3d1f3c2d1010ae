// SPDX-License-Identifier: Apache-2.0
/*
 * Storage upkeep by the collector itself: day partitions of the events
 * table created ahead, partitions past the retention dropped, rows that
 * arrived before their day's partition moved into it.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector_proc.h"
#include "migrate.h"
#include "pgtmp.h"
#include "px_check.h"

static struct pgtmp PG;

static void cluster_up(void)
{
	pgtmp_start(&PG);
}

static void cluster_down(void)
{
	pgtmp_stop(&PG);
}

static const char *EVENT_AT =
	"INSERT INTO events (ts, host_id, kind, source_id, boot_id, seq) "
	"VALUES (now() - interval '%d days', 'h', 'health', 's', 'b', 1)";

static void exec_fmt(PGconn *db, const char *fmt, int arg)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, arg);
	pgtmp_exec(db, sql);
}

START_TEST(the_collector_creates_partitions_ahead_and_drops_expired_ones)
{
	char dir[] = "/tmp/pxsto.XXXXXX", log[PATH_MAX], dsn[512], err[256];
	static char buf[1 << 16];
	PGconn *db;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/collector.log", dir);
	pgtmp_new_db(&PG, dsn, sizeof(dsn));
	db = pgtmp_connect(dsn);
	ck_assert_int_ge(coll_migrate(db, err, sizeof(err)), 0);
	/* An old day with its partition, an old row in the default one,
	 * and a row of today. */
	pgtmp_exec(db, "SELECT px_events_partition((now() AT TIME ZONE 'UTC')::date - 10)");
	exec_fmt(db, EVENT_AT, 10);
	exec_fmt(db, EVENT_AT, 40);
	exec_fmt(db, EVENT_AT, 0);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events"), 3);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events_default"), 1);

	{
		char *argv[] = { "parallax-collector", "--db", dsn, "--data-dir",
				 dir, "--listen", "127.0.0.1:0",
				 "--retention-days", "3", NULL };

		pid = cp_spawn_argv(log, argv);
	}
	cp_wait_ready(pid, log);
	for (int i = 0; i < 300; i++) {
		cp_slurp(log, buf, sizeof(buf));
		if (strstr(buf, "events partitions maintained") != NULL)
			break;
		usleep(50000);
	}
	ck_assert_msg(strstr(buf, "dropped=1") != NULL, "log: %s", buf);
	ck_assert_int_eq(cp_stop(pid), 0);

	/* Yesterday through two days ahead exist; the old day is gone. */
	ck_assert_int_eq(pgtmp_long(db,
		"SELECT count(*) FROM generate_series(-1, 2) d WHERE to_regclass("
		"'events_p' || to_char((now() AT TIME ZONE 'UTC')::date + d, 'YYYYMMDD')) IS NOT NULL"), 4);
	ck_assert_int_eq(pgtmp_long(db,
		"SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass"), 5);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events"), 1);
	ck_assert_int_eq(pgtmp_long(db,
		"SELECT count(*) FROM events WHERE ts > now() - interval '1 day'"), 1);
	PQfinish(db);
	pgtmp_rmtree(dir);
}
END_TEST

START_TEST(rows_of_a_day_move_from_the_default_partition_into_its_own)
{
	char dsn[512], err[256];
	PGconn *db;

	pgtmp_new_db(&PG, dsn, sizeof(dsn));
	db = pgtmp_connect(dsn);
	ck_assert_int_ge(coll_migrate(db, err, sizeof(err)), 0);
	exec_fmt(db, EVENT_AT, 20);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events_default"), 1);
	ck_assert_int_eq(pgtmp_long(db,
		"SELECT px_events_partition((now() - interval '20 days')::date)::int"), 1);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events_default"), 0);
	ck_assert_int_eq(pgtmp_long(db, "SELECT count(*) FROM events"), 1);
	/* A second call finds it there. */
	ck_assert_int_eq(pgtmp_long(db,
		"SELECT px_events_partition((now() - interval '20 days')::date)::int"), 0);
	PQfinish(db);
}
END_TEST

static Suite *storage_suite(void)
{
	Suite *s = suite_create("collector-storage");
	TCase *tc = tcase_create("storage");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_add_test(tc, the_collector_creates_partitions_ahead_and_drops_expired_ones);
	tcase_add_test(tc, rows_of_a_day_move_from_the_default_partition_into_its_own);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(storage_suite());
}

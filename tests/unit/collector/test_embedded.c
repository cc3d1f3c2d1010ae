// SPDX-License-Identifier: Apache-2.0
/*
 * The parallax-collector binary in its embedded mode: no --db, a data
 * directory in /tmp.  The first start creates the cluster (as the postgres
 * user when run as root), applies the schema and writes collector.dsn;
 * SIGTERM stops the collector and its PostgreSQL; a second start reuses
 * the cluster.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "collector_proc.h"
#include "pgtmp.h"
#include "px_check.h"

START_TEST(first_start_creates_the_cluster_and_sigterm_stops_postgres)
{
	char dir[] = "/tmp/pxcoll.XXXXXX", log[] = "/tmp/pxcoll-log.XXXXXX";
	char path[PATH_MAX], dsn[1024], logbuf[65536];
	struct stat st;
	long pgpid;
	PGconn *c;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	close(mkstemp(log));
	pid = cp_spawn(dir, log, NULL, NULL);
	cp_wait_ready(pid, log);

	snprintf(path, sizeof(path), "%s/collector.dsn", dir);
	cp_slurp(path, dsn, sizeof(dsn));
	dsn[strcspn(dsn, "\n")] = '\0';
	ck_assert_msg(strstr(dsn, dir) != NULL, "dsn: %s", dsn);
	c = pgtmp_connect(dsn);
	ck_assert_int_ge(pgtmp_long(c, "SELECT count(*) FROM schema_migrations"), 1);
	ck_assert_int_eq(pgtmp_long(c, "SELECT count(*) FROM pg_settings WHERE name = 'listen_addresses' AND setting = ''"), 1);
	PQfinish(c);

	snprintf(path, sizeof(path), "%s/pg", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");

		ck_assert_ptr_nonnull(pw);
		ck_assert_uint_eq(st.st_uid, pw->pw_uid);
	}
	pgpid = cp_postmaster_pid(dir);
	ck_assert_int_gt(pgpid, 0);
	ck_assert_int_eq(kill((pid_t)pgpid, 0), 0);

	cp_slurp(log, logbuf, sizeof(logbuf));
	ck_assert_msg(strstr(logbuf, "127.0.0.1:0") != NULL &&
		      strstr(logbuf, "db=embedded") != NULL,
		      "startup line lacks where it listens and its db:\n%s", logbuf);

	ck_assert_int_eq(cp_stop(pid), 0);
	ck_assert_int_eq(cp_postmaster_pid(dir), 0);
	ck_assert_msg(!cp_alive((pid_t)pgpid), "postgres %ld still runs", pgpid);

	/* Second start: same cluster, nothing to migrate, stops cleanly. */
	pid = cp_spawn(dir, log, NULL, NULL);
	cp_wait_ready(pid, log);
	cp_slurp(log, logbuf, sizeof(logbuf));
	ck_assert_msg(strstr(logbuf, "creating database cluster") == NULL &&
		      strstr(logbuf, "applied=0") != NULL,
		      "second start re-created or re-migrated:\n%s", logbuf);
	ck_assert_int_eq(cp_stop(pid), 0);
	ck_assert_int_eq(cp_postmaster_pid(dir), 0);

	pgtmp_rmtree(dir);
	unlink(log);
}
END_TEST

START_TEST(without_server_binaries_the_collector_says_how_to_get_them)
{
	char dir[] = "/tmp/pxcoll.XXXXXX", log[] = "/tmp/pxcoll-log.XXXXXX";
	char cfg[PATH_MAX], logbuf[8192];
	int status;
	FILE *f;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	close(mkstemp(log));
	snprintf(cfg, sizeof(cfg), "%s/collector.yaml", dir);
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "collector:\n  pg_bindir: %s/no-such-dir\n", dir);
	fclose(f);
	pid = cp_spawn(dir, log, "--config", cfg);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	cp_slurp(log, logbuf, sizeof(logbuf));
	ck_assert_msg(strstr(logbuf, "apt-get install postgresql") != NULL,
		      "log: %s", logbuf);
	pgtmp_rmtree(dir);
	unlink(log);
}
END_TEST

static Suite *embedded_suite(void)
{
	Suite *s = suite_create("collector-embedded");
	TCase *tc = tcase_create("embedded");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, first_start_creates_the_cluster_and_sigterm_stops_postgres);
	tcase_add_test(tc, without_server_binaries_the_collector_says_how_to_get_them);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(embedded_suite());
}

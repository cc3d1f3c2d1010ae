// SPDX-License-Identifier: Apache-2.0
/*
 * Schema migrations against a real PostgreSQL: a fresh database gets every
 * embedded migration once, and a second start applies nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "migrate.h"
#include "pgtmp.h"
#include "px_check.h"

static struct pgtmp pg;

static void cluster_up(void)
{
	pgtmp_start(&pg);
}

static void cluster_down(void)
{
	pgtmp_stop(&pg);
}

START_TEST(migrations_apply_once_and_a_second_start_applies_none)
{
	static const char *const objects[] = {
		"sources", "hosts", "processes", "events", "artifacts_loaded",
		"findings", "correlations", "scans", "v_findings",
		"v_loaded_now",
	};
	char dsn[512], err[512], sql[256];
	PGconn *c;

	pgtmp_new_db(&pg, dsn, sizeof(dsn));
	c = pgtmp_connect(dsn);
	ck_assert_uint_gt(coll_n_migrations, 0);
	ck_assert_msg(coll_migrate(c, err, sizeof(err)) == (int)coll_n_migrations,
		      "first run: %s", err);
	ck_assert_msg(coll_migrate(c, err, sizeof(err)) == 0, "second run: %s",
		      err);
	ck_assert_int_eq(pgtmp_long(c, "SELECT count(*) FROM schema_migrations"),
			 (long)coll_n_migrations);
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pg_class WHERE relname = '%s'",
			 objects[i]);
		ck_assert_msg(pgtmp_long(c, sql) == 1, "missing %s", objects[i]);
	}
	PQfinish(c);

	/* A new connection (a restarted collector) applies nothing either. */
	c = pgtmp_connect(dsn);
	ck_assert_int_eq(coll_migrate(c, err, sizeof(err)), 0);
	PQfinish(c);
}
END_TEST

START_TEST(every_table_key_leads_with_host_id)
{
	char dsn[512], err[512];
	PGconn *c;

	pgtmp_new_db(&pg, dsn, sizeof(dsn));
	c = pgtmp_connect(dsn);
	ck_assert_int_ge(coll_migrate(c, err, sizeof(err)), 0);
	/* Primary and unique keys of our tables whose first column is not
	 * host_id, apart from the reference tables (the same on every host;
	 * Citus reference tables, see collector/README.md). */
	ck_assert_int_eq(pgtmp_long(c,
		"SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
		"JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] "
		"WHERE (i.indisprimary OR i.indisunique) AND t.relnamespace = 'public'::regnamespace "
		"AND t.relname NOT IN ('schema_migrations', 'advisories', "
		"'advisory_affected', 'advisory_matches') AND a.attname <> 'host_id'"), 0);
	PQfinish(c);
}
END_TEST

static Suite *migrate_suite(void)
{
	Suite *s = suite_create("collector-migrate");
	TCase *tc = tcase_create("migrate");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_add_test(tc, migrations_apply_once_and_a_second_start_applies_none);
	tcase_add_test(tc, every_table_key_leads_with_host_id);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return px_check_run(migrate_suite());
}

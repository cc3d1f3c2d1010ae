// SPDX-License-Identifier: Apache-2.0
/*
 * Applies the embedded migrations (see migrate.h).  Blocking libpq: this is
 * start-up work done before the event loop runs.
 */
#include "migrate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* Key of the advisory lock that serialises migrating collectors. */
#define MIGRATE_LOCK_KEY 0x706172616c6c6178LL /* "parallax" */

static int exec_ok(PGconn *conn, const char *sql, int nparams,
		   const char *const *params, PGresult **out, char *err,
		   size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL,
				     NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res)[0] ?
			 PQresultErrorMessage(res) : PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		return -EIO;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/* Runs one migration in its own transaction; 1 if applied, 0 if another
 * collector had already applied it, -EIO on error (rolled back). */
static int apply_one(PGconn *conn, const struct coll_migration *m, char *err,
		     size_t errlen)
{
	char version[24], lock[32];
	const char *vp[2] = { version, m->name };
	const char *lp[1] = { lock };
	PGresult *res;
	bool done;
	int ret;

	snprintf(version, sizeof(version), "%ld", m->version);
	snprintf(lock, sizeof(lock), "%lld", MIGRATE_LOCK_KEY);
	ret = exec_ok(conn, "BEGIN", 0, NULL, NULL, err, errlen);
	if (ret < 0)
		return ret;
	ret = exec_ok(conn, "SELECT pg_advisory_xact_lock($1::bigint)", 1, lp,
		      NULL, err, errlen);
	if (ret < 0)
		goto err_rollback;
	ret = exec_ok(conn, "SELECT 1 FROM schema_migrations "
		      "WHERE version = $1::integer", 1, vp, &res, err, errlen);
	if (ret < 0)
		goto err_rollback;
	done = PQntuples(res) > 0;
	PQclear(res);
	if (done) {
		exec_ok(conn, "ROLLBACK", 0, NULL, NULL, err, errlen);
		return 0;
	}
	/* The simple-query protocol runs a script of several statements. */
	res = PQexec(conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "migration %s: %s", m->name,
			 PQresultErrorMessage(res));
		err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		ret = -EIO;
		goto err_rollback;
	}
	PQclear(res);
	ret = exec_ok(conn, "INSERT INTO schema_migrations (version, name) "
		      "VALUES ($1::integer, $2::text)", 2, vp, NULL, err,
		      errlen);
	if (ret < 0)
		goto err_rollback;
	ret = exec_ok(conn, "COMMIT", 0, NULL, NULL, err, errlen);
	if (ret < 0)
		return ret;
	px_info("migrate", "migration applied", "version=%ld name=%s",
		m->version, m->name);
	return 1;

err_rollback:
	PQclear(PQexec(conn, "ROLLBACK"));
	return ret;
}

/* Creates schema_migrations under the lock, so that two collectors
 * starting together do not race on the catalog. */
static int create_ledger(PGconn *conn, char *err, size_t errlen)
{
	char lock[32];
	const char *lp[1] = { lock };
	int ret;

	snprintf(lock, sizeof(lock), "%lld", MIGRATE_LOCK_KEY);
	ret = exec_ok(conn, "BEGIN", 0, NULL, NULL, err, errlen);
	if (ret < 0)
		return ret;
	ret = exec_ok(conn, "SELECT pg_advisory_xact_lock($1::bigint)", 1, lp,
		      NULL, err, errlen);
	if (ret == 0)
		ret = exec_ok(conn, "CREATE TABLE IF NOT EXISTS "
			      "schema_migrations (version integer PRIMARY KEY, "
			      "name text NOT NULL, applied_at timestamptz "
			      "NOT NULL DEFAULT now())", 0, NULL, NULL, err,
			      errlen);
	if (ret == 0)
		return exec_ok(conn, "COMMIT", 0, NULL, NULL, err, errlen);
	PQclear(PQexec(conn, "ROLLBACK"));
	return ret;
}

int coll_migrate(PGconn *conn, char *err, size_t errlen)
{
	int applied = 0, ret;

	/* Quiet the "already exists, skipping" notice. */
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	ret = create_ledger(conn, err, errlen);
	for (size_t i = 0; ret >= 0 && i < coll_n_migrations; i++) {
		ret = apply_one(conn, &coll_migrations[i], err, errlen);
		if (ret > 0)
			applied += ret;
	}
	PQclear(PQexec(conn, "RESET client_min_messages"));
	return ret < 0 ? ret : applied;
}

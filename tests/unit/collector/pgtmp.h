/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A throwaway PostgreSQL for tests: a fresh cluster in a temporary directory
 * (initdb as the "postgres" user when running as root), its unix socket in
 * that directory, no TCP.  Built on the collector's embedded-cluster code,
 * which these tests exercise as a side effect.  Missing server binaries are
 * a failure with the reason, never a skip.
 */
#ifndef PX_TEST_PGTMP_H
#define PX_TEST_PGTMP_H

#include <libpq-fe.h>

#include "embedded_pg.h"

struct pgtmp {
	char dir[PATH_MAX];
	struct coll_epg epg;
	int next_db;
};

/* Creates and starts the cluster; aborts the test with the reason on
 * failure.  Call from a fixture or a test. */
void pgtmp_start(struct pgtmp *t);

/* Creates an empty database and writes its DSN to <dsn>. */
void pgtmp_new_db(struct pgtmp *t, char *dsn, size_t len);

/* pg_ctl restart -m fast: every open connection is cut. */
void pgtmp_restart(struct pgtmp *t);

/* Stops the server and removes the directory.  Safe to call twice. */
void pgtmp_stop(struct pgtmp *t);

/* Blocking helpers for assertions. */
PGconn *pgtmp_connect(const char *dsn);
/* The first column of the first row of <sql> as a long (-1 on error, with
 * the reason printed). */
long pgtmp_long(PGconn *c, const char *sql);
/* Runs <sql> and aborts the test unless it succeeds. */
void pgtmp_exec(PGconn *c, const char *sql);

/* Removes a directory tree (no symlinks followed). */
void pgtmp_rmtree(const char *dir);

#endif

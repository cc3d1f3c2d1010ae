// SPDX-License-Identifier: Apache-2.0
/*
 * Throwaway PostgreSQL clusters for the collector's tests (see pgtmp.h).
 */
#include "pgtmp.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void pgtmp_start(struct pgtmp *t)
{
	char err[1024];

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/pxpg.XXXXXX");
	ck_assert_msg(mkdtemp(t->dir) != NULL, "mkdtemp: %s", strerror(errno));
	/* The postgres user must pass through it (the code under test also
	 * fixes this, but not the first time mkdir comes from us). */
	ck_assert_int_eq(chmod(t->dir, 0755), 0);
	if (coll_epg_start(&t->epg, t->dir, getenv("PX_PG_BINDIR"), err,
			   sizeof(err)) < 0) {
		char msg[1200];

		snprintf(msg, sizeof(msg), "cannot start a throwaway PostgreSQL: %s",
			 err);
		coll_epg_stop(&t->epg, err, sizeof(err));
		pgtmp_rmtree(t->dir);
		ck_abort_msg("%s", msg);
	}
}

void pgtmp_new_db(struct pgtmp *t, char *dsn, size_t len)
{
	char sql[128], name[64];
	PGconn *c = pgtmp_connect(t->epg.dsn);

	snprintf(name, sizeof(name), "t%d_%d", (int)getpid(), t->next_db++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	pgtmp_exec(c, sql);
	PQfinish(c);
	snprintf(dsn, len, "host=%s port=5432 user=%s dbname=%s",
		 t->epg.rundir, COLL_EPG_USER, name);
}

void pgtmp_restart(struct pgtmp *t)
{
	char err[1024];

	ck_assert_msg(coll_epg_restart(&t->epg, err, sizeof(err)) == 0,
		      "restart: %s", err);
}

void pgtmp_stop(struct pgtmp *t)
{
	char err[1024];

	if (t->dir[0] == '\0')
		return;
	if (coll_epg_stop(&t->epg, err, sizeof(err)) < 0)
		fprintf(stderr, "pgtmp: %s\n", err);
	pgtmp_rmtree(t->dir);
	t->dir[0] = '\0';
}

PGconn *pgtmp_connect(const char *dsn)
{
	PGconn *c = PQconnectdb(dsn);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect %s: %s", dsn,
		      PQerrorMessage(c));
	return c;
}

long pgtmp_long(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	long v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
	    !PQgetisnull(res, 0, 0))
		v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "pgtmp: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return v;
}

void pgtmp_exec(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
		      "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void pgtmp_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

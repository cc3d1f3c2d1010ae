/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The read-only queries of the parallax CLI and of the collector's HTTP API,
 * defined once so that both give the same answers.  Every query takes the
 * same text parameters (see enum coll_qparam); NULL means "not given".  The
 * JSON form is built by PostgreSQL (json_agg over the same query).
 */
#ifndef COLL_QUERIES_H
#define COLL_QUERIES_H

#include <stdbool.h>
#include <stddef.h>

enum coll_qparam {
	COLL_Q_HOST,      /* host_id */
	COLL_Q_EXEC,      /* exec_id of a process */
	COLL_Q_SHA256,    /* artifact digest */
	COLL_Q_PACKAGE,   /* package name (maven: groupId:artifactId) */
	COLL_Q_SINCE,     /* timestamptz text, e.g. 2026-12-03T10:00Z */
	COLL_Q_UNTIL,
	COLL_Q_LIMIT,     /* rows, for the event queries (COLL_Q_LIMIT_*) */
	COLL_Q_CVE,       /* advisory id (CVE-..., GHSA-...) */
	COLL_Q_NPARAMS,
};

/* Rows of the event queries without --limit, and at most with one: one
 * answer stays a size a terminal, a browser and the collector's HTTP
 * buffers handle; narrow the window (--since/--until) for more. */
#define COLL_Q_LIMIT_DEFAULT 1000
#define COLL_Q_LIMIT_MAX 10000

/* The parameter names, as CLI flags (--host) and HTTP query keys
 * (?host=). */
extern const char *const coll_qparam_names[COLL_Q_NPARAMS];

struct coll_query {
	const char *name;
	const char *help;
	unsigned int needs;       /* bit (1 << COLL_Q_*) of required ones */
	unsigned int needs_any;   /* at least one of these bits */
	const char *sql;          /* "%s": the CVE list aggregate */
};

extern const struct coll_query coll_queries[];
extern const size_t coll_n_queries;

const struct coll_query *coll_query_find(const char *name);

/*
 * Writes the SQL of <q> into <buf>: as rows for a table, or as one JSON
 * array value when <json>.  -ENOSPC when <len> is too small.
 */
int coll_query_sql(const struct coll_query *q, bool json, char *buf,
		   size_t len);

/* NULL when <params> satisfy what <q> needs, else a message naming the
 * missing parameter, or the malformed one (--limit must be 1.. in
 * digits). */
const char *coll_query_missing(const struct coll_query *q,
			       const char *const *params);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One PostgreSQL connection driven by a libuv loop: libpq in non-blocking
 * mode, its socket watched with uv_poll, connection set-up with
 * PQconnectStart/PQconnectPoll, and reconnection with capped exponential
 * backoff whenever the connection breaks.  Nothing here blocks the loop.
 *
 * One query is in flight at a time; the owner sequences them (see ingest.c).
 */
#ifndef COLL_PGCONN_H
#define COLL_PGCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include <libpq-fe.h>
#include <uv.h>

struct coll_pg;

/*
 * Result of a query.  <res> is the last result of the query, borrowed for
 * the call (it is cleared on return); NULL when the connection broke before
 * the query completed, in which case the outcome is unknown and the
 * connection is already being re-established.
 */
typedef void (*coll_pg_result_fn)(void *arg, PGresult *res);

/* Called each time the connection becomes ready for queries. */
typedef void (*coll_pg_ready_fn)(void *arg);

/*
 * Creates the connection object and starts connecting to <dsn> (copied).
 * <ready> is called on <loop> whenever a connection is established.
 * Returns NULL only when out of memory.
 */
struct coll_pg *coll_pg_new(uv_loop_t *loop, const char *dsn,
			    coll_pg_ready_fn ready, void *arg);

/* True when a query may be sent now. */
bool coll_pg_ready(const struct coll_pg *pg);

/*
 * Sends <sql> with <nparams> text parameters (the strings are copied by
 * libpq before return).  <done> runs once with the outcome.  Returns 0, or
 * -EBUSY when not ready or a query is in flight; when the send itself finds
 * the connection broken, returns -ECONNRESET and <done> is not called.
 */
int coll_pg_query(struct coll_pg *pg, const char *sql, int nparams,
		  const char *const *params, coll_pg_result_fn done, void *arg);

#define COLL_PG_MAX_TEXT_PARAMS 32

/* As coll_pg_query(), with every parameter typed text, so that a statement
 * may leave some of them unused.  -E2BIG past COLL_PG_MAX_TEXT_PARAMS. */
int coll_pg_query_text(struct coll_pg *pg, const char *sql, int nparams,
		       const char *const *params, coll_pg_result_fn done,
		       void *arg);

/*
 * Prepares <sql> as the session's statement <name> (parameter types as
 * the casts in <sql> say); <done> gets the outcome.  Prepared statements
 * last as long as the connection: see coll_pg_generation().  Same contract
 * as coll_pg_query() otherwise.
 */
int coll_pg_prepare(struct coll_pg *pg, const char *name, const char *sql,
		    coll_pg_result_fn done, void *arg);

/* Runs the prepared statement <name>; as coll_pg_query(). */
int coll_pg_query_prepared(struct coll_pg *pg, const char *name, int nparams,
			   const char *const *params, coll_pg_result_fn done,
			   void *arg);

/* One statement of a pipeline: the prepared <name>, or else <sql>. */
struct coll_pg_stmt {
	const char *name;
	const char *sql;
	int nparams;
	const char *const *params;
};

/*
 * Sends the <n> statements of <st> at once (libpq pipeline mode) and one
 * sync point: one round trip instead of <n>.  <done> runs once, with the
 * first error (the server skips what follows it) or else the last
 * statement's result.  Same contract as coll_pg_query() otherwise.
 */
int coll_pg_pipeline(struct coll_pg *pg, const struct coll_pg_stmt *st,
		     size_t n, coll_pg_result_fn done, void *arg);

/* Counts the connections established so far: when it changes, the
 * session (and what was prepared in it) is a new one. */
unsigned int coll_pg_generation(const struct coll_pg *pg);

/*
 * Runs <sql>, a COPY ... FROM STDIN, feeding it the <n> chunks of <iov>
 * (text format rows; borrowed until <done> runs).  Same contract as
 * coll_pg_query() otherwise.
 */
int coll_pg_copy(struct coll_pg *pg, const char *sql,
		 const struct iovec *iov, size_t n, coll_pg_result_fn done,
		 void *arg);

/* The last libpq error message of the connection, without the newline,
 * in a buffer owned by <pg>. */
const char *coll_pg_error(struct coll_pg *pg);

/* The DSN without any password, for logs. */
const char *coll_pg_where(const struct coll_pg *pg);

/*
 * Closes the connection and frees <pg> once libuv has released its handles
 * (run the loop afterwards).  A query in flight is abandoned without its
 * callback.  Accepts NULL.
 */
void coll_pg_free(struct coll_pg *pg);

/* Classifies an error result: true when retrying the same statement can
 * never succeed (bad data, constraint violations, limits). */
bool coll_pg_error_is_permanent(const PGresult *res);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * Non-blocking libpq on a libuv loop.  States:
 *
 *   DOWN --timer--> CONNECTING --PQconnectPoll OK--> READY <--> BUSY
 *     ^                 |                             |          |
 *     +----- failure ---+------ socket error ---------+----------+
 *
 * The socket is watched with a uv_poll handle that is re-created whenever
 * libpq's socket changes (each connection attempt may open a new one).
 * Poll handles are heap-allocated because closing one in libuv completes
 * later, in a callback, after which it is freed.
 */
#include "pgconn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define COPY_CHUNK (64u << 10)

enum pg_state {
	PG_DOWN,        /* waiting for the reconnect timer */
	PG_CONNECTING,
	PG_READY,
	PG_BUSY,        /* a query in flight */
	PG_CLOSING,
};

struct pg_watch {
	uv_poll_t poll;
	struct coll_pg *pg;     /* NULL once detached */
	int fd;
};

struct coll_pg {
	uv_loop_t *loop;
	char *dsn;
	char where[256];
	PGconn *conn;
	enum pg_state state;
	struct pg_watch *watch;
	int events;             /* what <watch> is started for */
	uv_timer_t timer;
	unsigned int backoff_ms;
	bool flushing;          /* output not yet fully sent */
	PGresult *last;         /* last result of the query in flight */
	const struct iovec *copy_iov; /* COPY data, borrowed until done */
	size_t copy_n;
	size_t copy_i;          /* cursor: chunk and offset in it */
	size_t copy_off;
	bool copy_started;      /* the server entered COPY IN */
	bool copy_active;       /* data left to send */
	bool copy_end_pending;  /* PQputCopyEnd must be retried */
	coll_pg_result_fn done;
	void *done_arg;
	coll_pg_ready_fn ready;
	void *ready_arg;
	char errbuf[512];
	int open_handles;
	unsigned int generation; /* connections established so far */
	bool pipeline;          /* a coll_pg_pipeline() is in flight */
};

static void on_poll(uv_poll_t *h, int status, int events);
static void start_connect(struct coll_pg *pg);

static void on_watch_closed(uv_handle_t *h)
{
	free(h->data);
}

static void watch_drop(struct coll_pg *pg)
{
	struct pg_watch *w = pg->watch;

	if (w == NULL)
		return;
	pg->watch = NULL;
	w->pg = NULL;
	uv_poll_stop(&w->poll);
	uv_close((uv_handle_t *)&w->poll, on_watch_closed);
}

/* Watches libpq's current socket for <events>, re-creating the handle when
 * the descriptor changed. */
static int watch_set(struct coll_pg *pg, int events)
{
	int fd = PQsocket(pg->conn);
	struct pg_watch *w;
	int err;

	if (fd < 0)
		return -EBADF;
	if (pg->watch != NULL && pg->watch->fd != fd)
		watch_drop(pg);
	if (pg->watch == NULL) {
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return -ENOMEM;
		err = uv_poll_init_socket(pg->loop, &w->poll, fd);
		if (err < 0) {
			free(w);
			return err;
		}
		w->poll.data = w;
		w->pg = pg;
		w->fd = fd;
		pg->watch = w;
		pg->events = 0;
	}
	if (pg->events == events)
		return 0;
	pg->events = events;
	return uv_poll_start(&pg->watch->poll, events, on_poll);
}

static void copy_error(struct coll_pg *pg, const char *msg)
{
	size_t n;

	snprintf(pg->errbuf, sizeof(pg->errbuf), "%s",
		 msg != NULL && msg[0] != '\0' ? msg : "unknown libpq error");
	n = strlen(pg->errbuf);
	while (n > 0 && (pg->errbuf[n - 1] == '\n' || pg->errbuf[n - 1] == ' '))
		pg->errbuf[--n] = '\0';
	for (char *p = pg->errbuf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

static void on_timer(uv_timer_t *t)
{
	struct coll_pg *pg = t->data;

	if (pg->state == PG_DOWN)
		start_connect(pg);
}

/*
 * Drops the connection and schedules the next attempt.  A query in flight
 * is answered with a NULL result: its outcome is unknown to the caller.
 */
static void lose(struct coll_pg *pg, const char *why)
{
	coll_pg_result_fn done = pg->done;
	bool was_busy = pg->state == PG_BUSY;

	if (why == NULL && pg->conn != NULL)
		why = PQerrorMessage(pg->conn);
	copy_error(pg, why);
	px_warn("pgconn", "database connection lost", "db=%s err=%s retry_ms=%u",
		px_q(pg->where), px_q(pg->errbuf), pg->backoff_ms);
	watch_drop(pg);
	PQfinish(pg->conn);
	pg->conn = NULL;
	PQclear(pg->last);
	pg->last = NULL;
	pg->done = NULL;
	pg->copy_iov = NULL;
	pg->copy_started = false;
	pg->copy_active = false;
	pg->copy_end_pending = false;
	pg->flushing = false;
	pg->pipeline = false;
	pg->state = PG_DOWN;
	uv_timer_start(&pg->timer, on_timer, pg->backoff_ms, 0);
	pg->backoff_ms *= 2;
	if (pg->backoff_ms > BACKOFF_MAX_MS)
		pg->backoff_ms = BACKOFF_MAX_MS;
	if (was_busy && done != NULL)
		done(pg->done_arg, NULL);
}

static void notice_to_log(void *arg, const char *msg)
{
	(void)arg;
	px_debug("pgconn", "server notice", "text=%s", px_q(msg));
}

static void connect_step(struct coll_pg *pg)
{
	switch (PQconnectPoll(pg->conn)) {
	case PGRES_POLLING_READING:
		if (watch_set(pg, UV_READABLE) < 0)
			lose(pg, "cannot watch the database socket");
		return;
	case PGRES_POLLING_WRITING:
		if (watch_set(pg, UV_WRITABLE) < 0)
			lose(pg, "cannot watch the database socket");
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		lose(pg, NULL);
		return;
	}
	if (PQsetnonblocking(pg->conn, 1) != 0 ||
	    watch_set(pg, UV_READABLE) < 0) {
		lose(pg, NULL);
		return;
	}
	PQsetNoticeProcessor(pg->conn, notice_to_log, NULL);
	pg->state = PG_READY;
	pg->backoff_ms = BACKOFF_MIN_MS;
	pg->generation++;
	px_info("pgconn", "database connected", "db=%s server_version=%d",
		px_q(pg->where), PQserverVersion(pg->conn));
	if (pg->ready != NULL)
		pg->ready(pg->ready_arg);
}

static void start_connect(struct coll_pg *pg)
{
	pg->state = PG_CONNECTING;
	pg->conn = PQconnectStart(pg->dsn);
	if (pg->conn == NULL) {
		lose(pg, "out of memory");
		return;
	}
	if (PQstatus(pg->conn) == CONNECTION_BAD) {
		lose(pg, NULL);
		return;
	}
	/* The documented first step: behave as if POLLING_WRITING. */
	if (watch_set(pg, UV_WRITABLE) < 0)
		lose(pg, "cannot watch the database socket");
}

static void flush_output(struct coll_pg *pg);

/* Ends the COPY data; false when the connection broke. */
static bool copy_end(struct coll_pg *pg)
{
	int r = PQputCopyEnd(pg->conn, NULL);

	if (r < 0)
		return false;
	pg->copy_end_pending = r == 0;
	return true;
}

/*
 * Feeds COPY data in pieces of COPY_CHUNK as fast as the socket takes them:
 * libpq moves its unsent output to the front of its buffer after every
 * partial send, so handing it megabytes at once costs quadratic copying.
 * Stops (watching for WRITABLE) whenever output is pending; after the last
 * piece, ends the COPY.  -1 when the connection broke.  A refusal while the
 * connection is fine means the server ended the COPY with an error, which
 * arrives as the result: the rest of the data is dropped.
 */
static int copy_pump(struct coll_pg *pg)
{
	while (pg->copy_i < pg->copy_n) {
		const struct iovec *v = &pg->copy_iov[pg->copy_i];
		size_t n = v->iov_len - pg->copy_off;
		int r = PQflush(pg->conn);

		if (r < 0)
			return -1;
		if (r == 1) {
			pg->flushing = true;
			return watch_set(pg, UV_READABLE | UV_WRITABLE) < 0 ?
			       -1 : 0;
		}
		if (n > COPY_CHUNK)
			n = COPY_CHUNK;
		if (n > 0 && PQputCopyData(pg->conn,
					   (const char *)v->iov_base + pg->copy_off,
					   (int)n) != 1) {
			if (PQstatus(pg->conn) != CONNECTION_OK)
				return -1;
			pg->copy_active = false;
			return 0;
		}
		pg->copy_off += n;
		if (pg->copy_off == v->iov_len) {
			pg->copy_i++;
			pg->copy_off = 0;
		}
	}
	pg->copy_active = false;
	pg->copy_iov = NULL;
	if (!copy_end(pg))
		return -1;
	flush_output(pg);
	return pg->conn != NULL ? 0 : -1;
}

/* Reads whatever arrived; completes the query when its last result came. */
/* Leaves pipeline mode after its sync point, taking the NULL result that
 * libpq may still owe for it. */
static bool leave_pipeline(PGconn *conn)
{
	PGresult *res;

	if (PQexitPipelineMode(conn) != 0)
		return true;
	if (PQisBusy(conn))
		return false;
	res = PQgetResult(conn);
	if (res != NULL) {
		PQclear(res);
		return false;
	}
	return PQexitPipelineMode(conn) != 0;
}

static void read_results(struct coll_pg *pg)
{
	PGresult *res;

	if (PQconsumeInput(pg->conn) == 0) {
		lose(pg, NULL);
		return;
	}
	if (pg->state != PG_BUSY) {
		/* Idle: only a server-side close or a notice can arrive. */
		if (PQstatus(pg->conn) == CONNECTION_BAD)
			lose(pg, NULL);
		return;
	}
	while (!PQisBusy(pg->conn)) {
		res = PQgetResult(pg->conn);
		if (pg->pipeline) {
			/* NULL ends each statement's results; the sync point
			 * ends the pipeline. */
			if (res == NULL)
				continue;
			if (PQresultStatus(res) != PGRES_PIPELINE_SYNC)
				goto keep;
			PQclear(res);
			res = NULL;
			pg->pipeline = false;
			if (!leave_pipeline(pg->conn)) {
				lose(pg, "cannot leave pipeline mode");
				return;
			}
		}
		if (res == NULL) {
			coll_pg_result_fn done = pg->done;
			PGresult *last = pg->last;

			pg->last = NULL;
			pg->done = NULL;
			pg->state = PG_READY;
			if (last == NULL) {
				/* The connection must have failed. */
				copy_error(pg, PQerrorMessage(pg->conn));
				last = PQmakeEmptyPGresult(pg->conn,
							   PGRES_FATAL_ERROR);
			}
			done(pg->done_arg, last);
			PQclear(last);
			return;
		}
		if (PQresultStatus(res) == PGRES_COPY_IN) {
			PQclear(res);
			if (!pg->copy_started) {
				pg->copy_started = true;
				pg->copy_active = true;
				pg->copy_i = 0;
				pg->copy_off = 0;
			}
			if (pg->copy_active && copy_pump(pg) < 0) {
				lose(pg, NULL);
				return;
			}
			if (pg->conn == NULL || pg->copy_active ||
			    pg->copy_end_pending)
				return;
			continue;
		}
keep:
		/* Keep the first error, else the last result (statements a
		 * pipeline skipped after an error report only that). */
		if (pg->last != NULL &&
		    PQresultStatus(pg->last) == PGRES_FATAL_ERROR)
			PQclear(res);
		else {
			PQclear(pg->last);
			pg->last = res;
		}
	}
	if (PQstatus(pg->conn) == CONNECTION_BAD)
		lose(pg, NULL);
}

static void flush_output(struct coll_pg *pg)
{
	int r = PQflush(pg->conn);

	if (r < 0) {
		lose(pg, NULL);
		return;
	}
	pg->flushing = r == 1;
	/* While output is pending, read too: the server may be waiting for
	 * us to consume before it accepts more. */
	if (watch_set(pg, pg->flushing || pg->copy_end_pending ?
			  UV_READABLE | UV_WRITABLE :
					 UV_READABLE) < 0)
		lose(pg, "cannot watch the database socket");
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct pg_watch *w = h->data;
	struct coll_pg *pg = w->pg;

	if (pg == NULL)
		return;
	if (status < 0) {
		lose(pg, uv_strerror(status));
		return;
	}
	if (pg->state == PG_CONNECTING) {
		connect_step(pg);
		return;
	}
	if ((events & UV_WRITABLE) && pg->copy_active) {
		if (copy_pump(pg) < 0)
			lose(pg, NULL);
		if (pg->conn == NULL || pg->copy_active)
			return;
	}
	if ((events & UV_WRITABLE) && pg->copy_end_pending &&
	    !copy_end(pg)) {
		lose(pg, NULL);
		return;
	}
	if ((events & UV_WRITABLE) && (pg->flushing || pg->copy_end_pending)) {
		flush_output(pg);
		if (pg->conn == NULL)
			return;
	}
	if (events & UV_READABLE)
		read_results(pg);
}

struct coll_pg *coll_pg_new(uv_loop_t *loop, const char *dsn,
			    coll_pg_ready_fn ready, void *arg)
{
	struct coll_pg *pg = calloc(1, sizeof(*pg));
	PQconninfoOption *opts;
	size_t n = 0;

	if (pg == NULL)
		return NULL;
	pg->dsn = strdup(dsn);
	if (pg->dsn == NULL) {
		free(pg);
		return NULL;
	}
	pg->loop = loop;
	pg->ready = ready;
	pg->ready_arg = arg;
	pg->backoff_ms = BACKOFF_MIN_MS;
	pg->where[0] = '\0';
	opts = PQconninfoParse(dsn, NULL);
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0' ||
		    (strcmp(o->keyword, "host") != 0 &&
		     strcmp(o->keyword, "hostaddr") != 0 &&
		     strcmp(o->keyword, "port") != 0 &&
		     strcmp(o->keyword, "dbname") != 0 &&
		     strcmp(o->keyword, "user") != 0))
			continue;
		n += snprintf(pg->where + n, sizeof(pg->where) - n, "%s%s=%s",
			      n > 0 ? " " : "", o->keyword, o->val);
		if (n >= sizeof(pg->where))
			break;
	}
	PQconninfoFree(opts);
	if (pg->where[0] == '\0')
		snprintf(pg->where, sizeof(pg->where), "(libpq defaults)");

	uv_timer_init(loop, &pg->timer);
	pg->timer.data = pg;
	pg->open_handles = 1;
	start_connect(pg);
	return pg;
}

bool coll_pg_ready(const struct coll_pg *pg)
{
	return pg->state == PG_READY;
}

static int send_query(struct coll_pg *pg, const char *sql, int nparams,
		      const Oid *types, const char *const *params,
		      coll_pg_result_fn done, void *arg)
{
	if (pg->state != PG_READY)
		return -EBUSY;
	if (PQsendQueryParams(pg->conn, sql, nparams, types, params, NULL,
			      NULL, 0) == 0) {
		pg->state = PG_BUSY;
		lose(pg, NULL);
		return -ECONNRESET;
	}
	pg->state = PG_BUSY;
	pg->done = done;
	pg->done_arg = arg;
	flush_output(pg);
	return 0;
}

/* The common tail of every send: the PQsend* calls returned <ok>. */
static int sent(struct coll_pg *pg, int ok, coll_pg_result_fn done, void *arg)
{
	if (ok == 0) {
		pg->state = PG_BUSY;
		lose(pg, NULL);
		return -ECONNRESET;
	}
	pg->state = PG_BUSY;
	pg->done = done;
	pg->done_arg = arg;
	flush_output(pg);
	return 0;
}

int coll_pg_prepare(struct coll_pg *pg, const char *name, const char *sql,
		    coll_pg_result_fn done, void *arg)
{
	if (pg->state != PG_READY)
		return -EBUSY;
	return sent(pg, PQsendPrepare(pg->conn, name, sql, 0, NULL), done,
		    arg);
}

int coll_pg_query_prepared(struct coll_pg *pg, const char *name, int nparams,
			   const char *const *params, coll_pg_result_fn done,
			   void *arg)
{
	if (pg->state != PG_READY)
		return -EBUSY;
	return sent(pg, PQsendQueryPrepared(pg->conn, name, nparams, params,
					    NULL, NULL, 0), done, arg);
}

int coll_pg_pipeline(struct coll_pg *pg, const struct coll_pg_stmt *st,
		     size_t n, coll_pg_result_fn done, void *arg)
{
	int ok;

	if (pg->state != PG_READY)
		return -EBUSY;
	ok = PQenterPipelineMode(pg->conn);
	for (size_t i = 0; ok && i < n; i++) {
		if (st[i].name != NULL)
			ok = PQsendQueryPrepared(pg->conn, st[i].name,
						 st[i].nparams, st[i].params,
						 NULL, NULL, 0);
		else
			ok = PQsendQueryParams(pg->conn, st[i].sql,
					       st[i].nparams, NULL,
					       st[i].params, NULL, NULL, 0);
	}
	if (ok)
		ok = PQpipelineSync(pg->conn);
	pg->pipeline = ok != 0;
	return sent(pg, ok, done, arg);
}

unsigned int coll_pg_generation(const struct coll_pg *pg)
{
	return pg->generation;
}

int coll_pg_query(struct coll_pg *pg, const char *sql, int nparams,
		  const char *const *params, coll_pg_result_fn done, void *arg)
{
	return send_query(pg, sql, nparams, NULL, params, done, arg);
}

int coll_pg_query_text(struct coll_pg *pg, const char *sql, int nparams,
		       const char *const *params, coll_pg_result_fn done,
		       void *arg)
{
	Oid types[COLL_PG_MAX_TEXT_PARAMS];

	if (nparams > COLL_PG_MAX_TEXT_PARAMS)
		return -E2BIG;
	for (int i = 0; i < nparams; i++)
		types[i] = 25;  /* pg_type.oid of text */
	return send_query(pg, sql, nparams, types, params, done, arg);
}

int coll_pg_copy(struct coll_pg *pg, const char *sql,
		 const struct iovec *iov, size_t n, coll_pg_result_fn done,
		 void *arg)
{
	if (pg->state != PG_READY)
		return -EBUSY;
	if (PQsendQuery(pg->conn, sql) == 0) {
		pg->state = PG_BUSY;
		lose(pg, NULL);
		return -ECONNRESET;
	}
	pg->state = PG_BUSY;
	pg->done = done;
	pg->done_arg = arg;
	pg->copy_iov = iov;
	pg->copy_n = n;
	pg->copy_started = false;
	pg->copy_active = false;
	flush_output(pg);
	return 0;
}

const char *coll_pg_error(struct coll_pg *pg)
{
	if (pg->conn != NULL && PQerrorMessage(pg->conn)[0] != '\0')
		copy_error(pg, PQerrorMessage(pg->conn));
	return pg->errbuf;
}

const char *coll_pg_where(const struct coll_pg *pg)
{
	return pg->where;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct coll_pg *pg = h->data;

	free(pg->dsn);
	free(pg);
}

void coll_pg_free(struct coll_pg *pg)
{
	if (pg == NULL)
		return;
	pg->state = PG_CLOSING;
	pg->done = NULL;
	watch_drop(pg);
	PQclear(pg->last);
	pg->last = NULL;
	PQfinish(pg->conn);
	pg->conn = NULL;
	uv_timer_stop(&pg->timer);
	uv_close((uv_handle_t *)&pg->timer, on_timer_closed);
}

bool coll_pg_error_is_permanent(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (state == NULL || strlen(state) != 5)
		return false;
	/* 22: data exception (bad encoding, out of range); 23: integrity
	 * constraint violation; 54: program limit exceeded (index row too
	 * large).  Everything else (connection, resources, locks, the
	 * server shutting down) may pass on a retry. */
	return strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
	       strncmp(state, "54", 2) == 0;
}

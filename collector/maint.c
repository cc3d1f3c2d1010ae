// SPDX-License-Identifier: Apache-2.0
/*
 * Storage upkeep (see maint.h): one statement per run, on its own
 * non-blocking connection; a failed run is logged and counted, and the
 * next one comes at the usual interval.
 */
#include "maint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgconn.h"

#define DEFAULT_INTERVAL_MS (3600u * 1000u)

struct coll_maint {
	struct coll_pg *pg;
	uv_timer_t timer;
	int retention_days;
	int ahead_days;
	uint64_t interval_ms;
	bool due;                    /* a run is wanted when ready */
	bool busy;
	struct coll_maint_stats st;
};

static void on_done(void *arg, PGresult *res)
{
	struct coll_maint *m = arg;

	m->busy = false;
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1) {
		m->st.runs++;
		snprintf(m->st.last, sizeof(m->st.last), "%s",
			 PQgetvalue(res, 0, 0));
		px_info("maint", "events partitions maintained", "result=%s "
			"retention_days=%d", px_q(m->st.last), m->retention_days);
		return;
	}
	m->st.errors++;
	px_error("maint", "events partition maintenance failed", "err=%s",
		 px_q(res != NULL ? PQresultErrorMessage(res) :
		      "connection lost"));
}

static void run(struct coll_maint *m)
{
	char ret[16], ahead[16];
	const char *params[2] = { ret, ahead };

	if (!m->due || m->busy || !coll_pg_ready(m->pg))
		return;
	snprintf(ret, sizeof(ret), "%d", m->retention_days);
	snprintf(ahead, sizeof(ahead), "%d", m->ahead_days);
	if (coll_pg_query(m->pg, "SELECT px_events_maintain($1::int, $2::int)",
			  2, params, on_done, m) == 0) {
		m->due = false;
		m->busy = true;
	}
}

static void on_timer(uv_timer_t *t)
{
	struct coll_maint *m = t->data;

	m->due = true;
	run(m);
}

static void on_ready(void *arg)
{
	run(arg);
}

struct coll_maint *coll_maint_new(const struct coll_maint_config *cfg)
{
	struct coll_maint *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->retention_days = cfg->retention_days;
	m->ahead_days = cfg->ahead_days;
	m->interval_ms = cfg->interval_ms ? cfg->interval_ms :
			 DEFAULT_INTERVAL_MS;
	m->due = true;
	uv_timer_init(cfg->loop, &m->timer);
	m->timer.data = m;
	m->pg = coll_pg_new(cfg->loop, cfg->dsn, on_ready, m);
	if (m->pg == NULL) {
		coll_maint_free(m);
		return NULL;
	}
	uv_timer_start(&m->timer, on_timer, m->interval_ms, m->interval_ms);
	return m;
}

void coll_maint_get_stats(const struct coll_maint *m,
			  struct coll_maint_stats *st)
{
	*st = m->st;
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void coll_maint_free(struct coll_maint *m)
{
	if (m == NULL)
		return;
	coll_pg_free(m->pg);
	uv_timer_stop(&m->timer);
	uv_close((uv_handle_t *)&m->timer, on_closed);
}

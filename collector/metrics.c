// SPDX-License-Identifier: Apache-2.0
/*
 * Prometheus metrics (see metrics.h).  Sources are kept in a list, one
 * entry per (host_id, source_id) seen since start; a fleet has thousands,
 * which a linear scan per acked batch still serves (a batch carries
 * hundreds of events).
 * XXX: sources are never forgotten while the collector runs.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define RATE_TICK_MS 1000

struct src_entry {
	struct src_entry *next;
	char *host_id;
	char *source_id;
	uint64_t last_seq;
	uint64_t batches;
	uint64_t events;
	uint64_t last_seen_ns;    /* wall clock of the last ack */
	int64_t lag_ns;           /* ack time minus the source's send time */
};

struct coll_metrics {
	uv_timer_t tick;
	struct coll_sink *sink;
	struct px_server *srv;
	struct src_entry *sources;
	uint64_t last_rows;
	double rate;              /* events committed per second */
	uint64_t commit_batches;
	uint64_t wait_ns_total;
};

static void on_tick(uv_timer_t *t)
{
	struct coll_metrics *m = t->data;
	struct coll_sink_stats st;

	coll_sink_get_stats(m->sink, &st);
	m->rate = (double)(st.rows_committed - m->last_rows) * 1000.0 /
		  RATE_TICK_MS;
	m->last_rows = st.rows_committed;
}

struct coll_metrics *coll_metrics_new(uv_loop_t *loop, struct coll_sink *sink)
{
	struct coll_metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->sink = sink;
	uv_timer_init(loop, &m->tick);
	m->tick.data = m;
	uv_timer_start(&m->tick, on_tick, RATE_TICK_MS, RATE_TICK_MS);
	return m;
}

void coll_metrics_set_server(struct coll_metrics *m, struct px_server *srv)
{
	m->srv = srv;
}

static struct src_entry *source(struct coll_metrics *m, const char *host,
				const char *src)
{
	struct src_entry *e;

	for (e = m->sources; e != NULL; e = e->next)
		if (strcmp(e->host_id, host) == 0 &&
		    strcmp(e->source_id, src) == 0)
			return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->host_id = strdup(host);
	e->source_id = strdup(src);
	if (e->host_id == NULL || e->source_id == NULL) {
		free(e->host_id);
		free(e->source_id);
		free(e);
		return NULL;
	}
	e->next = m->sources;
	m->sources = e;
	return e;
}

void coll_metrics_on_commit(struct coll_metrics *m,
			    const struct coll_commit_info *ci)
{
	struct src_entry *e = source(m, ci->host_id, ci->source_id);
	uint64_t now = px_now_ns();

	m->commit_batches++;
	m->wait_ns_total += ci->wait_ns;
	if (e == NULL)
		return;
	if (ci->seq > e->last_seq)
		e->last_seq = ci->seq;
	e->batches++;
	e->events += ci->rows;
	e->last_seen_ns = now;
	if (ci->sent_ns != 0)
		e->lag_ns = (int64_t)(now - ci->sent_ns);
}

/* A label value with \, " and newline escaped. */
static void label(struct coll_buf *b, const char *name, const char *v,
		  bool last)
{
	coll_buf_printf(b, "%s=\"", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			coll_buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			coll_buf_puts(b, "\\n");
		else
			coll_buf_putn(b, v, 1);
	}
	coll_buf_puts(b, last ? "\"}" : "\",");
}

static void metric(struct coll_buf *b, const char *name, const char *type,
		   const char *help)
{
	coll_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			type);
}

static void render_sources(struct coll_metrics *m, struct coll_buf *b)
{
	static const char *const names[] = {
		"parallax_source_last_seen_seconds",
		"parallax_source_lag_seconds",
		"parallax_source_last_seq",
		"parallax_source_events_total",
	};
	static const char *const help[] = {
		"Unix time of the source's last acked batch",
		"Ack time minus send time of the source's last batch",
		"Highest sequence number acked for the source",
		"Events committed from the source",
	};

	for (int k = 0; k < 4; k++) {
		metric(b, names[k], k == 3 ? "counter" : "gauge", help[k]);
		for (struct src_entry *e = m->sources; e; e = e->next) {
			coll_buf_printf(b, "%s{", names[k]);
			label(b, "host", e->host_id, false);
			label(b, "source", e->source_id, true);
			if (k == 0)
				coll_buf_printf(b, " %.3f\n",
						e->last_seen_ns / 1e9);
			else if (k == 1)
				coll_buf_printf(b, " %.3f\n", e->lag_ns / 1e9);
			else
				coll_buf_printf(b, " %" PRIu64 "\n",
						k == 2 ? e->last_seq : e->events);
		}
	}
}

void coll_metrics_render(struct coll_metrics *m, struct coll_buf *b)
{
	struct px_server_stats ss = { 0 };
	struct coll_sink_stats st;

	coll_sink_get_stats(m->sink, &st);
	if (m->srv != NULL)
		px_server_get_stats(m->srv, &ss);
	metric(b, "parallax_ingest_events_total", "counter",
	       "Events committed to PostgreSQL");
	coll_buf_printf(b, "parallax_ingest_events_total %" PRIu64 "\n",
			st.rows_committed);
	metric(b, "parallax_ingest_events_per_second", "gauge",
	       "Events committed during the last second");
	coll_buf_printf(b, "parallax_ingest_events_per_second %.0f\n", m->rate);
	metric(b, "parallax_ingest_batches_total", "counter",
	       "Batches acked, by outcome");
	coll_buf_printf(b, "parallax_ingest_batches_total{status=\"committed\"} %"
			PRIu64 "\n", st.committed);
	coll_buf_printf(b, "parallax_ingest_batches_total{status=\"duplicate\"} %"
			PRIu64 "\n", st.duplicates);
	coll_buf_printf(b, "parallax_ingest_batches_total{status=\"rejected\"} %"
			PRIu64 "\n", st.rejected);
	metric(b, "parallax_ingest_refused_total", "counter",
	       "Batches refused unacked (queue full or out of memory), their stream ended");
	coll_buf_printf(b, "parallax_ingest_refused_total %" PRIu64 "\n",
			st.refused);
	metric(b, "parallax_ingest_queue_batches", "gauge",
	       "Batches received and not yet acked");
	coll_buf_printf(b, "parallax_ingest_queue_batches %zu\n", st.queued);
	metric(b, "parallax_ingest_commit_seconds", "summary",
	       "BEGIN to COMMIT of the events transaction of a group");
	coll_buf_printf(b, "parallax_ingest_commit_seconds_sum %.6f\n",
			st.commit_ns_total / 1e9);
	coll_buf_printf(b, "parallax_ingest_commit_seconds_count %" PRIu64 "\n",
			st.groups);
	metric(b, "parallax_ingest_commit_last_seconds", "gauge",
	       "Duration of the last events transaction");
	coll_buf_printf(b, "parallax_ingest_commit_last_seconds %.6f\n",
			st.commit_ns_last / 1e9);
	metric(b, "parallax_ingest_wait_seconds", "summary",
	       "Receipt to commit of a batch");
	coll_buf_printf(b, "parallax_ingest_wait_seconds_sum %.6f\n",
			m->wait_ns_total / 1e9);
	coll_buf_printf(b, "parallax_ingest_wait_seconds_count %" PRIu64 "\n",
			m->commit_batches);
	metric(b, "parallax_db_errors_total", "counter",
	       "Failed statements and lost database connections");
	coll_buf_printf(b, "parallax_db_errors_total %" PRIu64 "\n",
			st.db_errors);
	metric(b, "parallax_ingest_retries_total", "counter",
	       "Transactions run again after an error");
	coll_buf_printf(b, "parallax_ingest_retries_total %" PRIu64 "\n",
			st.retries);
	metric(b, "parallax_ingest_pauses_total", "counter",
	       "Times intake paused at the high-water mark");
	coll_buf_printf(b, "parallax_ingest_pauses_total %" PRIu64 "\n",
			st.pauses);
	metric(b, "parallax_grpc_streams_open", "gauge", "Open source streams");
	coll_buf_printf(b, "parallax_grpc_streams_open %" PRIu64 "\n",
			ss.streams_open);
	metric(b, "parallax_grpc_bad_messages_total", "counter",
	       "Messages refused as undecodable, invalid or oversized");
	coll_buf_printf(b, "parallax_grpc_bad_messages_total %" PRIu64 "\n",
			ss.bad_messages);
	metric(b, "parallax_grpc_bytes_total", "counter",
	       "Batch bytes received");
	coll_buf_printf(b, "parallax_grpc_bytes_total %" PRIu64 "\n",
			ss.bytes_in);
	render_sources(m, b);
}

static void on_closed(uv_handle_t *h)
{
	struct coll_metrics *m = h->data;
	struct src_entry *e, *next;

	for (e = m->sources; e != NULL; e = next) {
		next = e->next;
		free(e->host_id);
		free(e->source_id);
		free(e);
	}
	free(m);
}

void coll_metrics_free(struct coll_metrics *m)
{
	if (m == NULL)
		return;
	uv_timer_stop(&m->tick);
	uv_close((uv_handle_t *)&m->tick, on_closed);
}

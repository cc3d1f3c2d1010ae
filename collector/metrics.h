/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collector's Prometheus metrics: counters from the ingest sink and the
 * gRPC server, an ingest rate sampled every second, and per-source lag and
 * last-seen time fed by every acked batch.  Rendered as the Prometheus text
 * exposition format (version 0.0.4).  Loop thread only.
 */
#ifndef COLL_METRICS_H
#define COLL_METRICS_H

#include <stdint.h>

#include <uv.h>

#include "ingest.h"
#include "sqlbuf.h"
#include "transport.h"

struct coll_metrics;

/* <sink> and <server> are read at render time; <server> may be NULL. */
struct coll_metrics *coll_metrics_new(uv_loop_t *loop, struct coll_sink *sink);
void coll_metrics_set_server(struct coll_metrics *m, struct px_server *srv);

/* Records one acked batch (an ingest on_commit callback). */
void coll_metrics_on_commit(struct coll_metrics *m,
			    const struct coll_commit_info *ci);

/* Appends the exposition text to <out>. */
void coll_metrics_render(struct coll_metrics *m, struct coll_buf *out);

/* Frees <m> once libuv has closed its timer.  Accepts NULL. */
void coll_metrics_free(struct coll_metrics *m);

#endif

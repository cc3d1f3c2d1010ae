/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collector's read-only HTTP side, served by libh2o on the collector's
 * own libuv loop:
 *
 *   GET /healthz             200 "ok" while the database is reachable,
 *                            else 503
 *   GET /metrics             Prometheus text (metrics.c)
 *   GET /api/v1/<query>      the JSON of a query of queries.c; parameters
 *                            as ?host=&exec=&sha256=&package=&since=&until=
 *                            &limit=&cve=; 400 when one it needs is missing,
 *                            404 for an unknown query, 503 without database
 *
 * Queries run one at a time on a connection of their own.
 */
#ifndef COLL_HTTP_H
#define COLL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "metrics.h"

struct coll_http;

struct coll_http_config {
	uv_loop_t *loop;
	const char *listen;          /* "127.0.0.1:8080"; port 0 picks one */
	const char *dsn;             /* copied */
	struct coll_metrics *metrics;
};

/* Binds and serves.  NULL with the reason in <err>. */
struct coll_http *coll_http_start(const struct coll_http_config *cfg,
				  char *err, size_t errlen);
int coll_http_port(const struct coll_http *h);
/* Stops listening; open connections are dropped.  Run the loop after.
 * Accepts NULL. */
void coll_http_stop(struct coll_http *h);

#endif

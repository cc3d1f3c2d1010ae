/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Storage upkeep on the collector's loop: at start and then periodically,
 * px_events_maintain() (migration 002) creates the events partitions of the
 * coming days and drops those older than the retention, over a connection
 * of its own so that ingest never waits for it.
 */
#ifndef COLL_MAINT_H
#define COLL_MAINT_H

#include <stdint.h>

#include <uv.h>

struct coll_maint;

struct coll_maint_config {
	uv_loop_t *loop;
	const char *dsn;             /* copied */
	int retention_days;          /* 0: keep every partition */
	int ahead_days;              /* partitions created ahead of today */
	uint64_t interval_ms;        /* between runs; 0: one hour */
};

struct coll_maint_stats {
	uint64_t runs;               /* completed without error */
	uint64_t errors;
	char last[64];               /* "created=N dropped=M" */
};

/* Starts the first run as soon as the database is reachable.  NULL only
 * when out of memory. */
struct coll_maint *coll_maint_new(const struct coll_maint_config *cfg);
void coll_maint_get_stats(const struct coll_maint *m,
			  struct coll_maint_stats *st);
/* Frees <m> once libuv has closed its handles (run the loop after). */
void coll_maint_free(struct coll_maint *m);

#endif

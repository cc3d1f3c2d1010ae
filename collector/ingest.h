/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ingest sink: turns decoded batches into PostgreSQL transactions, in
 * arrival order, and reports each outcome through an ack callback only once
 * it is certain (committed, duplicate, or rejected for good).
 *
 * Each batch is one transaction: BEGIN; advance the source's high-water
 * mark (no row advanced: duplicate, roll back); write hosts, processes,
 * loaded artifacts, findings, events and the correlations they imply; COMMIT.
 * A database error that a retry may cure (connection lost, server restart,
 * lock timeout) keeps the batch at the head of the queue and retries it with
 * backoff; an error no retry can cure (bad data, a violated constraint)
 * rejects the batch with the server's message.
 */
#ifndef COLL_INGEST_H
#define COLL_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "parallax.pb-c.h"

struct coll_sink;

/* The outcome of one batch.  <detail> is NULL or a reason, borrowed for the
 * call.  Runs on the loop thread, possibly from inside coll_sink_submit()
 * when the batch is invalid. */
typedef void (*coll_ack_fn)(void *ctx, Parallax__V1__AckStatus status,
			    const char *detail);

struct coll_sink_config {
	uv_loop_t *loop;
	const char *dsn;           /* copied */
	size_t high_water;         /* queued batches that trigger pressure;
				    * 0: 256 */
	/* Called with true when the queue reaches high_water and with false
	 * when it falls back to half of it.  May be NULL. */
	void (*on_pressure)(void *arg, bool high);
	void *arg;
};

struct coll_sink_stats {
	uint64_t committed;
	uint64_t duplicates;
	uint64_t rejected;
	uint64_t retries;          /* transactions re-run after an error */
	size_t queued;             /* submitted, not yet acked */
};

/* Starts connecting to the database; NULL only when out of memory. */
struct coll_sink *coll_sink_new(const struct coll_sink_config *cfg);

/*
 * Queues <batch> (borrowed until <ack> runs).  <source_id> replaces
 * batch->source->source_id when not NULL (the mTLS identity); <peer> is
 * recorded with the source (may be NULL).  An invalid batch is acked
 * REJECTED at once.  Returns 0 or -ENOMEM (nothing queued, no ack).
 */
int coll_sink_submit(struct coll_sink *s, const Parallax__V1__Batch *batch,
		     const char *source_id, const char *peer, coll_ack_fn ack,
		     void *ctx);

void coll_sink_get_stats(const struct coll_sink *s,
			 struct coll_sink_stats *st);

/* Closes the connection and frees the sink; batches still queued are
 * dropped without their ack (their sources resend them).  Run the loop
 * afterwards so libuv can release the handles.  Accepts NULL. */
void coll_sink_free(struct coll_sink *s);

#endif

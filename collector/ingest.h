/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ingest sink: turns decoded batches into PostgreSQL transactions, in
 * arrival order, and reports each outcome through an ack callback only once
 * it is certain (committed, duplicate, or rejected for good).
 *
 * Batches are grouped (by rows or milliseconds, whichever comes first); a
 * group runs through a state transaction (hosts, processes, loaded
 * artifacts, findings and the correlations they imply, as upserts) on one
 * connection and an events transaction (the sources' high-water marks and a
 * COPY of the events of every batch that is not a duplicate) on another.
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

/* One acked batch (committed or duplicate), for metrics; borrowed. */
struct coll_commit_info {
	const char *host_id;
	const char *source_id;
	uint64_t seq;
	uint64_t sent_ns;          /* the source's wall clock at send */
	uint64_t rows;             /* events written (0 for a duplicate) */
	uint64_t wait_ns;          /* submit to commit */
	bool duplicate;
};

struct coll_sink_config {
	uv_loop_t *loop;
	const char *dsn;           /* copied */
	size_t high_water;         /* queued batches that trigger pressure;
				    * 0: 256 */
	size_t flush_rows;         /* events that close a group; 0: 10000 */
	unsigned int flush_ms;     /* age that closes a group; 0: 20 */
	size_t group_batches;      /* batches that close a group; 0: 1024 */
	size_t max_queued;         /* batches queued past which submit
				    * refuses more (-ENOBUFS); 0: no bound
				    * but memory */
	/* Called with true when the queue reaches high_water and with false
	 * when it falls back to half of it.  May be NULL. */
	void (*on_pressure)(void *arg, bool high);
	/* Called on the loop for every batch acked after a commit.  May be
	 * NULL. */
	void (*on_commit)(void *arg, const struct coll_commit_info *ci);
	void *arg;
};

struct coll_sink_stats {
	uint64_t committed;
	uint64_t duplicates;
	uint64_t rejected;
	uint64_t retries;          /* transactions re-run after an error */
	uint64_t db_errors;        /* failed statements and lost connections */
	uint64_t rows_committed;   /* events */
	uint64_t groups;           /* events transactions committed */
	uint64_t commit_ns_last;   /* BEGIN to COMMIT of the last group */
	uint64_t commit_ns_total;
	uint64_t pauses;           /* times the high-water mark was reached */
	uint64_t refused;          /* submits refused: queue full, or out of
				    * memory */
	size_t queued;             /* submitted, not yet acked */
};

/* Starts connecting to the database; NULL only when out of memory. */
struct coll_sink *coll_sink_new(const struct coll_sink_config *cfg);

/*
 * Queues <batch> (borrowed until <ack> runs).  <source_id> replaces
 * batch->source->source_id when not NULL (the mTLS identity); <peer> is
 * recorded with the source (may be NULL).  <batch> must have passed
 * px_batch_invalid(), as every batch the transport hands over has (it
 * refuses the others with INVALID_ARGUMENT on the gRPC thread), so the loop
 * does not walk its strings a second time.  Returns 0, or -ENOBUFS when max_queued batches are
 * already queued, or -ENOMEM; on either error nothing is queued and <ack>
 * never runs: the caller must refuse the batch, and every later batch of
 * its source until the source replays it, or a later seq would commit and
 * raise the source's mark past the refused one.
 */
int coll_sink_submit(struct coll_sink *s, const Parallax__V1__Batch *batch,
		     const char *source_id, const char *peer, coll_ack_fn ack,
		     void *ctx);

/*
 * Builds, without a database, everything coll_sink_submit() would queue
 * for <batch>: the state statements and the COPY rows of its events, and
 * reports their sizes.  For the fuzzer and benchmarks.  0, -EINVAL for an
 * invalid batch, -ENOMEM.
 */
int coll_batch_render(const Parallax__V1__Batch *batch, const char *source_id,
		      size_t *rows, size_t *stmts, size_t *copy_bytes);

void coll_sink_get_stats(const struct coll_sink *s,
			 struct coll_sink_stats *st);

/* Closes the connection and frees the sink; batches still queued are
 * dropped without their ack (their sources resend them).  Run the loop
 * afterwards so libuv can release the handles.  Accepts NULL. */
void coll_sink_free(struct coll_sink *s);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Digests of large artifacts, computed a chunk at a time on the agent's
 * loop.  Reading a file of hundreds of megabytes in one go would stall the
 * loop for that long, and with it the ring buffer, which then overflows.
 * Instead a job holds the open file and a running sha256; each step reads
 * a few chunks, each taken from the I/O budget, and returns to the loop.
 * The ArtifactLoaded events that wait for a digest are held by its job and
 * sent, digest filled in, when it completes (or with the error when the
 * file could not be read to its end).
 */
#ifndef AGENT_HASHJOB_H
#define AGENT_HASHJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "emit.h"
#include "hashcache.h"

/* Files up to this size are digested at once (a few ms); larger ones go
 * to a job. */
#define AGENT_HASH_INLINE_BYTES (4u << 20)
/* One read of a job, and what one step may read at most. */
#define AGENT_HASH_CHUNK_BYTES (1u << 20)
#define AGENT_HASH_STEP_BYTES (4u << 20)
/* Jobs at once; past it artifacts are deferred to a later pass. */
#define AGENT_HASH_MAX_JOBS 16

struct agent_hashjobs;

/* NULL when out of memory. */
struct agent_hashjobs *agent_hashjobs_new(void);

/* Frees the jobs, their files and the events still waiting.  Accepts
 * NULL. */
void agent_hashjobs_free(struct agent_hashjobs *q);

/* True when a job for <key> runs or a new one may start. */
bool agent_hashjobs_has_room(const struct agent_hashjobs *q,
			     const struct agent_hash_key *key);

/*
 * Makes the ArtifactLoaded event <ev> wait for the digest of <key>: joins
 * the job for <key>, or starts one that reads <fd>.  On success <ev> is
 * taken, and <fd> too when a job started with it (else the caller closes
 * it; -1 asks only to join).  On failure both stay the caller's: -ENOENT
 * when no job runs and <fd> is -1, -ENOSPC when no job may start, -ENOMEM.
 */
int agent_hashjobs_add(struct agent_hashjobs *q,
		       const struct agent_hash_key *key, int fd,
		       Parallax__V1__Event *ev);

/* Counts a step adds to. */
struct agent_hashjobs_result {
	uint64_t bytes;		/* read by this step */
	uint64_t completed;	/* jobs finished with a digest */
	uint64_t failed;	/* jobs whose file could not be read */
};

/*
 * Reads up to AGENT_HASH_STEP_BYTES, oldest job first, a chunk at a time
 * while <io> grants it at <now_ns>.  A finished digest is stored in <hc>
 * and its events go to <emit>.  Adds to <res>.
 */
void agent_hashjobs_step(struct agent_hashjobs *q, struct agent_hashcache *hc,
			 struct agent_budget *io, struct agent_emit *emit,
			 uint64_t now_ns, struct agent_hashjobs_result *res);

/* Jobs running now. */
size_t agent_hashjobs_count(const struct agent_hashjobs *q);

#endif

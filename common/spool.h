/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded on-disk FIFO of opaque records, for a source whose collector is
 * away: the agent appends the packed batches it cannot hand to the client,
 * and replays them oldest first once the client takes batches again.
 *
 * Each record is one file "<seq as 16 hex digits>.rec" in the spool
 * directory, written under a temporary name and renamed into place, so a
 * crash leaves whole records only.  Records left by an earlier run are kept
 * and come first.  When an append would pass the byte bound, the oldest
 * records are deleted and counted as dropped.  Not thread-safe: one owner.
 */
#ifndef PX_SPOOL_H
#define PX_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct px_spool;

struct px_spool_stats {
	uint64_t records;	/* held now */
	uint64_t bytes;		/* held now (record payloads) */
	uint64_t appended;	/* since open */
	uint64_t dropped;	/* records deleted: past the bound, unreadable
				 * or empty */
	uint64_t dropped_bytes;
	uint64_t popped;	/* records taken out by px_spool_pop */
};

/*
 * Opens the spool in <dir> (created with its parents, mode 0700, when
 * missing) holding at most <max_bytes> of records.  NULL with the reason
 * in <err> when the directory cannot be created or read.
 */
struct px_spool *px_spool_open(const char *dir, uint64_t max_bytes,
			       char *err, size_t errlen);

/* Closes the spool; its records stay on disk.  Accepts NULL. */
void px_spool_close(struct px_spool *sp);

/*
 * Appends a record of <len> bytes.  Returns how many old records were
 * dropped to make room (0 or more), -EMSGSIZE when the record alone is
 * larger than the bound, or -errno when it could not be written (the spool
 * is then unchanged).
 */
int px_spool_append(struct px_spool *sp, const void *data, size_t len);

/*
 * The oldest record, read into a malloc'd buffer that the caller frees.
 * 0, -ENOENT when the spool is empty, or -errno (a record that cannot be
 * read is dropped, counted, and the error returned).
 */
int px_spool_peek(struct px_spool *sp, void **data, size_t *len);

/* Deletes the oldest record; 0 or -ENOENT when empty. */
int px_spool_pop(struct px_spool *sp);

bool px_spool_empty(const struct px_spool *sp);

void px_spool_get_stats(const struct px_spool *sp, struct px_spool_stats *st);

#endif

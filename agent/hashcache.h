/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact digests, computed once per file version.  A file is identified
 * by (dev, inode, size, mtime): the same jar open in fifty JVMs is read
 * once, and a jar rewritten in place (new size or mtime) is read again.
 */
#ifndef AGENT_HASHCACHE_H
#define AGENT_HASHCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

struct agent_hash_key {
	uint64_t dev;		/* st_dev encoding (makedev) */
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
};

struct agent_hashcache_stats {
	uint64_t hits;
	uint64_t computed;	/* files read and digested */
	uint64_t errors;	/* files that could not be read */
	uint64_t evicted;
	uint64_t entries;
};

struct agent_hashcache;

/* A cache of at most <max_entries> digests (oldest evicted first) that
 * reads at most <max_bytes> of a file (0: no limit).  NULL when out of
 * memory. */
struct agent_hashcache *agent_hashcache_new(size_t max_entries,
					    uint64_t max_bytes);
void agent_hashcache_free(struct agent_hashcache *hc);

/*
 * The sha256 of the file version <key>, into <hex>.  On a miss the file is
 * opened as <path> resolved inside the directory <root> (a process's
 * /proc/<pid>/root: absolute symlinks stay inside that root), and must have
 * the key's inode and size; when it does not (replaced, or a layered file
 * system that numbers inodes its own way) or cannot be opened, <fdpath> is
 * tried (a /proc/<pid>/fd/<n> link, the very file the process holds; may be
 * NULL).  Returns 0, or -errno when neither could be read; the error is not
 * cached, so a later call tries again.
 */
int agent_hashcache_get(struct agent_hashcache *hc,
			const struct agent_hash_key *key, const char *root,
			const char *path, const char *fdpath,
			char hex[PX_SHA256_HEX_LEN + 1]);

/*
 * For a digest computed elsewhere (hashjob.c): the file version <key>
 * opened as get would read it, checked to be that version.  Returns the
 * descriptor (the caller closes it) or -errno (-EFBIG past max_bytes),
 * counted as an error.
 */
int agent_hashcache_open(struct agent_hashcache *hc,
			 const struct agent_hash_key *key, const char *root,
			 const char *path, const char *fdpath);

/* Stores the digest <hex> of <key> computed elsewhere (a no-op when it is
 * cached already). */
void agent_hashcache_put(struct agent_hashcache *hc,
			 const struct agent_hash_key *key,
			 const char hex[PX_SHA256_HEX_LEN + 1]);

/* Evicts the oldest digests until at most <keep> remain; returns how
 * many went (for the agent's memory cap). */
size_t agent_hashcache_shrink(struct agent_hashcache *hc, size_t keep);

/* True when a get of <key> would read the file: not cached, and not over
 * the size limit (for the I/O budget, which only reads count against). */
bool agent_hashcache_needs_read(struct agent_hashcache *hc,
				const struct agent_hash_key *key);

void agent_hashcache_get_stats(const struct agent_hashcache *hc,
			       struct agent_hashcache_stats *st);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * The digest cache: a chained hash on the file-version key plus a FIFO list
 * for eviction.  agent_hashcache_get computes a digest at once on the
 * caller's thread, which the agent does only for files up to
 * AGENT_HASH_INLINE_BYTES; larger ones are opened here
 * (agent_hashcache_open), digested a chunk at a time by hashjob.c under
 * the I/O budget, and stored with agent_hashcache_put.
 */
#include "hashcache.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BUCKETS 4096

struct entry {
	struct agent_hash_key key;
	char hex[PX_SHA256_HEX_LEN + 1];
	struct entry *next;		/* hash chain */
	struct entry *older, *newer;	/* FIFO, oldest at head */
};

struct agent_hashcache {
	struct entry *buckets[BUCKETS];
	struct entry *oldest, *newest;
	size_t max_entries;
	uint64_t max_bytes;
	struct agent_hashcache_stats st;
};

struct agent_hashcache *agent_hashcache_new(size_t max_entries,
					    uint64_t max_bytes)
{
	struct agent_hashcache *hc = calloc(1, sizeof(*hc));

	if (!hc)
		return NULL;
	hc->max_entries = max_entries ? max_entries : 1;
	hc->max_bytes = max_bytes;
	return hc;
}

void agent_hashcache_free(struct agent_hashcache *hc)
{
	struct entry *e, *next;

	if (!hc)
		return;
	for (e = hc->oldest; e; e = next) {
		next = e->newer;
		free(e);
	}
	free(hc);
}

static size_t bucket_of(const struct agent_hash_key *k)
{
	uint64_t h = k->dev * 0x9e3779b97f4a7c15ull;

	h ^= k->ino + 0x7f4a7c159e3779b9ull + (h << 6) + (h >> 2);
	h ^= k->size + (uint64_t)k->mtime_ns * 31;
	return (size_t)(h % BUCKETS);
}

static bool key_eq(const struct agent_hash_key *a,
		   const struct agent_hash_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

static struct entry *find(struct agent_hashcache *hc,
			  const struct agent_hash_key *k)
{
	struct entry *e = hc->buckets[bucket_of(k)];

	while (e && !key_eq(&e->key, k))
		e = e->next;
	return e;
}

static void evict_oldest(struct agent_hashcache *hc)
{
	struct entry *e = hc->oldest;
	struct entry **pp = &hc->buckets[bucket_of(&e->key)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	hc->oldest = e->newer;
	if (hc->oldest)
		hc->oldest->older = NULL;
	else
		hc->newest = NULL;
	free(e);
	hc->st.entries--;
	hc->st.evicted++;
}

static void store(struct agent_hashcache *hc, const struct agent_hash_key *k,
		  const char *hex)
{
	struct entry *e;
	size_t b = bucket_of(k);

	if (hc->st.entries >= hc->max_entries)
		evict_oldest(hc);
	e = calloc(1, sizeof(*e));
	if (!e)
		return;		/* uncached: computed again next time */
	e->key = *k;
	memcpy(e->hex, hex, sizeof(e->hex));
	e->next = hc->buckets[b];
	hc->buckets[b] = e;
	e->older = hc->newest;
	if (hc->newest)
		hc->newest->newer = e;
	else
		hc->oldest = e;
	hc->newest = e;
	hc->st.entries++;
}

/* Opens <path> inside <root> as if <root> were "/", refusing magic links. */
static int open_in_root(const char *root, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int dfd, fd;

	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd < 0)
		fd = -errno;
	close(dfd);
	return fd;
}

/* 0 when the open file <fd> is the key's file (a regular file of its size
 * and, with <check_ino>, inode), else -errno. */
static int check_fd(int fd, const struct agent_hash_key *key, bool check_ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size != key->size ||
	    (check_ino && (uint64_t)st.st_ino != key->ino))
		return -ESTALE;
	return 0;
}

/* Digests the open file <fd> when it is the key's file; closes <fd>. */
static int digest_fd(struct agent_hashcache *hc, int fd,
		     const struct agent_hash_key *key, bool check_ino,
		     char hex[PX_SHA256_HEX_LEN + 1])
{
	int err = check_fd(fd, key, check_ino);

	if (!err)
		err = px_sha256_fd(fd, hc->max_bytes, hex, NULL);
	close(fd);
	return err;
}

int agent_hashcache_open(struct agent_hashcache *hc,
			 const struct agent_hash_key *key, const char *root,
			 const char *path, const char *fdpath)
{
	int fd = -ENOENT, err;

	if (hc->max_bytes && key->size > hc->max_bytes)
		return -EFBIG;
	if (root && path && *path) {
		fd = open_in_root(root, path);
		if (fd >= 0 && (err = check_fd(fd, key, true)) < 0) {
			close(fd);
			fd = err;
		}
	}
	if (fd < 0 && fdpath) {
		/* As in get: the process's own descriptor, size checked. */
		fd = open(fdpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			fd = -errno;
		else if ((err = check_fd(fd, key, false)) < 0) {
			close(fd);
			fd = err;
		}
	}
	if (fd < 0)
		hc->st.errors++;
	return fd;
}

void agent_hashcache_put(struct agent_hashcache *hc,
			 const struct agent_hash_key *key,
			 const char hex[PX_SHA256_HEX_LEN + 1])
{
	if (find(hc, key))
		return;
	hc->st.computed++;
	store(hc, key, hex);
}

int agent_hashcache_get(struct agent_hashcache *hc,
			const struct agent_hash_key *key, const char *root,
			const char *path, const char *fdpath,
			char hex[PX_SHA256_HEX_LEN + 1])
{
	struct entry *e = find(hc, key);
	int fd, err = -ENOENT;

	if (e) {
		hc->st.hits++;
		memcpy(hex, e->hex, PX_SHA256_HEX_LEN + 1);
		return 0;
	}

	if (root && path && *path) {
		fd = open_in_root(root, path);
		err = fd < 0 ? fd : digest_fd(hc, fd, key, true, hex);
	}
	if (err < 0 && err != -EFBIG && fdpath) {
		/* The process's own descriptor: the inode number may be the
		 * layered file system's, so only the size must agree. */
		fd = open(fdpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		err = fd < 0 ? -errno : digest_fd(hc, fd, key, false, hex);
	}
	if (err < 0) {
		hc->st.errors++;
		return err;
	}
	hc->st.computed++;
	store(hc, key, hex);
	return 0;
}

size_t agent_hashcache_shrink(struct agent_hashcache *hc, size_t keep)
{
	size_t n = 0;

	while (hc->oldest && hc->st.entries > keep) {
		evict_oldest(hc);
		n++;
	}
	return n;
}

bool agent_hashcache_needs_read(struct agent_hashcache *hc,
				const struct agent_hash_key *key)
{
	if (hc->max_bytes && key->size > hc->max_bytes)
		return false;
	return find(hc, key) == NULL;
}

void agent_hashcache_get_stats(const struct agent_hashcache *hc,
			       struct agent_hashcache_stats *st)
{
	*st = hc->st;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The on-disk spool (see spool.h).  An in-memory queue of (seq, size)
 * mirrors the directory, oldest at the head, so the bound is kept without
 * listing the directory again; only px_spool_open lists it.
 *
 * A record is written to a temporary name, fsync'd, renamed into place and
 * the directory fsync'd, so after a crash or power loss a ".rec" name
 * holds the whole record or is absent.  A zero-length record (left by a
 * file system that lost the data but kept the rename) carries nothing: it
 * is removed on open and counted as dropped, never replayed.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_LEN 32		/* "%016" PRIx64 ".rec" and NUL */

struct rec {
	uint64_t seq;
	uint64_t size;
};

struct px_spool {
	int dirfd;
	uint64_t max_bytes;
	struct rec *q;		/* q[head .. head+count) */
	size_t head, count, cap;
	uint64_t next_seq;
	struct px_spool_stats st;
};

static void rec_name(uint64_t seq, char name[NAME_LEN])
{
	snprintf(name, NAME_LEN, "%016" PRIx64 ".rec", seq);
}

/* Appends (seq, size) to the queue, compacting or growing it. */
static int push(struct px_spool *sp, uint64_t seq, uint64_t size)
{
	if (sp->head + sp->count == sp->cap) {
		if (sp->head > sp->cap / 2) {
			memmove(sp->q, sp->q + sp->head,
				sp->count * sizeof(*sp->q));
			sp->head = 0;
		} else {
			size_t cap = sp->cap ? sp->cap * 2 : 64;
			struct rec *nq = realloc(sp->q, cap * sizeof(*nq));

			if (!nq)
				return -ENOMEM;
			sp->q = nq;
			sp->cap = cap;
		}
	}
	sp->q[sp->head + sp->count].seq = seq;
	sp->q[sp->head + sp->count].size = size;
	sp->count++;
	sp->st.records++;
	sp->st.bytes += size;
	return 0;
}

/* Deletes the oldest record from disk and queue. */
static void drop_oldest(struct px_spool *sp)
{
	struct rec *r = &sp->q[sp->head];
	char name[NAME_LEN];

	rec_name(r->seq, name);
	unlinkat(sp->dirfd, name, 0);
	sp->st.records--;
	sp->st.bytes -= r->size;
	sp->head++;
	sp->count--;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lists the records an earlier run left, removing half-written ones. */
static int load_existing(struct px_spool *sp)
{
	int fd = dup(sp->dirfd);
	struct dirent *d;
	DIR *dir;
	int rc = 0;

	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((d = readdir(dir)) && !rc) {
		size_t n = strlen(d->d_name);
		char *end;
		struct stat st;
		uint64_t seq;

		if (n > 4 && !strcmp(d->d_name + n - 4, ".tmp")) {
			unlinkat(sp->dirfd, d->d_name, 0);
			continue;
		}
		if (n != 20 || strcmp(d->d_name + 16, ".rec"))
			continue;
		seq = strtoull(d->d_name, &end, 16);
		if (end != d->d_name + 16 ||
		    fstatat(sp->dirfd, d->d_name, &st, 0) < 0)
			continue;
		if (st.st_size == 0) {
			unlinkat(sp->dirfd, d->d_name, 0);
			sp->st.dropped++;
			continue;
		}
		rc = push(sp, seq, (uint64_t)st.st_size);
		if (seq >= sp->next_seq)
			sp->next_seq = seq + 1;
	}
	closedir(dir);
	if (sp->count)
		qsort(sp->q + sp->head, sp->count, sizeof(*sp->q), cmp_rec);
	return rc;
}

/* mkdir -p <dir>, each new level mode 0700; 0 or -1 with errno. */
static int make_dirs(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		errno = n ? ENAMETOOLONG : ENOENT;
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

struct px_spool *px_spool_open(const char *dir, uint64_t max_bytes,
			       char *err, size_t errlen)
{
	struct px_spool *sp;
	int rc;

	if (make_dirs(dir) < 0) {
		snprintf(err, errlen, "cannot create spool directory %s: %s",
			 dir, strerror(errno));
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sp->max_bytes = max_bytes;
	sp->next_seq = 1;
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		snprintf(err, errlen, "cannot open spool directory %s: %s",
			 dir, strerror(errno));
		goto err_free;
	}
	rc = load_existing(sp);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read spool directory %s: %s",
			 dir, strerror(-rc));
		goto err_close;
	}
	while (sp->st.bytes > sp->max_bytes && sp->count) {
		sp->st.dropped++;
		sp->st.dropped_bytes += sp->q[sp->head].size;
		drop_oldest(sp);
	}
	return sp;

err_close:
	close(sp->dirfd);
err_free:
	free(sp->q);
	free(sp);
	return NULL;
}

void px_spool_close(struct px_spool *sp)
{
	if (!sp)
		return;
	close(sp->dirfd);
	free(sp->q);
	free(sp);
}

/* Writes <data> to the temporary file <tmp> and syncs it to disk, so that
 * the rename that follows never exposes a short record; 0 or -errno. */
static int write_tmp(int dirfd, const char *tmp, const void *data, size_t len)
{
	const char *p = data;
	int fd, rc = 0;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (rc)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

int px_spool_append(struct px_spool *sp, const void *data, size_t len)
{
	char name[NAME_LEN], tmp[NAME_LEN + 4];
	int dropped = 0, rc;

	if (len > sp->max_bytes)
		return -EMSGSIZE;
	rec_name(sp->next_seq, name);
	snprintf(tmp, sizeof(tmp), "%.16s.tmp", name);
	rc = write_tmp(sp->dirfd, tmp, data, len);
	if (rc < 0)
		return rc;
	if (renameat(sp->dirfd, tmp, sp->dirfd, name) < 0) {
		rc = -errno;
		unlinkat(sp->dirfd, tmp, 0);
		return rc;
	}
	/* The new name must reach the disk too, or a crash can lose a record
	 * whose batch the caller already let go of. */
	if (fsync(sp->dirfd) < 0) {
		rc = -errno;
		unlinkat(sp->dirfd, name, 0);
		return rc;
	}
	rc = push(sp, sp->next_seq, len);
	if (rc < 0) {
		unlinkat(sp->dirfd, name, 0);
		return rc;
	}
	sp->next_seq++;
	sp->st.appended++;
	/* The newest record always stays: it fits on its own. */
	while (sp->st.bytes > sp->max_bytes && sp->count > 1) {
		sp->st.dropped++;
		sp->st.dropped_bytes += sp->q[sp->head].size;
		drop_oldest(sp);
		dropped++;
	}
	return dropped;
}

int px_spool_peek(struct px_spool *sp, void **data, size_t *len)
{
	char name[NAME_LEN];
	struct rec *r;
	size_t got = 0;
	char *buf;
	int fd, rc = 0;

	if (!sp->count)
		return -ENOENT;
	r = &sp->q[sp->head];
	if (!r->size) {
		/* Nothing to replay: dropped and counted like a bad read. */
		sp->st.dropped++;
		drop_oldest(sp);
		return -EBADMSG;
	}
	rec_name(r->seq, name);
	buf = malloc(r->size);
	if (!buf)
		return -ENOMEM;
	fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		rc = -errno;
	while (!rc && got < r->size) {
		ssize_t n = read(fd, buf + got, r->size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else
			got += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(buf);
		sp->st.dropped++;
		sp->st.dropped_bytes += r->size;
		drop_oldest(sp);
		return rc;
	}
	*data = buf;
	*len = got;
	return 0;
}

int px_spool_pop(struct px_spool *sp)
{
	if (!sp->count)
		return -ENOENT;
	drop_oldest(sp);
	sp->st.popped++;
	return 0;
}

bool px_spool_empty(const struct px_spool *sp)
{
	return sp->count == 0;
}

void px_spool_get_stats(const struct px_spool *sp, struct px_spool_stats *st)
{
	*st = sp->st;
}

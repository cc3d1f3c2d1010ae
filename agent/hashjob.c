// SPDX-License-Identifier: Apache-2.0
/*
 * Chunked digests of large artifacts (see hashjob.h).  Jobs are few
 * (AGENT_HASH_MAX_JOBS), so they live in a small array searched linearly.
 */
#include "hashjob.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"

struct job {
	struct agent_hash_key key;
	int fd;
	uint64_t off;
	struct px_sha256 *h;
	Parallax__V1__Event **evs;	/* waiting for the digest */
	size_t n_evs, cap_evs;
};

struct agent_hashjobs {
	struct job *jobs[AGENT_HASH_MAX_JOBS];	/* oldest first */
	size_t n;
	unsigned char *buf;			/* one chunk */
};

struct agent_hashjobs *agent_hashjobs_new(void)
{
	struct agent_hashjobs *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->buf = malloc(AGENT_HASH_CHUNK_BYTES);
	if (!q->buf) {
		free(q);
		return NULL;
	}
	return q;
}

static void job_free(struct job *j)
{
	for (size_t i = 0; i < j->n_evs; i++)
		agent_ev_free(j->evs[i]);
	free(j->evs);
	px_sha256_free(j->h);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

void agent_hashjobs_free(struct agent_hashjobs *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		job_free(q->jobs[i]);
	free(q->buf);
	free(q);
}

static struct job *find(const struct agent_hashjobs *q,
			const struct agent_hash_key *k)
{
	for (size_t i = 0; i < q->n; i++) {
		const struct agent_hash_key *o = &q->jobs[i]->key;

		if (o->dev == k->dev && o->ino == k->ino &&
		    o->size == k->size && o->mtime_ns == k->mtime_ns)
			return q->jobs[i];
	}
	return NULL;
}

bool agent_hashjobs_has_room(const struct agent_hashjobs *q,
			     const struct agent_hash_key *key)
{
	return q->n < AGENT_HASH_MAX_JOBS || find(q, key);
}

/* Adds <ev> to the events <j> holds; -ENOMEM leaves <ev> to the caller. */
static int job_hold(struct job *j, Parallax__V1__Event *ev)
{
	if (j->n_evs == j->cap_evs) {
		size_t cap = j->cap_evs ? j->cap_evs * 2 : 4;
		void *n = realloc(j->evs, cap * sizeof(*j->evs));

		if (!n)
			return -ENOMEM;
		j->evs = n;
		j->cap_evs = cap;
	}
	j->evs[j->n_evs++] = ev;
	return 0;
}

int agent_hashjobs_add(struct agent_hashjobs *q,
		       const struct agent_hash_key *key, int fd,
		       Parallax__V1__Event *ev)
{
	struct job *j = find(q, key);
	int rc;

	if (j) {
		rc = job_hold(j, ev);
		goto out;
	}
	rc = fd < 0 ? -ENOENT : q->n == AGENT_HASH_MAX_JOBS ? -ENOSPC : 0;
	if (rc)
		goto out;
	j = calloc(1, sizeof(*j));
	if (j)
		j->h = px_sha256_new();
	if (!j || !j->h || job_hold(j, ev) < 0) {
		if (j) {
			j->fd = -1;	/* the caller's still */
			j->n_evs = 0;	/* and so is <ev> */
			job_free(j);
		}
		rc = -ENOMEM;
		goto out;
	}
	j->key = *key;
	j->fd = fd;
	q->jobs[q->n++] = j;
	return 0;
out:
	return rc;
}

/* Sends the events of <j> with its digest <hex>, or its error <err>. */
static void job_finish(struct job *j, const char *hex, int err,
		       struct agent_emit *emit)
{
	for (size_t i = 0; i < j->n_evs; i++) {
		Parallax__V1__ArtifactLoaded *a = j->evs[i]->artifact;

		if (hex)
			a->sha256 = agent_ev_str(hex);
		else
			a->error = agent_ev_str(strerror(-err));
		agent_emit_event(emit, j->evs[i]);
	}
	j->n_evs = 0;
}

/* Reads the next chunk of <j>: 1 when the file is done, 0 when more is
 * left, -errno (a short file is -EIO: it changed under us). */
static int job_read(struct agent_hashjobs *q, struct job *j, size_t want)
{
	ssize_t n;

	do
		n = pread(j->fd, q->buf, want, (off_t)j->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EIO;
	px_sha256_update(j->h, q->buf, (size_t)n);
	j->off += (uint64_t)n;
	return j->off >= j->key.size;
}

/* Removes the oldest job from the queue and frees it. */
static void pop_oldest(struct agent_hashjobs *q)
{
	job_free(q->jobs[0]);
	memmove(q->jobs, q->jobs + 1, (q->n - 1) * sizeof(q->jobs[0]));
	q->n--;
}

void agent_hashjobs_step(struct agent_hashjobs *q, struct agent_hashcache *hc,
			 struct agent_budget *io, struct agent_emit *emit,
			 uint64_t now_ns, struct agent_hashjobs_result *res)
{
	uint64_t done = 0;

	while (q->n && done < AGENT_HASH_STEP_BYTES) {
		struct job *j = q->jobs[0];
		uint64_t left = j->key.size - j->off;
		size_t want = left < AGENT_HASH_CHUNK_BYTES ?
				      (size_t)left : AGENT_HASH_CHUNK_BYTES;
		uint8_t d[PX_SHA256_LEN];
		char hex[PX_SHA256_HEX_LEN + 1];
		int rc;

		if (!agent_budget_take(io, want, now_ns))
			break;		/* the budget refills by the next step */
		rc = want ? job_read(q, j, want) : 1;
		done += want;
		if (rc == 0)
			continue;
		if (rc > 0) {
			px_sha256_final(j->h, d);
			px_sha256_hex(d, hex);
			agent_hashcache_put(hc, &j->key, hex);
			job_finish(j, hex, 0, emit);
			res->completed++;
		} else {
			job_finish(j, NULL, rc, emit);
			res->failed++;
		}
		pop_oldest(q);
	}
	res->bytes += done;
}

size_t agent_hashjobs_count(const struct agent_hashjobs *q)
{
	return q->n;
}

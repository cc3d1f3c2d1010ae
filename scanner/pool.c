// SPDX-License-Identifier: Apache-2.0
/*
 * Files of a snapshot scanned in parallel (scan_ctx.threads > 1): the
 * files of a directory walk, and the memory-backed copies of the files of
 * an image or ext image (snapshot.c).
 *
 * The walk (or the image reader) stays on the calling thread and hands
 * each open regular file to a bounded queue (bounded in bytes too for
 * memory-backed files); worker threads take them and run scan_file_run() on a
 * context of their own (own Hyperscan scratch, own counters).  Everything
 * shared goes through one mutex: the sinks (findings and events reach them
 * one at a time, as from a single thread), and the counters, which each
 * worker adds to the run's after every file so progress and totals stay
 * exact.  Order of findings across files is not kept.
 */
#include "scan.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "secrets.h"

#define POOL_QUEUE 256
#define POOL_MAX_THREADS 64
#define POOL_MAX_QUEUED_BYTES (256ull << 20)   /* memfds waiting */

struct job {
	char *path;
	char *link_target;      /* or NULL */
	char *layer;            /* or NULL */
	int fd;
	uint64_t size;
	bool mem;               /* counts in queued_bytes */
};

struct pool {
	struct scan_ctx *main;
	pthread_mutex_t mu;     /* sinks, main counters, queue */
	pthread_cond_t not_empty, not_full;
	struct job q[POOL_QUEUE];
	size_t head, n;
	uint64_t queued_bytes;  /* sizes of the queued memfds */
	bool closing;
	pthread_t threads[POOL_MAX_THREADS];
	struct scan_ctx wctx[POOL_MAX_THREADS];
	int n_threads;
};

static void add_stats(struct scan_stats *to, struct scan_stats *from)
{
	uint64_t *t = (uint64_t *)to, *f = (uint64_t *)from;
	size_t i;

	for (i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
		t[i] += f[i];
	memset(from, 0, sizeof(*from));
}

static int locked_emit(void *arg, const struct scan_finding *f)
{
	struct pool *p = arg;
	int err;

	pthread_mutex_lock(&p->mu);
	err = p->main->sink.emit(p->main->sink.arg, f);
	if (f->severity > p->main->worst)
		p->main->worst = f->severity;
	pthread_mutex_unlock(&p->mu);
	return err;
}

static void locked_event(void *arg, const struct scan_event *ev)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->mu);
	if (p->main->events.emit)
		p->main->events.emit(p->main->events.arg, ev);
	pthread_mutex_unlock(&p->mu);
}

static void *worker(void *arg)
{
	struct scan_ctx *w = arg;
	struct pool *p = w->lock;
	struct scan_file f;
	struct job j;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->n && !p->closing)
			pthread_cond_wait(&p->not_empty, &p->mu);
		if (!p->n) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->q[p->head];
		p->head = (p->head + 1) % POOL_QUEUE;
		p->n--;
		if (j.mem)
			p->queued_bytes -= j.size;
		pthread_cond_signal(&p->not_full);
		pthread_mutex_unlock(&p->mu);

		memset(&f, 0, sizeof(f));
		f.path = j.path;
		f.fd = j.fd;
		f.size = j.size;
		f.link_target = j.link_target;
		f.layer_digest = j.layer;
		scan_file_run(w, &f);
		close(j.fd);
		free(j.path);
		free(j.link_target);
		free(j.layer);
		pthread_mutex_lock(&p->mu);
		add_stats(&p->main->stats, &w->stats);
		scan_progress(p->main);
		pthread_mutex_unlock(&p->mu);
	}
}

struct pool *scan_pool_start(struct scan_ctx *ctx)
{
	struct pool *p = calloc(1, sizeof(*p));
	int i, n = ctx->threads > POOL_MAX_THREADS ? POOL_MAX_THREADS :
		   ctx->threads;

	if (!p)
		return NULL;
	p->main = ctx;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->not_empty, NULL);
	pthread_cond_init(&p->not_full, NULL);
	for (i = 0; i < n; i++) {
		struct scan_ctx *w = &p->wctx[i];

		*w = *ctx;
		memset(&w->stats, 0, sizeof(w->stats));
		w->sink = (struct scan_sink){ locked_emit, p };
		w->events = (struct scan_event_sink){ locked_event, p };
		/* the bar is drawn from the run's counters, under the lock,
		 * after each file (worker()) */
		w->bar = NULL;
		w->threads = 1;
		w->lock = p;
		if (ctx->secrets) {
			w->secrets = scan_secrets_clone(ctx->secrets);
			if (!w->secrets)
				break;
		}
		if (pthread_create(&p->threads[i], NULL, worker, w)) {
			scan_secrets_free(w->secrets);
			break;
		}
		p->n_threads++;
	}
	if (!p->n_threads) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	return p;
}

struct scan_event_sink scan_pool_event_sink(struct pool *p)
{
	return (struct scan_event_sink){ locked_event, p };
}

void scan_pool_submit(struct pool *p, const char *path, int fd,
		      uint64_t size, const char *link_target,
		      const char *layer, bool in_memory)
{
	char *copy = strdup(path);
	char *target = link_target ? strdup(link_target) : NULL;
	char *lay = layer ? strdup(layer) : NULL;

	if (!copy || (link_target && !target) || (layer && !lay)) {
		free(copy);
		free(target);
		free(lay);
		close(fd);
		scan_pool_count_error(p);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->main->stats.files++;
	p->main->stats.bytes += size;
	/* a file bigger than the byte bound waits for an empty queue */
	while (p->n == POOL_QUEUE ||
	       (in_memory && p->n &&
		p->queued_bytes + size > POOL_MAX_QUEUED_BYTES))
		pthread_cond_wait(&p->not_full, &p->mu);
	p->q[(p->head + p->n) % POOL_QUEUE] = (struct job){ copy, target,
		lay, fd, size, in_memory };
	if (in_memory)
		p->queued_bytes += size;
	p->n++;
	pthread_cond_signal(&p->not_empty);
	pthread_mutex_unlock(&p->mu);
}

void scan_pool_lock(struct pool *p, bool on)
{
	if (on)
		pthread_mutex_lock(&p->mu);
	else
		pthread_mutex_unlock(&p->mu);
}

void scan_pool_count_error(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->main->stats.errors++;
	pthread_mutex_unlock(&p->mu);
}

void scan_pool_finish(struct pool *p)
{
	int i;

	pthread_mutex_lock(&p->mu);
	p->closing = true;
	pthread_cond_broadcast(&p->not_empty);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n_threads; i++) {
		pthread_join(p->threads[i], NULL);
		add_stats(&p->main->stats, &p->wctx[i].stats);
		if (p->wctx[i].worst > p->main->worst)
			p->main->worst = p->wctx[i].worst;
		scan_secrets_free(p->wctx[i].secrets);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->not_empty);
	pthread_cond_destroy(&p->not_full);
	free(p);
}

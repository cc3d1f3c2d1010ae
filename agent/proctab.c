// SPDX-License-Identifier: Apache-2.0
/*
 * The process table: a chained hash on pid that grows by doubling.  A pid
 * has at most one entry; its start time decides whether an event belongs to
 * the process the entry describes or to a later one that reused the pid.
 */
#include "proctab.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 1024

struct agent_proctab {
	struct agent_proc **buckets;
	size_t nbuckets;		/* a power of two */
	size_t count;
	size_t max_count;		/* 0: no limit */
	uint64_t refused;		/* new entries refused at the limit */
	char host_id[64];
	char boot_id[40];
};

int agent_exec_id(char *buf, size_t len, const char *host_id,
		  const char *boot_id, uint32_t pid, uint64_t start_time)
{
	int n = snprintf(buf, len, "%s:%s:%" PRIu32 ":%" PRIu64, host_id,
			 boot_id, pid, start_time);

	if (n < 0)
		return -EINVAL;
	return (size_t)n < len ? n : -ENOSPC;
}

struct agent_proctab *agent_proctab_new(const char *host_id,
					const char *kernel_boot_id)
{
	struct agent_proctab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nbuckets = INITIAL_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	snprintf(t->host_id, sizeof(t->host_id), "%s", host_id);
	snprintf(t->boot_id, sizeof(t->boot_id), "%s", kernel_boot_id);
	return t;
}

static void proc_free(struct agent_proc *p)
{
	free(p->arts);
	free(p);
}

void agent_proctab_free(struct agent_proctab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct agent_proc *p = t->buckets[i], *next;

		for (; p; p = next) {
			next = p->next;
			proc_free(p);
		}
	}
	free(t->buckets);
	free(t);
}

static size_t bucket_of(const struct agent_proctab *t, uint32_t pid)
{
	/* Fibonacci hashing spreads sequential pids over the buckets. */
	return (size_t)((pid * 2654435761u) & (t->nbuckets - 1));
}

struct agent_proc *agent_proctab_lookup(struct agent_proctab *t, uint32_t pid)
{
	struct agent_proc *p = t->buckets[bucket_of(t, pid)];

	while (p && p->pid != pid)
		p = p->next;
	return p;
}

struct agent_proc *agent_proctab_get(struct agent_proctab *t, uint32_t pid,
				     uint64_t start_time)
{
	struct agent_proc *p = agent_proctab_lookup(t, pid);

	return p && p->start_time == start_time ? p : NULL;
}

/* Doubles the bucket array; on allocation failure the table stays as it
 * is, only slower. */
static void grow(struct agent_proctab *t)
{
	size_t old_n = t->nbuckets;
	struct agent_proc **old = t->buckets;
	struct agent_proc **nb = calloc(old_n * 2, sizeof(*nb));

	if (!nb)
		return;
	t->buckets = nb;
	t->nbuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		struct agent_proc *p = old[i], *next;

		for (; p; p = next) {
			size_t b = bucket_of(t, p->pid);

			next = p->next;
			p->next = nb[b];
			nb[b] = p;
		}
	}
	free(old);
}

/* Makes <p> describe the process (<pid>, <start_time>), forgetting what it
 * knew about an earlier holder of the pid. */
static void proc_reset(struct agent_proctab *t, struct agent_proc *p,
		       uint32_t pid, uint64_t start_time)
{
	struct agent_proc *next = p->next;

	free(p->arts);
	memset(p, 0, sizeof(*p));
	p->next = next;
	p->pid = pid;
	p->start_time = start_time;
	agent_exec_id(p->exec_id, sizeof(p->exec_id), t->host_id, t->boot_id,
		      pid, start_time);
}

struct agent_proc *agent_proctab_upsert(struct agent_proctab *t, uint32_t pid,
					uint64_t start_time, bool *created)
{
	struct agent_proc *p = agent_proctab_lookup(t, pid);
	size_t b;

	if (p) {
		if (created)
			*created = p->start_time != start_time;
		if (p->start_time != start_time)
			proc_reset(t, p, pid, start_time);
		return p;
	}

	if (t->max_count && t->count >= t->max_count) {
		t->refused++;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (t->count >= t->nbuckets)
		grow(t);
	b = bucket_of(t, pid);
	p->next = t->buckets[b];
	t->buckets[b] = p;
	proc_reset(t, p, pid, start_time);
	t->count++;
	if (created)
		*created = true;
	return p;
}

/* Unlinks and frees the entry that <pp> points at. */
static void unlink_at(struct agent_proctab *t, struct agent_proc **pp)
{
	struct agent_proc *p = *pp;

	*pp = p->next;
	proc_free(p);
	t->count--;
}

bool agent_proctab_remove(struct agent_proctab *t, uint32_t pid,
			  uint64_t start_time)
{
	struct agent_proc **pp = &t->buckets[bucket_of(t, pid)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid != pid)
			continue;
		if ((*pp)->start_time != start_time)
			return false;
		unlink_at(t, pp);
		return true;
	}
	return false;
}

size_t agent_proctab_sweep(struct agent_proctab *t, uint64_t gen)
{
	return agent_proctab_sweep_each(t, gen, NULL, NULL);
}

size_t agent_proctab_sweep_each(struct agent_proctab *t, uint64_t gen,
				void (*gone)(void *arg,
					     const struct agent_proc *p),
				void *arg)
{
	size_t removed = 0;

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct agent_proc **pp = &t->buckets[i];

		while (*pp) {
			if ((*pp)->seen_gen == gen) {
				pp = &(*pp)->next;
				continue;
			}
			if (gone)
				gone(arg, *pp);
			unlink_at(t, pp);
			removed++;
		}
	}
	return removed;
}

size_t agent_proctab_count(const struct agent_proctab *t)
{
	return t->count;
}

bool agent_proc_mark_artifact(struct agent_proc *p, uint64_t dev,
			      uint64_t ino)
{
	return agent_proc_mark_loaded(p, AGENT_ART_OPEN, dev, ino);
}

bool agent_proc_has_loaded(const struct agent_proc *p, uint32_t kind,
			   uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < p->n_arts; i++)
		if (p->arts[i].dev == dev && p->arts[i].ino == ino &&
		    p->arts[i].kind == kind)
			return true;
	return false;
}

bool agent_proc_mark_loaded(struct agent_proc *p, uint32_t kind,
			    uint64_t dev, uint64_t ino)
{
	if (agent_proc_has_loaded(p, kind, dev, ino))
		return false;

	if (p->n_arts == AGENT_MAX_ARTS_PER_PROC)
		return false;
	if (p->n_arts == p->cap_arts) {
		size_t cap = p->cap_arts ? p->cap_arts * 2 : 4;
		void *na = realloc(p->arts, cap * sizeof(*p->arts));

		if (!na)
			return false;
		p->arts = na;
		p->cap_arts = cap;
	}
	p->arts[p->n_arts].dev = dev;
	p->arts[p->n_arts].ino = ino;
	p->arts[p->n_arts].kind = kind;
	p->n_arts++;
	return true;
}

void agent_proctab_set_limit(struct agent_proctab *t, size_t max_count)
{
	t->max_count = max_count;
}

uint64_t agent_proctab_refused(const struct agent_proctab *t)
{
	return t->refused;
}

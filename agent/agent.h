/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's runtime: what it is configured with, and the state its parts
 * share while it runs (process table, hash cache, emitter, kernel probe).
 */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

struct agent_probe;
struct agent_proctab;
struct agent_hashcache;
struct agent_emit;

struct agent_options {
	const char *collector;		/* HOST:PORT */
	const char *source_id;		/* NULL or "": "agent:<host_id>" */
	const char *tls_ca, *tls_cert, *tls_key;
	bool to_stdout;			/* JSON lines, nothing sent */
	bool iter_dpath;		/* paths from bpf_d_path when it loads */
	uint64_t ringbuf_bytes;		/* 0: the default */
	uint64_t rescan_ms;		/* full artifact pass period */
	uint64_t health_ms;		/* AgentHealth period */
	uint64_t batch_max_events;
	uint64_t batch_delay_ms;
	uint64_t queue_max_events;
	uint64_t hash_max_bytes;
	uint64_t hash_cache_entries;
};

/* Counters the parts bump and the health report sends. */
struct agent_counters {
	uint64_t hash_errors;
	uint64_t artifacts;		/* ArtifactLoaded sent */
	uint64_t unknown_procs;		/* iterator records of processes not
					 * (yet) in the table */
	uint64_t exec_pass_dropped;	/* targeted passes not queued */
};

/* Shared state; owned by agent.c, borrowed by the others. */
struct agent_ctx {
	struct px_host host;
	struct agent_probe *probe;
	struct agent_proctab *tab;
	struct agent_hashcache *hc;
	struct agent_emit *emit;
	int64_t wall_offset_ns;		/* wall clock = monotonic + this */
	uint64_t resync_gen;
	struct agent_counters cnt;

	/* Called for every exec, to schedule its targeted passes. */
	void (*on_exec)(struct agent_ctx *ctx, uint32_t pid,
			uint64_t start_time);
	void *owner;
};

/* Runs the agent until SIGINT/SIGTERM; returns the process exit code. */
int agent_run(const struct agent_options *o);

/* lifecycle.c: ring buffer records and the task pass. */
void agent_lifecycle_event(struct agent_ctx *ctx, const void *rec,
			   size_t len);
/* Learns the processes the table misses (sent as ProcessExec with
 * from_snapshot) and forgets the ones that are gone; 0 or -errno. */
int agent_lifecycle_resync(struct agent_ctx *ctx);

/* artifacts.c: one pass of the file iterator over <pid> (0: all),
 * reporting each new (process, artifact); 0 or -errno. */
int agent_artifacts_pass(struct agent_ctx *ctx, uint32_t pid);

#endif

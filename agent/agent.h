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

#include "budget.h"
#include "events.h"
#include "host.h"

struct agent_probe;
struct agent_proctab;
struct agent_hashcache;
struct agent_emit;
struct agent_proc;
struct agent_jvm;
struct agent_hashjobs;

#define AGENT_MAX_WATCH 64

struct agent_options {
	const char *collector;		/* HOST:PORT */
	const char *source_id;		/* NULL or "": "agent:<host_id>" */
	const char *tls_ca, *tls_cert, *tls_key;
	bool to_stdout;			/* JSON lines, nothing sent */
	bool iter_dpath;		/* paths from bpf_d_path when it loads */
	bool net;			/* socket state events */
	bool drop_caps;			/* keep only what caps.h lists */
	const char *watch_exe;		/* watch policy; NULL or "": none */
	uint32_t watch_syscalls[AGENT_MAX_WATCH];
	size_t n_watch_syscalls;
	/* In-kernel filters (cgroup ids are cgroup v2 directory inodes). */
#define AGENT_MAX_FILTERS 64
	uint32_t deny_pids[AGENT_MAX_FILTERS];
	size_t n_deny_pids;
	uint32_t allow_pids[AGENT_MAX_FILTERS];
	size_t n_allow_pids;
	/* File name suffixes the artifact iterator reports. */
	struct px_suffix suffixes[PX_MAX_SUFFIXES];
	size_t n_suffixes;
	uint64_t deny_cgroups[AGENT_MAX_FILTERS];
	size_t n_deny_cgroups;
	uint64_t allow_cgroups[AGENT_MAX_FILTERS];
	size_t n_allow_cgroups;
	const char *jvm_watch;		/* classes, comma-separated */
	const char *jvm_libjvm;		/* libjvm.so globs, comma-separated */
	bool jvm_late_attach;		/* attach to libjvm.so found by passes */
	uint64_t ringbuf_bytes;		/* 0: the default */
	uint64_t rescan_ms;		/* full artifact pass period */
	uint64_t health_ms;		/* AgentHealth period */
	uint64_t batch_max_events;
	uint64_t batch_delay_ms;
	uint64_t queue_max_events;
	uint64_t hash_max_bytes;
	uint64_t hash_cache_entries;
	uint64_t hash_rate_bytes;	/* I/O budget, bytes/s; 0: none */
	uint64_t max_processes;		/* process table bound */
	uint64_t memory_max_bytes;	/* RSS cap; 0: none */
	uint64_t hash_burst_bytes;
	const char *spool_dir;		/* NULL or "": no spool */
	uint64_t spool_max_bytes;
	uint64_t client_max_pending_bytes;
};

/* Counters the parts bump and the health report sends. */
struct agent_counters {
	uint64_t hash_errors;
	uint64_t artifacts;		/* ArtifactLoaded sent */
	uint64_t unknown_procs;		/* iterator records of processes not
					 * (yet) in the table */
	uint64_t exec_pass_dropped;	/* targeted passes not queued */
	uint64_t classes;		/* watched class loads reported */
	uint64_t net_events;		/* NetworkEvent sent */
	uint64_t net_unowned;		/* accepts of unknown listeners */
	uint64_t hash_deferred;		/* artifacts put off by the budget */
	uint64_t violations;		/* watch policy events */
	uint64_t memory_cap_hits;	/* health ticks over the RSS cap */
	uint64_t synthetic_exits;	/* exits made up for swept processes */
};

/* Shared state; owned by agent.c, borrowed by the others. */
struct agent_ctx {
	struct px_host host;
	struct agent_probe *probe;
	struct agent_proctab *tab;
	struct agent_hashcache *hc;
	struct agent_hashjobs *jobs;	/* digests of large artifacts */
	struct agent_emit *emit;
	struct agent_jvm *jvm;		/* NULL without the JVM probe */
	struct agent_budget io;		/* hashing reads */
	const char *watch_exe;		/* the watch policy's exe, or NULL */
	int64_t wall_offset_ns;		/* wall clock = monotonic + this */
	uint64_t resync_gen;
	struct agent_counters cnt;

	/* Called for every exec, to schedule its targeted passes. */
	void (*on_exec)(struct agent_ctx *ctx, uint32_t pid,
			uint64_t start_time);
	/* Called for every executable mapping a pass sees (new or not), so
	 * the JVM part can spot libjvm.so; may be NULL. */
	void (*on_mapping)(struct agent_ctx *ctx, const struct agent_proc *p,
			   const char *path, uint64_t dev, uint64_t ino);
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

/* policy.c: a watched syscall record from the ring buffer. */
struct px_policy_event;
void agent_policy_event(struct agent_ctx *ctx,
			const struct px_policy_event *ev, const char *exe);

/* net.c: a socket record from the ring buffer. */
struct px_net_event;
void agent_net_event(struct agent_ctx *ctx, const struct px_net_event *ev);

#endif

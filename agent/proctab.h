/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's table of live processes, keyed by pid, with the task's start
 * time to tell a reused pid from the process it replaced.  Each entry holds
 * the process context sent with its events and the artifacts already
 * reported for it, so an artifact goes out once per process.
 */
#ifndef AGENT_PROCTAB_H
#define AGENT_PROCTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<host_id>:<kernel_boot_id>:<pid>:<start_time_ns>" fits with room. */
#define AGENT_EXEC_ID_LEN 160
#define AGENT_COMM_LEN 16
/* Artifacts remembered per process; past it new ones are not reported. */
#define AGENT_MAX_ARTS_PER_PROC 4096

struct agent_proc {
	uint32_t pid;
	uint32_t ppid;
	uint64_t start_time;		/* task->start_time, ns since boot */
	uint64_t parent_start_time;
	char exec_id[AGENT_EXEC_ID_LEN];
	char comm[AGENT_COMM_LEN];
	uint64_t seen_gen;		/* last resync pass that saw it */

	/* (dev, inode) of the artifacts reported for this process. */
	struct agent_proc_art {
		uint64_t dev;
		uint64_t ino;
		uint32_t kind;		/* enum agent_art_kind */
	} *arts;
	size_t n_arts;
	size_t cap_arts;

	struct agent_proc *next;	/* hash chain */
};

struct agent_proctab;

/* How a process holds an artifact; each is reported once per process. */
enum agent_art_kind {
	AGENT_ART_OPEN = 0,		/* an open descriptor */
	AGENT_ART_MAPPED = 1,		/* an executable mapping */
};

/*
 * Writes the fleet-wide identity of a process into <buf>:
 * "<host_id>:<kernel_boot_id>:<pid>:<start_time_ns>".  Returns the length,
 * or -ENOSPC when <len> is too small (the buffer then holds a cut string).
 */
int agent_exec_id(char *buf, size_t len, const char *host_id,
		  const char *boot_id, uint32_t pid, uint64_t start_time);

/* A table whose exec_ids name <host_id> and <kernel_boot_id> (copied).
 * NULL when out of memory. */
struct agent_proctab *agent_proctab_new(const char *host_id,
					const char *kernel_boot_id);
void agent_proctab_free(struct agent_proctab *t);

/* The entry for <pid> whatever its start time, or NULL. */
struct agent_proc *agent_proctab_lookup(struct agent_proctab *t, uint32_t pid);

/* The entry for exactly (<pid>, <start_time>), or NULL. */
struct agent_proc *agent_proctab_get(struct agent_proctab *t, uint32_t pid,
				     uint64_t start_time);

/*
 * The entry for (<pid>, <start_time>), created when missing.  An entry for
 * the same pid with another start time belongs to a process that is gone:
 * it is reset for the new one.  *<created> (may be NULL) tells whether the
 * entry is new.  NULL only when out of memory.
 */
struct agent_proc *agent_proctab_upsert(struct agent_proctab *t, uint32_t pid,
					uint64_t start_time, bool *created);

/* Removes the entry for (<pid>, <start_time>); false when there was none. */
bool agent_proctab_remove(struct agent_proctab *t, uint32_t pid,
			  uint64_t start_time);

/* Removes every entry whose seen_gen is not <gen> (processes a full task
 * pass no longer found); returns how many. */
size_t agent_proctab_sweep(struct agent_proctab *t, uint64_t gen);

/* The same, calling <gone> (may be NULL) with each entry just before it
 * is freed; <p> is borrowed for the call only. */
size_t agent_proctab_sweep_each(struct agent_proctab *t, uint64_t gen,
				void (*gone)(void *arg,
					     const struct agent_proc *p),
				void *arg);

size_t agent_proctab_count(const struct agent_proctab *t);

/* Bounds the table to <max_count> entries (0: none): past it, upsert of a
 * new process returns NULL and is counted. */
void agent_proctab_set_limit(struct agent_proctab *t, size_t max_count);
uint64_t agent_proctab_refused(const struct agent_proctab *t);

/*
 * Records that artifact (<dev>, <ino>) was reported for <p>.  True when it
 * is new for this process (report it), false when it was already recorded
 * or memory ran out.
 */
bool agent_proc_mark_artifact(struct agent_proc *p, uint64_t dev,
			      uint64_t ino);

/* True when (<kind>, <dev>, <ino>) was already recorded for <p>. */
bool agent_proc_has_loaded(const struct agent_proc *p, uint32_t kind,
			   uint64_t dev, uint64_t ino);

/* The same for artifacts held as <kind> (enum agent_art_kind); an open
 * descriptor and a mapping of one file are reported apart. */
bool agent_proc_mark_loaded(struct agent_proc *p, uint32_t kind,
			    uint64_t dev, uint64_t ino);

#endif

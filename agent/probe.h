/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's kernel side, behind one handle: the BPF skeletons of bpf/,
 * their ring buffer and the iterator passes.  Everything libbpf stays in
 * probe.c; the rest of the agent sees records from bpf/events.h.
 */
#ifndef AGENT_PROBE_H
#define AGENT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

struct agent_probe;

/* Called for each ring buffer record (struct px_proc_event, or the larger
 * struct px_exec_event when type is PX_EV_EXEC). */
typedef void (*agent_probe_event_fn)(void *arg, const struct px_proc_event *ev,
				     size_t len);
typedef void (*agent_probe_task_fn)(void *arg, const struct px_task_rec *rec);
typedef void (*agent_probe_file_fn)(void *arg, const struct px_file_rec *rec);
typedef void (*agent_probe_vma_fn)(void *arg, const struct px_vma_rec *rec);

/*
 * Checks what the agent needs before touching BPF: privileges, kernel BTF,
 * bpffs and tracefs (mounted here when missing).  Returns 0, or -errno with
 * a message in <err> that says what is missing and how to get it.
 */
int agent_probe_preflight(char *err, size_t errlen);

struct agent_probe_opts {
	/* Try the file iterator that calls bpf_d_path first; without it (or
	 * when the kernel refuses it) paths come from /proc. */
	bool try_dpath;
	/* Ring buffer size: a power of two, at least a page; 0 for the
	 * default PX_RINGBUF_BYTES. */
	uint32_t ringbuf_bytes;
	/* Load the socket state program (network events). */
	bool net;
	/* Report only processes of the cgroups in allow_cgroups. */
	bool cgroup_allowlist;
	/* Watch policy: the tree of processes exec'd from <watch_exe> has
	 * the syscalls in <watch_syscalls> reported; only then is the
	 * syscall tracepoint attached.  NULL or "": no policy. */
	const char *watch_exe;
	const uint32_t *watch_syscalls;
	size_t n_watch_syscalls;
	/* Filters in place before anything is attached. */
	const uint32_t *deny_pids;
	size_t n_deny_pids;
	const uint32_t *allow_pids;	/* none: no pid allow-list */
	size_t n_allow_pids;
	const uint64_t *deny_cgroups;
	size_t n_deny_cgroups;
	const uint64_t *allow_cgroups;
	size_t n_allow_cgroups;
	/* The artifact suffixes of the file iterator (copied); at most
	 * PX_MAX_SUFFIXES. */
	const struct px_suffix *suffixes;
	size_t n_suffixes;
};

/*
 * Opens, loads and attaches the programs; ring buffer records go to <fn>.
 * Returns 0 and the handle in <out>, or -errno with libbpf's reason in <err>.
 */
int agent_probe_open(struct agent_probe **out,
		     const struct agent_probe_opts *opts,
		     agent_probe_event_fn fn, void *arg, char *err,
		     size_t errlen);

/* Detaches every program and frees everything.  Accepts NULL. */
void agent_probe_close(struct agent_probe *p);

/* The descriptor that becomes readable when records are waiting. */
int agent_probe_ringbuf_fd(const struct agent_probe *p);

/* Delivers every waiting record; returns their number or -errno. */
int agent_probe_consume(struct agent_probe *p);

/* Records the kernel could not queue since load, summed over CPUs. */
uint64_t agent_probe_drops(const struct agent_probe *p);

/* True when the file iterator gets full paths from bpf_d_path. */
bool agent_probe_has_dpath(const struct agent_probe *p);

/* Runs the task iterator over all processes; 0 or -errno. */
int agent_probe_iter_tasks(struct agent_probe *p, agent_probe_task_fn fn,
			   void *arg);

/* Runs the artifact file iterator over process <pid>, or all when 0.
 * Each (process, file) comes once, as with mappings below.  0 or -errno
 * (-ESRCH when <pid> is gone). */
int agent_probe_iter_files(struct agent_probe *p, uint32_t pid,
			   agent_probe_file_fn fn, void *arg);

/*
 * Runs the executable-mapping iterator over process <pid>, or all when 0.
 * Each (process, file) comes once: the kernel remembers what it reported.
 * 0 or -errno (-ESRCH when <pid> is gone).
 */
int agent_probe_iter_vmas(struct agent_probe *p, uint32_t pid,
			  agent_probe_vma_fn fn, void *arg);

/*
 * Finds the owners of TCP listeners opened before the agent (or whose
 * LISTEN the agent missed) so their accepts name a process.  Returns how
 * many it learnt, -ENOTSUP without the socket state program, or -errno.
 */
int agent_probe_learn_listeners(struct agent_probe *p);

/* Makes the kernel forget that it reported <rec>, so that the next pass
 * sends it again (for records user space could not use). */
void agent_probe_forget_vma(struct agent_probe *p,
			    const struct px_vma_rec *rec);
void agent_probe_forget_file(struct agent_probe *p,
			     const struct px_file_rec *rec);

/* True when the watch policy's syscall tracepoint is attached. */
bool agent_probe_watching(const struct agent_probe *p);

/* True when the JVM class probe loaded. */
bool agent_probe_has_jvm(const struct agent_probe *p);

/* Adds the internal class name <name> ("a/b/C") to the kernel's watch
 * list; 0 or -errno (-ENOTSUP without the JVM probe). */
int agent_probe_watch_class(struct agent_probe *p, const char *name);

/*
 * Attaches the class probe to the hotspot library at <libjvm> (a path the
 * agent can open, e.g. through /proc/<pid>/root), for every process that
 * maps it, now or later.  0 or -errno.
 */
int agent_probe_attach_jvm(struct agent_probe *p, const char *libjvm);

/* Class loads the probe saw, watched or not, summed over CPUs. */
uint64_t agent_probe_class_loads(const struct agent_probe *p);

enum agent_filter {
	AGENT_DENY_PID,		/* id: a tgid */
	AGENT_ALLOW_PID,	/* id: a tgid, with opts.allow_pids */
	AGENT_DENY_CGROUP,	/* id: a cgroup v2 id (its directory's inode) */
	AGENT_ALLOW_CGROUP,	/* with opts.cgroup_allowlist */
};

/* Adds <id> to one of the kernel's filters (bpf/filter.bpf.h); every
 * program skips the processes it matches.  0 or -errno. */
int agent_probe_filter(struct agent_probe *p, enum agent_filter what,
		       uint64_t id);

#endif

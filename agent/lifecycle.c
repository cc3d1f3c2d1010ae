// SPDX-License-Identifier: Apache-2.0
/*
 * Process lifecycle: turns the kernel's exec, fork and exit records into
 * ProcessExec/ProcessFork/ProcessExit events and keeps the process table in
 * step, and runs the task pass that fills the table with the processes the
 * agent has no exec for (those older than the agent, or lost to drops).
 * What the kernel records cannot hold (an exe path given relative, argv that
 * could not be read, the cgroup path) is completed from /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "container.h"
#include "emit.h"
#include "events.h"
#include "log.h"
#include "probe.h"
#include "proctab.h"

#define MOD "proc"
#define CG_CACHE_SLOTS 256

/* cgroup id -> container id, direct-mapped: ids repeat for every process
 * of a container and the cgroup path cannot be read once it exited. */
static struct {
	uint64_t cgroup_id;
	char id[AGENT_CONTAINER_ID_LEN + 1];
} cg_cache[CG_CACHE_SLOTS];

static void container_of_proc(uint32_t pid, uint64_t cgroup_id,
			      char out[AGENT_CONTAINER_ID_LEN + 1])
{
	unsigned int slot = (unsigned int)(cgroup_id % CG_CACHE_SLOTS);
	char path[4096];

	if (cgroup_id && cg_cache[slot].cgroup_id == cgroup_id) {
		memcpy(out, cg_cache[slot].id, AGENT_CONTAINER_ID_LEN + 1);
		return;
	}
	out[0] = '\0';
	if (agent_cgroup_path(pid, path, sizeof(path)) < 0)
		return;
	agent_container_id(path, out);
	cg_cache[slot].cgroup_id = cgroup_id;
	memcpy(cg_cache[slot].id, out, AGENT_CONTAINER_ID_LEN + 1);
}

/* readlink of /proc/<pid>/<what> into <buf>; empty on failure. */
static void proc_link(uint32_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/%s", pid, what);
	n = readlink(path, buf, len - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

/* Reads up to <len> bytes of /proc/<pid>/cmdline; returns the count and
 * sets *<truncated> when there was more. */
static size_t proc_cmdline(uint32_t pid, char *buf, size_t len,
			   bool *truncated)
{
	char path[64], extra;
	ssize_t n;
	int fd;

	*truncated = false;
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len);
	if (n == (ssize_t)len && read(fd, &extra, 1) == 1)
		*truncated = true;
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

/* Splits the NUL-separated <args> into the event's argv. */
static void set_argv(Parallax__V1__ProcessExec *x, const char *args,
		     size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (args[i] == '\0' || i == len - 1)
			n++;
	if (!n)
		return;
	x->argv = calloc(n, sizeof(*x->argv));
	if (!x->argv)
		return;
	for (size_t i = 0; i < len && x->n_argv < n;) {
		size_t l = strnlen(args + i, len - i);
		char *raw = strndup(args + i, l);
		char *s = raw ? agent_ev_str(raw) : NULL;

		free(raw);
		if (s && s != protobuf_c_empty_string)
			x->argv[x->n_argv++] = s;
		i += l + 1;
	}
}

static char *exec_id_of(struct agent_ctx *ctx, uint32_t pid,
			uint64_t start_time)
{
	char id[AGENT_EXEC_ID_LEN];

	agent_exec_id(id, sizeof(id), ctx->host.host_id,
		      ctx->host.kernel_boot_id, pid, start_time);
	return agent_ev_str(id);
}

static Parallax__V1__ProcessRef *ref_of(struct agent_ctx *ctx, uint32_t pid,
				       uint64_t start_time)
{
	char id[AGENT_EXEC_ID_LEN];

	agent_exec_id(id, sizeof(id), ctx->host.host_id,
		      ctx->host.kernel_boot_id, pid, start_time);
	return agent_ev_ref(pid, start_time, id);
}

/* Copies the kernel's context into the table entry <p>. */
static void note_ctx(struct agent_proc *p, const struct px_proc_ctx *c)
{
	p->ppid = c->ppid;
	p->parent_start_time = c->parent_start_time;
	memcpy(p->comm, c->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
}

/*
 * Builds a ProcessExec for <p> from the kernel context <c>; <exe> and
 * <args> may be empty, in which case /proc is read.
 */
static Parallax__V1__Event *exec_event(struct agent_ctx *ctx,
				       const struct agent_proc *p,
				       const struct px_proc_ctx *c,
				       uint64_t ts, const char *exe,
				       const char *args, size_t args_len,
				       bool truncated, bool snapshot)
{
	char cid[AGENT_CONTAINER_ID_LEN + 1], path[4096];
	char cmdline[PX_ARGS_LEN];
	Parallax__V1__ProcessExec *x;
	Parallax__V1__Event *ev;

	ev = agent_ev_new(ts, PARALLAX__V1__EVENT__KIND_EXEC);
	if (!ev)
		return NULL;
	x = ev->exec;
	x->proc = agent_ev_ref(p->pid, p->start_time, p->exec_id);
	x->ppid = c->ppid;
	x->parent_exec_id = exec_id_of(ctx, c->ppid, c->parent_start_time);
	if (exe && exe[0] == '/') {
		x->exe = agent_ev_str(exe);
	} else {
		proc_link(p->pid, "exe", path, sizeof(path));
		x->exe = agent_ev_str(path[0] ? path : exe);
	}
	if (!args_len) {
		args_len = proc_cmdline(p->pid, cmdline, sizeof(cmdline),
					&truncated);
		args = cmdline;
	}
	set_argv(x, args, args_len);
	x->argv_truncated = truncated;
	x->comm = agent_ev_str(p->comm);
	x->uid = c->uid;
	x->euid = c->euid;
	x->loginuid = c->loginuid;
	x->cgroup_id = c->cgroup_id;
	container_of_proc(p->pid, c->cgroup_id, cid);
	x->container_id = agent_ev_str(cid);
	x->mnt_ns = c->mnt_ns;
	x->pid_ns = c->pid_ns;
	x->from_snapshot = snapshot;
	return ev;
}

static void on_exec(struct agent_ctx *ctx, const struct px_exec_event *e)
{
	const struct px_proc_ctx *c = &e->hdr.ctx;
	struct agent_proc *p;
	char exe[PX_EXE_LEN];
	size_t args_len = e->hdr.args_len;

	p = agent_proctab_upsert(ctx->tab, c->tgid, c->start_time, NULL);
	if (!p)
		return;
	note_ctx(p, c);
	memcpy(exe, e->exe, sizeof(exe));
	exe[sizeof(exe) - 1] = '\0';
	if (args_len > PX_ARGS_LEN)
		args_len = PX_ARGS_LEN;
	agent_emit_event(ctx->emit,
			 exec_event(ctx, p, c, e->hdr.ts + ctx->wall_offset_ns,
				    exe, e->args, args_len,
				    e->hdr.flags & PX_F_ARGS_TRUNCATED, false));
	if (ctx->on_exec)
		ctx->on_exec(ctx, p->pid, p->start_time);
}

static void on_fork(struct agent_ctx *ctx, const struct px_proc_event *e)
{
	const struct px_proc_ctx *c = &e->ctx;
	Parallax__V1__Event *ev;
	struct agent_proc *p;

	p = agent_proctab_upsert(ctx->tab, c->tgid, c->start_time, NULL);
	if (p)
		note_ctx(p, c);
	ev = agent_ev_new(e->ts + ctx->wall_offset_ns,
			  PARALLAX__V1__EVENT__KIND_FORK);
	if (!ev)
		return;
	ev->fork->proc = ref_of(ctx, c->tgid, c->start_time);
	ev->fork->parent = ref_of(ctx, c->ppid, c->parent_start_time);
	agent_emit_event(ctx->emit, ev);
}

static void on_exit_(struct agent_ctx *ctx, const struct px_proc_event *e)
{
	const struct px_proc_ctx *c = &e->ctx;
	Parallax__V1__Event *ev;

	ev = agent_ev_new(e->ts + ctx->wall_offset_ns,
			  PARALLAX__V1__EVENT__KIND_EXIT);
	if (ev) {
		ev->exit->proc = ref_of(ctx, c->tgid, c->start_time);
		ev->exit->exit_code = e->exit_code;
		agent_emit_event(ctx->emit, ev);
	}
	agent_proctab_remove(ctx->tab, c->tgid, c->start_time);
}

void agent_lifecycle_event(struct agent_ctx *ctx, const void *rec, size_t len)
{
	const struct px_proc_event *e = rec;

	switch (e->type) {
	case PX_EV_EXEC:
		if (len >= sizeof(struct px_exec_event))
			on_exec(ctx, rec);
		break;
	case PX_EV_FORK:
		on_fork(ctx, e);
		break;
	case PX_EV_EXIT:
		on_exit_(ctx, e);
		break;
	default:
		px_debug(MOD, "unknown record", "type=%" PRIu32, e->type);
		break;
	}
}

static void on_task(void *arg, const struct px_task_rec *rec)
{
	struct agent_ctx *ctx = arg;
	const struct px_proc_ctx *c = &rec->ctx;
	struct agent_proc *p;
	bool created;

	p = agent_proctab_upsert(ctx->tab, c->tgid, c->start_time, &created);
	if (!p)
		return;
	p->seen_gen = ctx->resync_gen;
	if (!created)
		return;
	note_ctx(p, c);
	agent_emit_event(ctx->emit,
			 exec_event(ctx, p, c,
				    c->start_time + ctx->wall_offset_ns, NULL,
				    NULL, 0, false, true));
}

/*
 * A process the task pass no longer finds has exited without the agent
 * seeing it (its exit record was dropped, or the table learnt of it from
 * an iterator and it died between passes).  The collector ends a
 * process's "loaded now" rows at its ProcessExit, so one is made up,
 * flagged synthetic, with the time it was found gone.
 */
static void on_swept(void *arg, const struct agent_proc *p)
{
	struct agent_ctx *ctx = arg;
	Parallax__V1__Event *ev;

	ev = agent_ev_new(px_now_ns(), PARALLAX__V1__EVENT__KIND_EXIT);
	if (!ev)
		return;
	ev->exit->proc = agent_ev_ref(p->pid, p->start_time, p->exec_id);
	ev->exit->synthetic = true;
	ctx->cnt.synthetic_exits++;
	agent_emit_event(ctx->emit, ev);
}

int agent_lifecycle_resync(struct agent_ctx *ctx)
{
	size_t before = agent_proctab_count(ctx->tab), gone;
	int rc;

	ctx->resync_gen++;
	rc = agent_probe_iter_tasks(ctx->probe, on_task, ctx);
	if (rc < 0) {
		px_warn(MOD, "task pass failed", "err=%s",
			px_q(strerror(-rc)));
		return rc;
	}
	gone = agent_proctab_sweep_each(ctx->tab, ctx->resync_gen, on_swept,
					ctx);
	px_debug(MOD, "task pass", "before=%zu after=%zu gone=%zu", before,
		 agent_proctab_count(ctx->tab), gone);
	return 0;
}

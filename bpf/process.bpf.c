// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * Process lifecycle for the agent: exec, fork and exit of thread groups from
 * the sched tracepoints, plus a task iterator that lists the processes that
 * were already running when the agent started.  No syscall is traced: the
 * sched tracepoints fire once per process event, not per system call.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.h"

#define PF_KTHREAD 0x00200000

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PX_RINGBUF_BYTES);
} events SEC(".maps");

/* Ring buffer reservations that failed, per CPU; user space sums them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Kernels before 6.7 kept loginuid only with CONFIG_AUDIT; CO-RE checks. */
static __always_inline __u32 task_loginuid(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->loginuid))
		return 0xffffffffu;
	return BPF_CORE_READ(t, loginuid.val);
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1;
}

/* Fills <c> from task <t>, which must be a thread-group leader. */
static __always_inline void fill_ctx(struct px_proc_ctx *c,
				     struct task_struct *t)
{
	struct task_struct *parent = BPF_CORE_READ(t, real_parent);

	c->tgid = BPF_CORE_READ(t, tgid);
	c->start_time = BPF_CORE_READ(t, start_time);
	c->ppid = BPF_CORE_READ(parent, tgid);
	c->parent_start_time = BPF_CORE_READ(parent, group_leader, start_time);
	c->uid = BPF_CORE_READ(t, cred, uid.val);
	c->euid = BPF_CORE_READ(t, cred, euid.val);
	c->loginuid = task_loginuid(t);
	c->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	c->pid_ns = BPF_CORE_READ(t, nsproxy, pid_ns_for_children, ns.inum);
	c->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&c->comm, t, comm);
}

static __always_inline bool is_kthread(struct task_struct *t)
{
	return BPF_CORE_READ(t, flags) & PF_KTHREAD;
}

/*
 * sched_process_exec fires after the new image is set up: the task is the
 * thread-group leader (de_thread ran), its mm holds the new argv, and bprm
 * names the file as given to execve.  Stable since 3.4; tp_btf gives typed
 * arguments without parsing the tracepoint format.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(px_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct px_exec_event *ev;
	unsigned long start, end, len;
	long n;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return 0;
	}
	ev->hdr.type = PX_EV_EXEC;
	ev->hdr.flags = 0;
	ev->hdr.ts = bpf_ktime_get_ns();
	ev->hdr.exit_code = 0;
	fill_ctx(&ev->hdr.ctx, p);

	n = bpf_probe_read_kernel_str(ev->exe, sizeof(ev->exe),
				      BPF_CORE_READ(bprm, filename));
	if (n < 0)
		ev->exe[0] = '\0';
	else if (n == sizeof(ev->exe))
		ev->hdr.flags |= PX_F_EXE_TRUNCATED;

	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	if (len > PX_ARGS_LEN) {
		len = PX_ARGS_LEN;
		ev->hdr.flags |= PX_F_ARGS_TRUNCATED;
	}
	if (bpf_probe_read_user(ev->args, len, (void *)start) < 0)
		len = 0;	/* user space falls back to /proc/<pid>/cmdline */
	ev->hdr.args_len = len;

	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/*
 * sched_process_fork fires in the parent after the child is fully set up
 * (cgroup attached, start_time set).  Threads are skipped: only a new
 * thread group is a new process.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(px_fork, struct task_struct *parent, struct task_struct *child)
{
	struct px_proc_event *ev;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	if (is_kthread(child))
		return 0;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return 0;
	}
	ev->type = PX_EV_FORK;
	ev->flags = 0;
	ev->ts = bpf_ktime_get_ns();
	ev->exit_code = 0;
	ev->args_len = 0;
	fill_ctx(&ev->ctx, child);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/*
 * sched_process_exit fires in do_exit() for every exiting thread, after
 * signal->live was decremented and before namespaces and files are
 * released.  The process is gone when the last thread leaves (live == 0),
 * which need not be the leader; the event names the group by its leader.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(px_exit, struct task_struct *p)
{
	struct task_struct *leader;
	struct px_proc_event *ev;
	int code;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (is_kthread(p))
		return 0;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop();
		return 0;
	}
	leader = BPF_CORE_READ(p, group_leader);
	ev->type = PX_EV_EXIT;
	ev->flags = 0;
	ev->ts = bpf_ktime_get_ns();
	ev->args_len = 0;
	fill_ctx(&ev->ctx, leader);
	code = BPF_CORE_READ(p, exit_code);
	if (!code)
		code = BPF_CORE_READ(p, signal, group_exit_code);
	ev->exit_code = code;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/*
 * A pass over all tasks, leaders only, that user space runs at start and
 * after drops to learn the processes it has no exec event for.  The exact
 * task->start_time comes from here: /proc/<pid>/stat only has clock ticks
 * of another clock.  Iterators load wherever BTF does (5.8+).
 */
SEC("iter/task")
int px_iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct px_task_rec rec = {};

	if (!t)
		return 0;
	if (t->pid != t->tgid || (t->flags & PF_KTHREAD))
		return 0;
	fill_ctx(&rec.ctx, t);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
